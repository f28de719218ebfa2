"""Community referrals into outreach ([programs.outreach.community_referrals]; issue 13, item 6 "ways in").

Families and providers (GPs, ED staff, housing and social workers; schools count as providers because residents
have no age by default) refer people who do not seek care into the outreach pathway, without a police call. Each
at-risk resident is referred at a rate that follows their state now: ``rate_elevated`` during an elevated-distress
episode, else ``rate_stable``, times ``severity_ratio`` of their severity, times ``engaged_ratio`` while they are
engaged in care (0 by default: their own clinicians act instead).

The arrivals are a thinned Poisson process, never polled: candidates arrive city-wide at ``n x max_rate`` (gaps,
residents and acceptance uniforms drawn in blocks from the ``referrals`` stream), each picks a resident uniformly
and is kept with probability ``rate(resident now) / max_rate``, which gives each resident exactly a Poisson process
at their own, state-dependent rate. A kept referral enters the pathway as a patrol officer's referral does
(:meth:`OutreachProgram.community_referral`: consent, caseload cap, nurse, visits, step-down), with its latent row
(consent, psychiatrist, attendance and engagement uniforms) from a second substream of the same stream.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crisis_sim import rng
from crisis_sim.model.destinations import DAY_MIN
from crisis_sim.scenario.schema import SEVERITIES

if TYPE_CHECKING:
    from crisis_sim.model.agents import Resident
    from crisis_sim.scenario.program_sections.outreach import CommunityReferrals

YEAR_MIN = 365 * DAY_MIN
BLOCK = 256  # candidates drawn at a time
SOURCES = ("family", "provider")


class CommunityReferralProcess:
    """One SimPy process of candidate arrivals for the whole city (switch on only)."""

    def __init__(self, program: Any, cfg: CommunityReferrals):
        """``program`` is the OutreachProgram (typed loosely: this module is imported by programs/outreach.py)."""
        self.program = program
        self.cfg = cfg
        model = program.model
        self.env = model.env
        self.residents = model.residents
        self.max_rate = cfg.max_rate() / YEAR_MIN  # per resident-minute
        self.sev = tuple(cfg.severity_ratio[s] for s in SEVERITIES)
        self.family_share = cfg.sources.family
        self._cand = rng.stream(model.root_seed, model.replication, "referrals", 0)
        self._rows = rng.stream(model.root_seed, model.replication, "referrals", 1)
        self._row_buf: list[list[float]] = []
        self.made = 0  # referrals made (kept candidates), whole run
        self.made_counted = {s: 0 for s in SOURCES}  # the same after warm-up, by source

    def start(self) -> None:
        if self.residents and self.max_rate > 0:
            self.env.process(self._arrivals())

    def rate(self, r: Resident) -> float:
        """The resident's referral rate now (per resident-year)."""
        cfg = self.cfg
        base = cfg.rate_elevated if r.elevated else cfg.rate_stable
        if r.engaged:
            base *= cfg.engaged_ratio
        return base * self.sev[r.severity]

    def latent_row(self) -> list[float]:
        """The next referral's latent row (as wide as a crisis's), served from blocks."""
        if not self._row_buf:
            self._row_buf = self._rows.random((64, rng.N_LATENTS)).tolist()[::-1]
        return self._row_buf.pop()

    def _arrivals(self):
        env = self.env
        n = len(self.residents)
        total = n * self.max_rate  # candidates per minute, city-wide
        bound = self.max_rate * YEAR_MIN
        while True:
            gaps = self._cand.standard_exponential(BLOCK).tolist()
            u = self._cand.random((BLOCK, 3)).tolist()
            for gap, (u_res, u_keep, u_source) in zip(gaps, u, strict=True):
                yield env.timeout(gap / total)
                r = self.residents[min(int(u_res * n), n - 1)]
                if u_keep * bound >= self.rate(r):
                    continue
                source = SOURCES[0] if u_source < self.family_share else SOURCES[1]
                self.made += 1
                if env.now >= self.program.warm:
                    self.made_counted[source] += 1
                self.program.community_referral(r, source, self)
