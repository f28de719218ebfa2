"""Scenario section ``[population.trust_dynamics]``: trust that moves and matters (issue 13, item 5).

Off by default (then trust in police only falls after coercion, as it always did, and changes nothing but outreach
consent and attendance, which read trust in services). With the switch on, trust rises slowly after helpful
contacts and the trust a person has lost since the start of the run changes whether a later crisis reaches 911,
the crisis line or nobody, and the risk that an encounter escalates to force. See docs/trust.md.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from crisis_sim.scenario.params import Strict, param
from crisis_sim.scenario.types import Share

Responder = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
Gain = Annotated[float, Field(ge=0.0, le=1.0)]


class TrustDynamics(Strict):
    """[population.trust_dynamics]: trust rises after helpful contacts, and lost trust changes help-seeking and force."""

    enabled: bool = Field(False, description="switch: off keeps trust static except the loss after coercion")
    police_gain: Gain = param(
        0.04,
        source="assumption: share of the gap to full trust in police regained after a helpful police contact "
        "(resolved on scene or referred, no force); slow, so one coercive contact outweighs several helpful ones "
        "(no quantitative evidence; [echinops_study] frames the team's work as procedural justice: voice, "
        "neutrality, respect and trust)",
        unit="share of the gap to 1",
        range=(0.0, 0.1),
    )
    services_gain: Gain = param(
        0.05,
        source="assumption: share of the gap to full trust in services regained after a referral, a connection to "
        "care at intake or a visit by a team with a clinician",
        unit="share of the gap to 1",
        range=(0.0, 0.15),
    )
    police_responders: list[Responder] = Field(
        ["patrol", "cit", "co_response"],
        max_length=50,
        description="scenario choice: responder types (ledger `responder`) whose helpful contacts raise trust in "
        "police",
    )
    services_responders: list[Responder] = Field(
        ["co_response", "mobile_crisis", "crisis_line"],
        max_length=50,
        description="scenario choice: responder types whose non-coercive contacts raise trust in services",
    )
    uncalled_per_lost_trust: Annotated[float, Field(ge=0.0, le=5.0)] = param(
        0.5,
        source="assumption: probability that a crisis goes uncalled (nobody calls 911) per unit of trust in police "
        "lost since the start of the run (one coercive contact, 0.15 lost, gives 7.5%)",
        unit="probability per unit of trust",
        range=(0.0, 1.5),
    )
    uncalled_max: Share = param(
        0.5,
        source="assumption: cap on the probability that a crisis goes uncalled",
        unit="probability",
        range=(0.1, 0.8),
    )
    line_per_lost_police_trust: Annotated[float, Field(ge=0.0, le=5.0)] = param(
        0.5,
        source="assumption: with [channels.crisis_line] on, rise in the share of crises that reach the line per "
        "unit of trust in police lost since the start",
        unit="share per unit of trust",
        range=(0.0, 1.5),
    )
    line_per_gained_services_trust: Annotated[float, Field(ge=0.0, le=5.0)] = param(
        0.3,
        source="assumption: with [channels.crisis_line] on, rise in the share of crises that reach the line per "
        "unit of trust in services gained since the start",
        unit="share per unit of trust",
        range=(0.0, 1.0),
    )
    force_or_per_lost_trust: Annotated[float, Field(ge=1.0, le=100.0)] = param(
        3.0,
        source="assumption: odds ratio of force per unit of trust in police lost since the start (one coercive "
        "contact, 0.15 lost, gives 3^0.15 = 1.18)",
        unit="odds ratio per unit of trust",
        range=(1.0, 6.0),
    )
