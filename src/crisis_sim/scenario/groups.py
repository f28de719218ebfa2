"""Scenario section ``[population.groups]``: who the residents are (age band, gender, race/ethnicity, housing,
diagnosis group, or any attribute a city names) and any assumed difference in how dispatch and police treat a group.

Off by default. Each attribute is either drawn with the shares given (``categories``) from its own substream of the
``groups`` random stream, or read from a resident state the model already has (``from_resident``: housing, severity,
substance use). Differences between groups are explicit assumptions, none by default: an odds ratio on dispatch
identifying the call as MH, a probability that the call-taker rates the risk one level higher than it is, an odds
ratio on dispatch sending police to a call a mobile crisis team could take, and an odds ratio on use of force. They act through each call's existing latent uniforms (docs/mechanisms.md).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from crisis_sim.scenario.params import Strict, param

Positive = Annotated[float, Field(gt=0.0)]
Share = Annotated[float, Field(ge=0.0, le=1.0)]
Name = Annotated[str, Field(min_length=1, max_length=60)]

# Categories of the attributes read from a resident's existing state (``from_resident``).
RESIDENT_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "housing": ("housed", "unhoused"),
    "severity": ("mild", "moderate", "severe"),
    "substance_use": ("no", "yes"),
}


class GroupEffect(Strict):
    """Assumed differences for one category against the others (1, 1, 0: none)."""

    identification_or: Annotated[float, Field(gt=0.0, le=20.0)] = param(
        1.0,
        source="assumption: no difference in dispatch identifying the call as MH (explore 0.5-2)",
        unit="odds ratio",
        range=(0.5, 2.0),
    )
    risk_overrating: Annotated[float, Field(ge=0.0, lt=1.0)] = param(
        0.0,
        source="assumption: no difference; share of otherwise correctly rated calls the call-taker rates one level "
        "riskier (explore 0-0.3)",
        unit="probability",
        range=(0.0, 0.3),
    )
    police_dispatch_or: Annotated[float, Field(gt=0.0, le=20.0)] = param(
        1.0,
        source="assumption: no difference in the odds that dispatch sends police to a call a mobile crisis team "
        "could take (the team's dispatcher bias; explore 0.5-3)",
        unit="odds ratio",
        range=(0.5, 3.0),
    )
    force_or: Annotated[float, Field(gt=0.0, le=20.0)] = param(
        1.0,
        source="assumption: no difference in the odds of use of force, any responder (explore 0.5-3)",
        unit="odds ratio",
        range=(0.5, 3.0),
    )


class GroupAttribute(Strict):
    """One attribute: drawn categories with shares, or a resident state the model already has."""

    categories: dict[Name, Share] | None = Field(
        None, description="category -> share of at-risk residents (shares sum to 1); drawn from the groups stream"
    )
    from_resident: Literal["housing", "severity", "substance_use"] | None = Field(
        None, description="read the categories from the resident's existing state instead of drawing them"
    )
    effects: dict[Name, GroupEffect] = Field(
        default_factory=dict, description="category -> assumed differences (absent: none)"
    )

    @model_validator(mode="after")
    def _one_source(self) -> GroupAttribute:
        if (self.categories is None) == (self.from_resident is None):
            raise ValueError("exactly one of categories (shares to draw) or from_resident, found "
                             + ("both" if self.categories is not None else "neither"))  # fmt: skip
        if self.categories is not None:
            if len(self.categories) < 2:
                raise ValueError(f"categories to name at least two categories, found {len(self.categories)}")
            total = sum(self.categories.values())
            if abs(total - 1.0) > 1e-6:
                raise ValueError(f"category shares to sum to 1, found {total:.6g}")
        unknown = sorted(set(self.effects) - set(self.category_names()))
        if unknown:
            raise ValueError(f"effects to name categories of the attribute {list(self.category_names())}, "
                             f"found {unknown}")  # fmt: skip
        return self

    def category_names(self) -> tuple[str, ...]:
        if self.categories is not None:
            return tuple(self.categories)
        return RESIDENT_ATTRIBUTES[self.from_resident or ""]


class PopulationGroups(Strict):
    """[population.groups]: residents' attributes, the ledger's ``group_<attribute>`` columns and the summary's
    ``by_group.<attribute>.<category>.<metric>``."""

    enabled: bool = Field(False, description="switch: off gives residents no attributes (ledgers unchanged)")
    attributes: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")], GroupAttribute] = Field(
        default_factory=dict,
        description="attribute name (lower-case identifier) -> its categories; each drawn attribute has its own "
        "substream keyed by its name (adding or removing one leaves the others' draws unchanged)",
        max_length=12,
    )

    @model_validator(mode="after")
    def _attributes_when_on(self) -> PopulationGroups:
        if self.enabled and not self.attributes:
            raise ValueError("attributes to define at least one attribute when enabled, found none")
        return self
