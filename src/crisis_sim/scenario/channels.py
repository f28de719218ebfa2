"""[channels]: ways a crisis reaches the system besides 911 (issue 13, item 6).

``[channels.crisis_line]`` is a 988/crisis line with its own counsellor seats: a share of crises (more for people
engaged in care) reach the line instead of 911; a counsellor resolves by phone, sends the mobile crisis team (when
the scenario has one and the call is eligible) or transfers to 911. See docs/channels.md.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from crisis_sim.scenario.params import Strict, param
from crisis_sim.scenario.types import (
    Duration,
    Hour,
    LogNormalDuration,
    NonNegative,
    Positive,
    Share,
    minute_mask,
)


class TransferByRisk(Strict):
    """Probability that the counsellor transfers the contact to 911, by the risk the counsellor assesses."""

    low: Share = param(
        0.02,
        source="[az911_988] fewer than 2% of Lifeline contacts need 911 (all Lifeline contacts, not only those "
        "that would otherwise have been police calls: a floor)",
        unit="probability",
        range=(0.01, 0.1),
    )
    medium: Share = param(
        0.1, source="assumption: imminent risk more often at medium assessed risk", unit="probability",
        range=(0.03, 0.3),
    )  # fmt: skip
    high: Share = param(
        0.5, source="assumption: most high-risk contacts need emergency services", unit="probability",
        range=(0.2, 0.9),
    )  # fmt: skip


class CrisisLine(Strict):
    """[channels.crisis_line]: the 988/crisis line (off by default: every crisis reaches the system by 911)."""

    enabled: bool = Field(False, description="switch: off keeps 911 as the only way in")
    share: Share = param(
        0.1,
        source="assumption: crises of people not engaged in care that reach the line instead of 911 (awareness of "
        "988 was low in its first years)",
        unit="share of crises",
        range=(0.02, 0.3),
    )
    share_connected: Share = param(
        0.25,
        source="assumption: the same for people engaged in care (their clinicians give them the number)",
        unit="share of crises",
        range=(0.1, 0.5),
    )
    counsellors: int = param(
        1,
        source="assumption: counsellor seats kept for the city's crises (a real line's seats also answer contacts "
        "the model does not simulate)",
        unit="seats",
        range=(1, 10),
        ge=1,
        le=500,
    )
    start_hour: Hour = param(
        0.0,
        source="assumption: the local centre's hours (0 to 0 = around the clock, as 988 runs); outside them a "
        "crisis goes to 911",
        unit="hour of day",
        range=(0.0, 24.0),
    )
    end_hour: Hour = param(
        0.0, source="assumption: see start_hour (end < start wraps past midnight; end = start means 24 h)",
        unit="hour of day", range=(0.0, 24.0),
    )  # fmt: skip
    max_wait_min: Positive = param(
        3.0,
        source="assumption: a caller not answered within this wait hangs up and dials 911",
        unit="min",
        range=(0.5, 10.0),
    )
    handle_time: Duration = param(
        LogNormalDuration(median_min=20.0, p90_min=45.0),
        source="assumption: counsellor minutes per answered contact",
        unit="min",
        range=(10.0, 60.0),
    )
    transfer_by_risk: TransferByRisk = TransferByRisk()
    transfer_if_weapon: bool = Field(
        True, description="scenario choice: a weapon heard on the line is an imminent-risk transfer to 911"
    )
    mobile_share: Share = param(
        0.15,
        source="assumption: contacts not transferred for which the counsellor wants a team in person",
        unit="share",
        range=(0.05, 0.4),
    )
    unmet_to_911_share: Share = param(
        0.5,
        source="assumption: when no mobile team can go (none in the scenario, not eligible, off hours, none free), "
        "the share the counsellor transfers to 911; the rest are resolved by phone",
        unit="share",
        range=(0.0, 1.0),
    )
    phone_referral_share: Share = param(
        0.3,
        source="assumption: contacts resolved by phone that the counsellor refers to community services",
        unit="share",
        range=(0.1, 0.6),
    )
    counsellor_hour: NonNegative = param(
        35.0, source="assumption: cost of a staffed counsellor seat, USD per hour", unit="USD/h", range=(25.0, 60.0)
    )

    def hours_mask(self) -> tuple[int, int]:
        """(start, end) minute of day; end <= start wraps past midnight, start == end: around the clock."""
        return minute_mask(self.start_hour, self.end_hour)


ConsultOdds = dict[Literal["resolved", "report", "referral", "voluntary_transport", "involuntary", "arrest"], NonNegative]


class SceneConsult(Strict):
    """[channels.scene_consult]: from the scene, a patrol officer phones a clinician (off by default)."""

    enabled: bool = Field(False, description="switch: off keeps officers deciding alone")
    share: Share = param(
        0.3,
        source="assumption: patrol MH encounters in which the officers phone the clinician line",
        unit="share of patrol MH encounters",
        range=(0.1, 0.7),
    )
    clinicians: int = param(
        1,
        source="assumption: clinician seats taking officers' calls at once (none free: the officers decide alone)",
        unit="seats",
        range=(1, 5),
        ge=1,
        le=200,
    )
    consult_time: Duration = param(
        LogNormalDuration(median_min=10.0, p90_min=25.0),
        source="assumption: minutes on the phone, added to the officers' time on scene",
        unit="min",
        range=(5.0, 40.0),
    )
    disposition_odds: ConsultOdds = param(
        {"involuntary": 0.8, "arrest": 0.8, "referral": 1.5},
        source="assumption: a clinician's advice shifts the officers' disposition odds (no outcome evaluation of "
        "phone consultation found: an input, not a finding)",
        unit="odds ratio vs patrol alone",
        range=(0.5, 2.5),
    )
    clinician_hour: NonNegative = param(
        60.0, source="assumption: cost of a staffed clinician seat, USD per hour", unit="USD/h", range=(40.0, 90.0)
    )


INITIATORS = ("self", "family", "bystander", "provider", "officer_on_view")
LINE_INITIATORS = ("self", "family", "provider")
InitiatorShares911 = dict[Literal["self", "family", "bystander", "provider", "officer_on_view"], Share]
InitiatorSharesLine = dict[Literal["self", "family", "provider"], Share]


def _check_shares(name: str, shares: dict[str, float], keys: tuple[str, ...]) -> None:
    missing = [k for k in keys if k not in shares]
    if missing:
        raise ValueError(f"{name} to give {', '.join(keys)}, missing {missing}")
    total = sum(shares.values())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"{name} shares to sum to 1, found {total:.6g}")


class RecordInitiator(Strict):
    """[channels.record_initiator]: the ledger records each MH call's way in (``channel``) and who initiated it
    (``initiator``). Descriptive only: the initiator changes nothing in the run (off by default)."""

    enabled: bool = Field(False, description="switch: on adds the ledger columns channel and initiator")
    by_911: InitiatorShares911 = param(
        {"self": 0.3, "family": 0.35, "bystander": 0.2, "provider": 0.1, "officer_on_view": 0.05},
        source="assumption: who starts an MH police call (the person, a relative, a bystander, a provider, an "
        "officer on view); no published breakdown of callers for MH 911 calls found",
        unit="shares (sum 1)",
        range=(0.02, 0.6),
    )
    by_line: InitiatorSharesLine = param(
        {"self": 0.75, "family": 0.2, "provider": 0.05},
        source="assumption: who contacts the crisis line about the crisis (most line contacts are the person "
        "themself; no local count found)",
        unit="shares (sum 1)",
        range=(0.02, 0.9),
    )

    @model_validator(mode="after")
    def _shares(self) -> RecordInitiator:
        _check_shares("by_911", self.by_911, INITIATORS)
        _check_shares("by_line", self.by_line, LINE_INITIATORS)
        return self


class Channels(Strict):
    """[channels]: ways in besides 911, and help by phone from the scene."""

    crisis_line: CrisisLine = CrisisLine()
    scene_consult: SceneConsult = SceneConsult()
    record_initiator: RecordInitiator = RecordInitiator()
