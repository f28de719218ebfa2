"""Who is affected: residents' group attributes and the assumed differences between groups ([population.groups]).

Attributes are drawn once at the start from the ``groups`` stream, one substream per attribute name (crc32 of the
name), so nothing else in the run moves and adding an attribute leaves the others' draws unchanged; attributes the
model already has (housing, severity, substance use) are read, not drawn. A resident's effects are the product of
the odds ratios of their categories (risk overrating: one minus the product of the chances of not overrating).

The effects act through the call's existing latent uniforms, so common random numbers hold: an odds ratio ``k`` on
"u < p" is applied by replacing ``u`` with ``u / (k - (k - 1) u)``, which is below ``p`` exactly when ``u`` is below
the probability with ``k`` times the odds (for every ``p``, so whatever sets ``p`` later: the responder, the case
mix by time). Risk overrating reads the assessment uniform's position within the band of correct assessments (a
conditional quantile), so calls the call-taker misjudges anyway keep their misjudgement.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

import numpy as np

from crisis_sim import rng as rngmod
from crisis_sim.model import calls as C

U_POLICE_BIAS = rngmod.latent("mobile_crisis", "bias")

if TYPE_CHECKING:
    from crisis_sim.model.agents import Dispatcher, Resident
    from crisis_sim.scenario.groups import PopulationGroups


def odds_uniform(u: float, k: float) -> float:
    """The uniform that is below ``p`` exactly when ``u`` is below the probability with ``k`` x the odds of ``p``."""
    return u / (k - (k - 1.0) * u)


def _resident_codes(attr: str, residents: list[Resident]) -> np.ndarray:
    if attr == "housing":
        return np.fromiter((r.unhoused for r in residents), np.int64, len(residents))
    if attr == "severity":
        return np.fromiter((r.severity for r in residents), np.int64, len(residents))
    return np.fromiter((r.substance_use for r in residents), np.int64, len(residents))


class Groups:
    """Category codes per attribute (one int per resident) and each resident's combined effects."""

    __slots__ = ("categories", "codes", "ident_or", "force_or", "police_or", "overrate", "any_effect")

    def __init__(self, cfg: PopulationGroups, residents: list[Resident], root_seed: int, replication: int):
        n = len(residents)
        self.categories: dict[str, tuple[str, ...]] = {}
        self.codes: dict[str, np.ndarray] = {}
        ident = np.ones(n)
        force = np.ones(n)
        police = np.ones(n)
        keep = np.ones(n)  # chance of not overrating
        for name, attr in cfg.attributes.items():
            cats = attr.category_names()
            if attr.categories is not None:
                g = rngmod.stream(root_seed, replication, "groups", zlib.crc32(name.encode()))
                cum = np.cumsum(list(attr.categories.values()))
                code = np.minimum(np.searchsorted(cum, g.random(n), side="right"), len(cats) - 1)
            else:
                code = _resident_codes(attr.from_resident or "", residents)
            self.categories[name] = cats
            self.codes[name] = code.astype(np.int64)
            for cat, eff in attr.effects.items():
                hit = code == cats.index(cat)
                ident[hit] *= eff.identification_or
                force[hit] *= eff.force_or
                police[hit] *= eff.police_dispatch_or
                keep[hit] *= 1.0 - eff.risk_overrating
        self.ident_or = ident.tolist()
        self.force_or = force.tolist()
        self.police_or = police.tolist()
        self.overrate = (1.0 - keep).tolist()
        self.any_effect = bool(
            (ident != 1.0).any() or (force != 1.0).any() or (police != 1.0).any() or (keep != 1.0).any()
        )

    def shift_latents(self, lat: list[float], idx: int) -> None:
        """Before a new call's draws: apply the resident's odds ratios to the identification, force and police
        dispatch (mobile crisis dispatcher bias) uniforms."""
        k = self.ident_or[idx]
        if k != 1.0:
            lat[C.U_IDENTIFY] = odds_uniform(lat[C.U_IDENTIFY], k)
        k = self.force_or[idx]
        if k != 1.0:
            lat[C.U_FORCE] = odds_uniform(lat[C.U_FORCE], k)
        k = self.police_or[idx]
        if k != 1.0:  # the mobile crisis team's dispatcher-bias column: "u < bias" sends police instead
            lat[U_POLICE_BIAS] = odds_uniform(lat[U_POLICE_BIAS], k)

    def overrate_risk(self, call: C.Call, idx: int, dispatcher: Dispatcher) -> None:
        """After the call-taker's assessment: a share of correctly rated calls is rated one level riskier."""
        p = self.overrate[idx]
        if p > 0.0 and call.assessed_risk < 2:
            u = call.latents[C.U_RISK_ASSESS]
            acc = dispatcher.risk_accuracy
            if u < p * acc:  # (u < acc: the call-taker rated it correctly)
                call.assessed_risk += 1

    def table(self) -> dict[str, np.ndarray]:
        """Attribute -> category code per resident (for the ledger and by_group)."""
        return self.codes


def build_groups(
    cfg: PopulationGroups, residents: list[Resident], root_seed: int, replication: int
) -> Groups | None:
    """The run's groups, or None when ``[population.groups]`` is off (nothing drawn, nothing changes)."""
    return Groups(cfg, residents, root_seed, replication) if cfg.enabled else None
