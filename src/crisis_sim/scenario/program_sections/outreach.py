"""Scenario section of the outreach / case-management program (ÉCHINOPS, [echinops_study] in docs/references.md).

The study is qualitative: it describes the pathway (Figure 1, Table 1) but gives almost no numbers, so most
defaults are assumptions with ranges for sensitivity analysis; the section cites the passage each one follows.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, model_validator

from crisis_sim.scenario.params import Strict, param
from crisis_sim.scenario.program_sections import check_districts_exist
from crisis_sim.scenario.types import Duration, LogNormalDuration

Share = Annotated[float, Field(ge=0.0, le=1.0)]
Positive = Annotated[float, Field(gt=0.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
S000 = "[echinops_study]"


class OutreachCosts(Strict):
    nurse_salary_per_year: NonNegative = param(
        110_000.0,
        source="assumption: loaded annual cost of a community mental-health nurse, USD",
        unit="USD/FTE-year",
        range=(80_000.0, 150_000.0),
    )
    psychiatrist_hour: NonNegative = param(
        180.0,
        source="assumption: sessional psychiatrist rate, USD",
        unit="USD/h",
        range=(120.0, 300.0),
    )
    peer_salary_per_year: NonNegative = param(
        55_000.0,
        source="assumption: loaded annual cost of a certified peer specialist, USD",
        unit="USD/FTE-year",
        range=(40_000.0, 75_000.0),
    )
    crpo_hour: NonNegative = param(
        70.0,
        source="assumption: loaded police officer hour, as costs.officer_hour, USD",
        unit="USD/h",
        range=(45.0, 120.0),
    )


class FrequentContactList(Strict):
    """[programs.outreach.frequent_contact]: the list that selects clients when ``selection = "frequent_contact"``
    (Houston's CCSI chose its clients this way, [houston_ccsi])."""

    list_size: Annotated[int, Field(ge=1, le=1000)] = param(
        30,
        source="[houston_ccsi]: the pilot took the 30 most frequent contacts",
        unit="residents",
        range=(10, 100),
    )
    min_contacts: Annotated[int, Field(ge=1, le=100)] = param(
        2,
        source="assumption: a resident needs at least this many MH calls in the look-back window to be listed",
        unit="calls",
        range=(2, 6),
    )
    lookback_days: Annotated[int, Field(ge=7, le=1095)] = param(
        365,
        source="assumption: police contacts over the previous 12 months ([houston_ccsi] selected frequent "
        "contacts; its window is not verified)",
        unit="days",
        range=(90, 730),
    )
    refresh_days: Annotated[int, Field(ge=1, le=366)] = param(
        30, source="assumption: the list is refreshed monthly", unit="days", range=(7, 90)
    )
    first_refresh_day: Annotated[int, Field(ge=0)] | None = param(
        None,
        source="assumption: the first list is drawn once a full look-back window of calls exists (absent = "
        "lookback_days)",
        unit="day of the run",
        range=(90, 730),
    )


class ReferralSources(Strict):
    """Who makes a community referral (shares sum to 1). School referrals are not modelled separately: residents
    have no age unless ``[population.groups]`` names one, so a school's referral counts as a provider's."""

    family: Share = param(
        0.6,
        source="assumption: relatives are the usual non-police referrers of people who do not seek care (no count "
        "found)",
        unit="share of community referrals",
        range=(0.3, 0.8),
    )
    provider: Share = param(
        0.4,
        source="assumption: GPs, ED staff, housing and social workers, and schools (no count found)",
        unit="share of community referrals",
        range=(0.2, 0.7),
    )

    @model_validator(mode="after")
    def _sum_to_one(self) -> ReferralSources:
        total = self.family + self.provider
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"family + provider to sum to 1, found {total:.6g}")
        return self


