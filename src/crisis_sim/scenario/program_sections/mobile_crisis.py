"""Scenario section of the mobile crisis team (clinician + peer or EMT, no police).

Reach is capped by eligibility, hours, covered districts and team capacity (STAR served 44-46% of eligible calls;
B-HEARD teams were off 01:00-09:00 when 27.7% of eligible calls came), so each of these is a parameter here.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from crisis_sim.scenario.params import Strict, param
from crisis_sim.scenario.program_sections import check_districts_exist
from crisis_sim.scenario.types import (
    Duration,
    Hour,
    LogNormalDuration,
    NonNegative,
    Positive,
    Share,
    minute_mask,
)

TeamOdds = dict[Literal["resolved", "report", "referral", "voluntary_transport", "involuntary"], NonNegative]


class BackupByRisk(Strict):
    """Probability that a team call needs police backup, by the call's true risk level."""

    low: Share
    medium: Share
    high: Share


class MobileCrisisConfig(Strict):
    """[programs.mobile_crisis]: teams, hours, coverage, eligibility, on-scene behaviour and cost."""

    key: ClassVar[str] = "mobile_crisis"  # the scenario's [programs.mobile_crisis] section

    enabled: bool = True
    teams: int = param(
        2,
        source="assumption: teams on duty at once during operating hours (STAR began with one van, B-HEARD runs "
        "several per precinct group)",
        unit="teams",
        range=(1, 12),
        ge=1,
        le=200,
    )
    clinician_role: Literal["social_worker", "nurse"] = param(
        "social_worker",
        source="clinician plus peer or EMT ([star_pilot] MH clinician + paramedic; [nyccomptroller2025] B-HEARD: "
        "mental health professional + EMTs)",
    )
    partner_role: Literal["emt", "peer"] = param(
        "emt", source="[star_pilot] [nyccomptroller2025] teams pair a clinician with a paramedic or EMT"
    )
    start_hour: Hour = param(
        9.0,
        source="[nyccomptroller2025] B-HEARD teams work 09:00-01:00",
        unit="hour of day",
        range=(0.0, 24.0),
    )
    end_hour: Hour = param(
        1.0,
        source="[nyccomptroller2025] B-HEARD teams work 09:00-01:00 (end < start wraps past "
        "midnight; end = start means 24 h)",
        unit="hour of day",
        range=(0.0, 24.0),
    )
    districts: list[str] | None = param(
        None, source="scenario choice (an assumption, not evidence): unset = every district; pilots often start in a few "
        "([nyccomptroller2025]: B-HEARD in 31 precincts)"
    )
    max_assessed_risk: Literal["low", "medium"] = param(
        "low",
        source="[nyccomptroller2025] [star_pilot] eligibility: identified MH, low risk, no weapon (B-HEARD, STAR rules)",
    )
    police_bias: Share = param(
        0.10,
        source="assumption: [nyu_scn] reports dispatchers default to police when unsure; share of eligible calls "
        "sent to police anyway",
        unit="probability",
        range=(0.0, 0.4),
    )
    wait_tolerance_min: NonNegative = param(
        0.0,
        source="assumption: minutes dispatch holds an eligible call for a busy team before sending police",
        unit="min",
        range=(0.0, 30.0),
    )
    travel_factor: Positive = param(
        1.2,
        source="assumption: teams cover wider areas than a district patrol car, so travel is longer",
        unit="multiplier of district travel time",
        range=(1.0, 2.0),
    )
    on_scene: Duration = param(
        LogNormalDuration(median_min=55.0, p90_min=130.0),
        source="assumption: clinician teams stay longer than police (police median ~43 min [bodycam_onscene], weak)",
        unit="min",
        range=(30.0, 120.0),
    )
    disposition_odds: TeamOdds = param(
        {"resolved": 1.5, "report": 0.2, "referral": 3.0, "voluntary_transport": 1.2, "involuntary": 0.4},
        source="assumption guided by STAR/CAHOOTS reports: more referrals and on-scene resolution, few holds, "
        "no police reports; odds ratios against patrol (arrest is impossible without police)",
        unit="odds ratio",
        range=(0.1, 4.0),
    )
    backup_probability: Share = param(
        0.006,
        source="[cahoots_press] police backup on ~0.6% of calls (weak); [star_pilot] 748 calls, none",
        unit="probability per call",
        range=(0.0, 0.02),
    )
    risk_based_safety: bool = Field(
        False,
        description="switch: off keeps backup_probability per call; on makes backup and clinician injury depend on "
        "the call's true risk and weapon (and lets callers fail to report weapons)",
    )
    backup_by_true_risk: BackupByRisk = param(
        BackupByRisk(low=0.004, medium=0.02, high=0.08),
        source="calibrated: with the shipped eligibility (assessed low, no weapon reported) about 0.6% of team "
        "calls need backup, as [cahoots_press] (weak) and [star_pilot] (0 of 748); the rise with risk is an "
        "assumption",
        unit="probability per call by true risk",
        range=(0.0, 0.2),
    )
    backup_weapon_or: Positive = param(
        4.0,
        source="assumption: an unreported weapon on scene raises the odds of calling police",
        unit="odds ratio",
        range=(2.0, 10.0),
    )
    weapon_reported_share: Share = param(
        0.8,
        source="assumption: share of weapons the caller reports (an unreported weapon leaves the call eligible)",
        unit="probability",
        range=(0.6, 0.95),
    )
    clinician_injury_given_backup: Share = param(
        0.05,
        source="assumption: a team member is injured in an escalation that needed police; CAHOOTS and STAR report "
        "no serious staff injuries ([cahoots_press], [star_pilot], weak)",
        unit="probability per backup",
        range=(0.0, 0.2),
    )
    follow_up_share: Share = param(
        0.0,
        source="assumption: share of the team's calls it follows up within 72 hours (0 = no follow-up, the "
        "default; B-HEARD and CAHOOTS-style programs report follow-up as part of the service, size unknown)",
        unit="share of team calls",
        range=(0.0, 0.6),
    )
    follow_up_time: Duration = param(
        LogNormalDuration(median_min=45.0, p90_min=90.0),
        source="assumption: the team's time on one follow-up contact (visit or call, travel included)",
        unit="min",
        range=(20.0, 120.0),
    )
    follow_up_link_share: Share = param(
        0.5,
        source="assumption: follow-ups that link the person to community services (a priority referral)",
        unit="share of follow-ups",
        range=(0.3, 0.7),
    )
    without_partner: Literal["stand_down", "clinician_alone"] = param(
        "stand_down",
        source="[nyccomptroller2025] [star_pilot] teams go out in pairs, so a team whose partner post is vacant "
        "or absent stands down; clinician_alone (the clinician goes by themself) is a scenario choice",
    )
    peer_engagement_or: Positive = param(
        1.25,
        source="assumption, weak evidence: odds ratio on attending the services intake after a referral made "
        "by a team whose partner is a peer (partner_role = \"peer\", in post), and on the 72-hour follow-up "
        "linking the person (no effect with an EMT partner); the default is the middle of the range: peer-support "
        "reviews find weak, mixed evidence on engagement ([chinman2014], [lloydevans2014]); set 1.0 for none",
        unit="odds ratio",
        range=(1.0, 1.5),
    )
    secondary_response: bool = Field(
        False,
        description="switch: off = no secondary response; on = patrol officers at an MH call the team could "
        "take (its districts and hours, true risk within max_assessed_risk, no weapon) may request the team "
        "from the scene and hand over when it arrives (docs/programs/mobile_crisis.md)",
    )
    secondary_request_share: Share = param(
        0.3,
        source="assumption: share of eligible patrol-attended MH encounters in which the officers ask for the "
        "team from the scene (B-HEARD and STAR accept requests from officers on scene, frequency unreported)",
        unit="probability per eligible encounter",
        range=(0.1, 0.6),
    )
    secondary_secure_min: NonNegative = param(
        10.0,
        source="assumption: minutes the officers spend making the scene safe and deciding before they ask for "
        "the team (an encounter shorter than this ends before any request)",
        unit="min",
        range=(5.0, 20.0),
    )
    partner_hour_cost: NonNegative | None = param(
        None,
        source="assumption: unset = the partner is paid within team_hour_cost; set = team_hour_cost pays the "
        "clinician and vehicle, and the partner is paid this loaded USD per hour on duty in post (so a peer and "
        "an EMT can cost differently, and a clinician going alone costs less)",
        unit="USD/h",
        range=(25.0, 70.0),
    )
    team_hour_cost: NonNegative = param(
        150.0,
        source="assumption: two clinical staff plus vehicle, loaded USD per on-duty team hour (STAR budget "
        "$3.9M in 2022 [nlc_star])",
        unit="USD/h",
        range=(90.0, 250.0),
    )

    @model_validator(mode="after")
    def _districts_listed_once(self) -> MobileCrisisConfig:
        if self.districts is not None:
            if not self.districts:
                raise ValueError("districts to list at least one district (or be left out for all), found []")
            dupes = sorted({d for d in self.districts if self.districts.count(d) > 1})
            if dupes:
                raise ValueError(f"district names listed once, found duplicates {dupes}")
        return self

    def backup_risk(self, true_risk: int, weapon: bool) -> float:
        """Probability that a team call needs police backup (``risk_based_safety``): by true risk, weapon odds."""
        b = self.backup_by_true_risk
        p = (b.low, b.medium, b.high)[true_risk]
        if weapon:
            k = self.backup_weapon_or  # odds ratio: p k / (1 - p + p k), exact at k = 1
            p = min(1.0, p * k / (1.0 - p + p * k))
        return p

    def roles(self) -> set[str]:
        """Clinician roles the program employs (timeline events check their role against these)."""
        return {self.clinician_role, self.partner_role}

    def check_scenario(self, scenario: Any) -> None:
        """Covered districts must exist in the city."""
        check_districts_exist("mobile_crisis", self.districts, scenario)

    def hours_mask(self) -> tuple[int, int]:
        """(start, end) minute of day; end <= start wraps past midnight."""
        return minute_mask(self.start_hour, self.end_hour)
