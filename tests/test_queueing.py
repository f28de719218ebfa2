"""The engine's dispatch path agrees with Erlang C when configured as M/M/c."""

from __future__ import annotations

import math

import pytest

from crisis_sim.analysis.queueing import batch_means, check_queue, erlang_c


def test_erlang_c_known_values():
    # M/M/1: P(wait) = rho, Wq = rho / (mu - lambda)
    p, w = erlang_c(0.5, 1.0, 1)
    assert p == pytest.approx(0.5) and w == pytest.approx(1.0)
    # A textbook M/M/2 value: lambda=1, mu=1 -> a=1, C(2,1) = 1/3, Wq = 1/3
    p, w = erlang_c(1.0, 1.0, 2)
    assert p == pytest.approx(1 / 3) and w == pytest.approx(1 / 3)
    assert erlang_c(2.0, 1.0, 2)[1] == math.inf


@pytest.mark.parametrize(
    ("lam", "mu", "c"),
    [(3.0, 1.0, 4), (8.0, 1.0, 10), (1.5, 2.0, 1)],
)
def test_simulated_waits_match_erlang_c(lam, mu, c):
    r = check_queue(lam, mu, c, customers=30_000, seed=1)
    lo, hi = r["sim_mean_wait_ci"]
    # Within the 95% CI, or within 10% (batch-means CIs are themselves noisy).
    assert lo <= r["erlang_mean_wait"] <= hi or abs(r["sim_mean_wait"] / r["erlang_mean_wait"] - 1) < 0.10, r
    plo, phi = r["sim_p_wait_ci"]
    assert plo <= r["erlang_p_wait"] <= phi or abs(r["sim_p_wait"] - r["erlang_p_wait"]) < 0.02, r
    assert r["customers"] == 30_000


@pytest.mark.slow
def test_heavy_traffic_agreement_over_independent_seeds():
    """At 90% load waits are strongly autocorrelated; pooling four independent runs tightens the estimate."""
    runs = [check_queue(9.0, 1.0, 10, customers=100_000, seed=s) for s in range(4)]
    mean_wait = sum(r["sim_mean_wait"] for r in runs) / 4
    p_wait = sum(r["sim_p_wait"] for r in runs) / 4
    assert abs(mean_wait / runs[0]["erlang_mean_wait"] - 1) < 0.08, [r["sim_mean_wait"] for r in runs]
    assert abs(p_wait - runs[0]["erlang_p_wait"]) < 0.015


def test_unstable_queue_refused():
    with pytest.raises(ValueError, match="stable queue"):
        check_queue(5.0, 1.0, 4, customers=1000)


def test_batch_means_covers_iid_mean():
    import numpy as np

    x = np.random.default_rng(0).exponential(2.0, 20_000)
    mean, (lo, hi) = batch_means(x)
    assert lo < 2.0 < hi and mean == pytest.approx(x.mean())