class CommunityReferrals(Strict):
    """[programs.outreach.community_referrals]: referrals into the pathway that do not come from a police call
    (family, providers). Off by default: clients come from patrol reports (or the frequent-contact list) only."""

    enabled: bool = Field(False, description="switch: off keeps police reports (or the list) as the only way in")
    rate_elevated: Annotated[float, Field(ge=0.0, le=12.0)] = param(
        0.2,
        source="assumption: referrals per resident-year during an elevated-distress episode, for residents not "
        "engaged in care (about one referral in five episode-years; no published rate found)",
        unit="referrals per resident-year",
        range=(0.05, 0.6),
    )
    rate_stable: Annotated[float, Field(ge=0.0, le=12.0)] = param(
        0.01,
        source="assumption: the same outside an elevated-distress episode",
        unit="referrals per resident-year",
        range=(0.0, 0.05),
    )
    engaged_ratio: Annotated[float, Field(ge=0.0, le=10.0)] = param(
        0.0,
        source="assumption: rate multiplier for residents engaged in care (0: their own clinicians act instead)",
        unit="multiplier",
        range=(0.0, 0.5),
    )
    severity_ratio: dict[Literal["mild", "moderate", "severe"], Annotated[float, Field(ge=0.0, le=10.0)]] = param(
        {"mild": 0.5, "moderate": 1.0, "severe": 2.0},
        source="assumption: rate multiplier by severity (families and providers notice the severely ill sooner)",
        unit="multiplier",
        range=(0.25, 3.0),
    )
    sources: ReferralSources = ReferralSources()

    @model_validator(mode="after")
    def _all_severities(self) -> CommunityReferrals:
        missing = [s for s in ("mild", "moderate", "severe") if s not in self.severity_ratio]
        if missing:
            raise ValueError(f"severity_ratio to give mild, moderate and severe, missing {missing}")
        return self

    def max_rate(self) -> float:
        """Highest per-resident rate any state reaches (referrals per resident-year): the thinning bound."""
        state = max(self.rate_elevated, self.rate_stable) * max(1.0, self.engaged_ratio)
        return state * max(self.severity_ratio.values())


