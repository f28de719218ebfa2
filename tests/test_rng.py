"""Named streams: keyed by (replication, stream) under the root seed; chunked draws equal batched ones."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from crisis_sim import rng


def test_streams_are_reproducible_and_distinct():
    a = rng.stream(7, 0, "other_calls").random(5)
    assert np.array_equal(a, rng.stream(7, 0, "other_calls").random(5))
    assert not np.array_equal(a, rng.stream(7, 1, "other_calls").random(5))
    assert not np.array_equal(a, rng.stream(7, 0, "population").random(5))
    assert not np.array_equal(a, rng.stream(8, 0, "other_calls").random(5))


def test_stream_ids_are_unique():
    assert len(set(rng.STREAMS.values())) == len(rng.STREAMS)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 50), st.integers(1, 300))
def test_chunked_draws_match_one_batch(chunk, n):
    u = rng.ChunkedUniform(rng.stream(1, 0, "events"), chunk=chunk)
    e = rng.ChunkedExponential(rng.stream(1, 0, "staff"), chunk=chunk)
    got_u = [u() for _ in range(n)]
    got_e = [e() for _ in range(n)]
    # Same generator, same total draws in blocks: equal to drawing block by block.
    g = rng.stream(1, 0, "events")
    want_u = np.concatenate([g.random(chunk) for _ in range(n // chunk + 1)])[:n]
    g = rng.stream(1, 0, "staff")
    want_e = np.concatenate([g.standard_exponential(chunk) for _ in range(n // chunk + 1)])[:n]
    assert np.array_equal(got_u, want_u) and np.array_equal(got_e, want_e)