class OutreachConfig(Strict):
    """Police report → CRPO referral → signed consent → nurse assessment → weekly meeting → home visits."""

    key: ClassVar[str] = "outreach"  # the scenario's [programs.outreach] section

    enabled: bool = True
    selection: Literal["call_by_call", "frequent_contact"] = param(
        "call_by_call",
        source=f"{S000} Figure 1: patrol officers' reports, call by call; 'frequent_contact' selects the top of a "
        "monthly list of residents by MH calls to police in the last 12 months instead ([houston_ccsi])",
        unit="mode",
    )
    frequent_contact: FrequentContactList = FrequentContactList()
    community_referrals: CommunityReferrals = CommunityReferrals()  # family/provider referrals (issue 13, item 6)
    districts: list[str] | None = param(
        None,
        source=f"{S000} §1: three participating police stations; §2.5 expansion was held back by staffing. "
        "Districts whose reports can enter the pathway (absent = all)",
        unit="district names",
    )
    # --- referral by patrol officers and their awareness ------------------------------------------------
    awareness_ceiling: Share = param(
        0.8,
        source=f"assumption: the most officers' referral awareness reaches with steady reminders ({S000} §2.2)",
        unit="probability",
        range=(0.5, 0.95),
    )
    awareness_floor: Share = param(
        0.1,
        source=f"assumption: awareness left without reminders as officers rotate and arrive ({S000} §2.2)",
        unit="probability",
        range=(0.0, 0.3),
    )
    awareness_half_life_days: Positive = param(
        90.0,
        source=f"assumption: half-life of awareness above the floor; {S000} §2.2 'frequent arrival of new "
        "officers and internal transfers'",
        unit="days",
        range=(30.0, 365.0),
    )
    station_visits_per_month: Annotated[float, Field(ge=0.0, le=30.0)] = param(
        3.0,
        source=f"{S000} §1: 'a nurse visits participating police stations several times a month'",
        unit="visits/station/month",
        range=(1.0, 6.0),
    )
    station_visit_gain: Share = param(
        0.25,
        source="assumption: share of the gap to the ceiling closed by one station visit",
        unit="share",
        range=(0.05, 0.5),
    )
    station_visit_min: Positive = param(
        60.0, source="assumption: nurse time per station visit incl. travel", unit="min", range=(30.0, 120.0)
    )
    crpo_champion_strength: Share = param(
        1.0,
        source=f"{S000} §2.9 and Discussion: local champions keep the project in officers' minds; scales the "
        "station-visit gain (0 = no champion)",
        unit="0-1",
        range=(0.0, 1.0),
    )
    # --- CRPO: offer and consent -------------------------------------------------------------------------
    crpo_hours_per_week: Annotated[float, Field(gt=0.0, le=40.0)] = param(
        8.0,
        source=f"assumption: CRPO time for outreach besides other duties ({S000} §2.9: 'additional tasks to "
        "our regular work')",
        unit="h/week per CRPO",
        range=(2.0, 20.0),
    )
    offer_min: Positive = param(
        90.0,
        source=f"assumption: CRPO time to reach the person, offer the service and get the form signed ({S000} "
        "Table 1)",
        unit="min",
        range=(30.0, 180.0),
    )
    consent_at_mean_trust: Annotated[float, Field(gt=0.0, lt=1.0)] = param(
        0.6,
        source=f"assumption: {S000} §2.3 'if we offered it to more people, many would say yes'",
        unit="probability",
        range=(0.4, 0.85),
    )
    consent_trust_slope: NonNegative = param(
        3.0,
        source="assumption: log-odds of consent per unit of trust in services above the population mean",
        unit="log-odds",
        range=(0.0, 6.0),
    )
    consent_delay_days: NonNegative = param(
        7.0,
        source=f"assumption: {S000} §2.6 'complex consent procedures delaying information sharing'",
        unit="days",
        range=(2.0, 21.0),
    )
    max_offers: Annotated[int, Field(ge=1, le=5)] = param(
        2,
        source="assumption: offers made before a refused case stops (1 = no re-offer)",
        unit="offers",
        range=(1, 3),
    )
    reoffer_after_days: Positive = param(
        60.0, source="assumption: wait before the CRPO offers again", unit="days", range=(14.0, 180.0)
    )
    # --- nurse, psychiatrist, meeting ---------------------------------------------------------------------
    nurse_fte: Annotated[float, Field(gt=0.0, le=5.0)] = param(
        1.0, source=f"{S000} §2.4: one nursing position coordinated referrals", unit="FTE", range=(0.5, 2.0)
    )
    hours_per_fte_week: Annotated[float, Field(gt=0.0, le=60.0)] = param(
        37.5, source="assumption: paid hours of one FTE a week", unit="h/week", range=(35.0, 40.0)
    )
    work_start_hour: Annotated[float, Field(ge=0.0, lt=24.0)] = param(
        8.5, source="assumption: clinic day start, Monday-Friday", unit="hour", range=(7.0, 10.0)
    )
    work_hours_per_day: Annotated[float, Field(gt=0.0, le=24.0)] = param(
        8.0, source="assumption: clinic day length", unit="h", range=(7.0, 10.0)
    )
    psychiatrist_hours_per_week: Annotated[float, Field(ge=0.0, le=40.0)] = param(
        4.0,
        source=f"assumption: one half-day session a week; {S000} gives no figure ('there aren't 50 "
        "psychiatrists')",
        unit="h/week",
        range=(2.0, 8.0),
    )
    psychiatrist_share: Share = param(
        0.4,
        source=f"assumption: {S000} Table 1, the psychiatrist 'meets with a portion of patients'",
        unit="share of clients",
        range=(0.2, 0.7),
    )
    # --- team composition: peer specialists (off at 0) -----------------------------------------------------
    peer_fte: Annotated[float, Field(ge=0.0, le=5.0)] = param(
        0.0,
        source="assumption: peer specialists (people with lived experience) on the team, FTE; 0 = no peer (the "
        "default). A peer joins the CRPO's consent offers and the first home visit",
        unit="FTE",
        range=(0.0, 2.0),
    )
    peer_consent_or: Positive = param(
        1.5,
        source="assumption: odds ratio on consent when a peer joins the offer (evidence on peers in crisis work "
        "is weak; 1 = no effect)",
        unit="odds ratio",
        range=(1.0, 2.5),
    )
    peer_trust_gain: Share = param(
        0.1,
        source="assumption: rise in the client's trust in services after the first home visit with a peer "
        "(raises attendance at the step-down intake and later consent: follow-through; weak evidence)",
        unit="0-1",
        range=(0.0, 0.2),
    )
    caseload_cap: Annotated[int, Field(ge=1, le=500)] = param(
        25,
        source="assumption: active clients the team carries at once (intensive case management, one nurse)",
        unit="clients",
        range=(10, 40),
    )
    max_wait_days: Positive = param(
        60.0,
        source="assumption: a consented case waiting this long for a caseload slot is dropped",
        unit="days",
        range=(30.0, 120.0),
    )
    assessment_min: Positive = param(
        120.0,
        source=f"assumption: nurse record review and assessment ({S000} Table 1)",
        unit="min",
        range=(60.0, 240.0),
    )
    meeting_weekday: Annotated[int, Field(ge=0, le=4)] = param(
        1, source=f"{S000} §1: weekly meetings; weekday assumption (0 = Monday)", unit="day", range=(0, 4)
    )
    meeting_hour: Annotated[float, Field(ge=0.0, lt=24.0)] = param(
        10.0, source="assumption: meeting start hour", unit="hour", range=(8.0, 16.0)
    )
    meeting_min: Positive = param(
        60.0,
        source=f"{S000} §1: CRPOs and providers meet weekly; length assumption",
        unit="min",
        range=(45.0, 120.0),
    )
    # --- home visits and follow-up ------------------------------------------------------------------------
    officers_per_visit: Annotated[int, Field(ge=2, le=4)] = param(
        2,
        source=f"{S000} Table 1: 'at least 2 police officers attend clinical intervention'",
        unit="officers",
        range=(2, 3),
    )
    crpo_attends_visits: bool = param(
        True,
        source=f"{S000} Table 1: the CRPO makes the first contact during the intervention and ensures security",
        unit="flag",
    )
    visit_duration: Duration = param(
        LogNormalDuration(median_min=90.0, p90_min=150.0),
        source="assumption: home visit incl. travel (the visit's officers are out of service throughout)",
        unit="min",
        range=(60.0, 240.0),
    )
    follow_up_visits: Annotated[int, Field(ge=0, le=20)] = param(
        3,
        source=f"assumption: follow-up visits after the first ({S000} Table 1: 'follow-up if needed')",
        unit="visits",
        range=(1, 8),
    )
    follow_up_interval_days: Positive = param(
        14.0, source="assumption: days between follow-up visits", unit="days", range=(7.0, 30.0)
    )
    costs: OutreachCosts = OutreachCosts()

    @model_validator(mode="after")
    def _feasible(self) -> OutreachConfig:
        if self.awareness_floor > self.awareness_ceiling:
            raise ValueError(
                f"awareness_floor to be at most awareness_ceiling ({self.awareness_ceiling}), "
                f"found {self.awareness_floor}"
            )
        if self.work_start_hour + self.work_hours_per_day > 24.0:
            raise ValueError(
                "work_start_hour + work_hours_per_day to end the working day by 24:00, "
                f"found {self.work_start_hour + self.work_hours_per_day:g}"
            )
        if self.districts is not None:
            if not self.districts:
                raise ValueError("districts to list at least one district (or be left out for all), found []")
            dupes = sorted({d for d in self.districts if self.districts.count(d) > 1})
            if dupes:
                raise ValueError(f"districts to list each district once, found duplicates {dupes}")
        nurse_min = self.nurse_fte * self.hours_per_fte_week * 60
        if nurse_min <= self.meeting_min:
            raise ValueError(
                f"nurse_fte * hours_per_fte_week to leave time after the weekly meeting ({self.meeting_min:g} min), "
                f"found {nurse_min:g} min"
            )
        if self.crpo_hours_per_week * 60 <= self.meeting_min:
            raise ValueError(
                f"crpo_hours_per_week to leave time after the weekly meeting ({self.meeting_min:g} min), "
                f"found {self.crpo_hours_per_week * 60:g} min"
            )
        if self.psychiatrist_share > 0 and self.psychiatrist_hours_per_week * 60 <= self.meeting_min:
            raise ValueError(
                "psychiatrist_hours_per_week to leave time after the weekly meeting when psychiatrist_share > 0, "
                f"found {self.psychiatrist_hours_per_week * 60:g} min"
            )
        return self

    def roles(self) -> set[str]:
        """Clinician roles the program employs (timeline events check their role against these)."""
        return {"nurse", "psychiatrist"} if self.psychiatrist_hours_per_week > 0 else {"nurse"}

    def check_scenario(self, scenario: Any) -> None:
        """Participating districts must exist in the city."""
        check_districts_exist("outreach", self.districts, scenario)
        if self.selection == "frequent_contact":
            first = self.first_refresh_day()
            horizon = scenario.simulation.horizon_days
            if first >= horizon:
                raise ValueError(
                    "programs.outreach.frequent_contact.first_refresh_day (absent: lookback_days) to fall before "
                    f"simulation.horizon_days ({horizon}), found day {first}"
                )

    def first_refresh_day(self) -> int:
        """Day of the first frequent-contact list (``first_refresh_day``, else ``lookback_days``)."""
        fc = self.frequent_contact
        return fc.lookback_days if fc.first_refresh_day is None else fc.first_refresh_day
