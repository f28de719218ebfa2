"""The scenario schema: what a city's crisis-response system is made of, with every default's source.

Sections follow the flow of a crisis call: city → demand → at-risk population → police → dispatch → destinations →
dispositions → costs; programs (response models) have their own sections under ``programs``. Time is in
minutes inside the model; the schema uses the unit each field names.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

import crisis_sim.scenario.programs_schema as programs_schema
from crisis_sim.scenario.channels import Channels
from crisis_sim.scenario.goals import GoalSpec
from crisis_sim.scenario.groups import PopulationGroups
from crisis_sim.scenario.params import Strict, param
from crisis_sim.scenario.programs_schema import ProgramsConfig
from crisis_sim.scenario.timeline import TimelineEvents, check_timeline
from crisis_sim.scenario.trust import TrustDynamics
from crisis_sim.scenario.types import (  # noqa: F401  (re-exported)
    DISPOSITIONS,
    RISK_LEVELS,
    SEVERITIES,
    Duration,
    ExponentialDuration,
    FixedDuration,
    LogNormalDuration,
    NonNegative,
    Positive,
    Share,
)


# --- city ----------------------------------------------------------------------------------------------------
class District(Strict):
    name: str = Field(min_length=1)
    population_share: Annotated[float, Field(gt=0.0, le=1.0)]
    travel_time: Duration = param(
        LogNormalDuration(median_min=9.0, p90_min=20.0),
        source="assumption: urban priority-call travel, median 6-12 min, p90 15-30 min",
        unit="min",
        range=(6.0, 30.0),
    )
    patrol_units: dict[str, Annotated[int, Field(ge=0)]] = Field(
        description="units on duty per shift name (see police.shifts)"
    )


class City(Strict):
    population: int = Field(ge=1, le=50_000_000)
    districts: list[District] = Field(min_length=1)

    @model_validator(mode="after")
    def _districts_consistent(self) -> City:
        names = [d.name for d in self.districts]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"district names must be unique, found duplicates {dupes}")
        total = sum(d.population_share for d in self.districts)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"districts' population_share must sum to 1, found {total:.6g}")
        return self


# --- demand --------------------------------------------------------------------------------------------------
# Shape (not exact values): MH calls peak mid-afternoon to late evening,
# trough around 05:00 ([wuschke2018], [vaughan2019]). [mhfr_blog]'s "70% between 14:00 and 22:00" is unsourced and
# not used.
_MH_HOURLY = [0.85, 0.72, 0.60, 0.50, 0.44, 0.40, 0.45, 0.58, 0.78, 0.95, 1.05, 1.12,
              1.18, 1.24, 1.32, 1.40, 1.45, 1.46, 1.45, 1.40, 1.32, 1.22, 1.10, 0.98]  # fmt: skip
# General police calls: assumption, similar day curve with a broader evening plateau.
_OTHER_HOURLY = [0.90, 0.75, 0.62, 0.52, 0.45, 0.42, 0.48, 0.65, 0.85, 1.00, 1.08, 1.12,
                 1.15, 1.18, 1.22, 1.28, 1.32, 1.35, 1.35, 1.32, 1.25, 1.15, 1.05, 0.95]  # fmt: skip


def _profile(n: int) -> type:
    return Annotated[list[NonNegative], Field(min_length=n, max_length=n)]


class Demand(Strict):
    police_calls_per_1000_per_day: Positive = param(
        0.8,
        source="assumption: US agencies log roughly 250-450 calls for service per 1,000 residents a year",
        unit="calls/1000 residents/day",
        range=(0.5, 1.5),
    )
    mh_share: Share = param(
        0.06,
        source="[kane2021] 5-8% of police calls MH-involved when defined broadly (England & Wales census); 0.5-3% "
        "coded in dispatch data; up to 20-31% by widest definitions ([coleman2010], [mhfr_blog])",
        unit="share of police calls",
        range=(0.01, 0.31),
    )
    mh_hourly_profile: _profile(24) = param(
        _MH_HOURLY,
        source="[wuschke2018] [vaughan2019] shape: afternoon-evening peak, trough ~05:00; exact values assumption",
        unit="relative rate by hour 0-23",
        range=(0.3, 1.6),
    )
    mh_weekday_profile: _profile(7) = param(
        [1.06, 1.06, 1.06, 1.06, 1.06, 0.85, 0.85],
        source="[wuschke2018] [vaughan2019] higher on weekdays; exact values assumption",
        unit="relative rate Mon-Sun",
        range=(0.8, 1.1),
    )
    other_hourly_profile: _profile(24) = param(
        _OTHER_HOURLY,
        source="assumption: general police call curve",
        unit="relative rate by hour",
        range=(0.3, 1.6),
    )
    other_weekday_profile: _profile(7) = param(
        [0.96, 0.96, 0.97, 1.0, 1.08, 1.08, 0.95],
        source="assumption: busier Friday/Saturday",
        unit="relative rate Mon-Sun",
        range=(0.8, 1.2),
    )
    other_on_scene: Duration = param(
        LogNormalDuration(median_min=25.0, p90_min=90.0),
        source="assumption: time on scene for general police calls",
        unit="min",
        range=(15.0, 120.0),
    )

    @model_validator(mode="after")
    def _profiles_not_all_zero(self) -> Demand:
        for name in (
            "mh_hourly_profile",
            "mh_weekday_profile",
            "other_hourly_profile",
            "other_weekday_profile",
        ):
            if sum(getattr(self, name)) <= 0:
                raise ValueError(f"{name} must have a positive entry, found all zeros")
        return self


# --- at-risk population --------------------------------------------------------------------------------------
class SeverityMix(Strict):
    mild: Share = 0.5
    moderate: Share = 0.35
    severe: Share = 0.15

    @model_validator(mode="after")
    def _sums_to_one(self) -> SeverityMix:
        total = self.mild + self.moderate + self.severe
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"severity shares must sum to 1, found {total:.6g}")
        return self


class Population(Strict):
    at_risk_share: Share = param(
        0.015,
        source="assumption: ~5.6% of adults live with serious mental illness [nimh_smi], a minority of whom come to "
        "police attention",
        unit="share of residents",
        range=(0.005, 0.04),
    )
    severity_mix: SeverityMix = param(
        SeverityMix(),
        source="assumption: mild/moderate/severe 0.5/0.35/0.15",
        unit="shares",
        range=(0.1, 0.6),
    )
    severity_hazard: dict[Literal["mild", "moderate", "severe"], Positive] = param(
        {"mild": 0.5, "moderate": 1.0, "severe": 2.5},
        source="assumption: crisis hazard multiplier by severity",
        unit="multiplier",
        range=(0.3, 4.0),
    )
    substance_use_share: Share = param(
        0.25,
        source="[csg2024] more than 18% of adults with mental illness have a co-occurring substance use disorder",
        unit="share",
        range=(0.18, 0.45),
    )
    substance_use_hazard: Positive = param(
        1.3, source="assumption: co-occurring SUD raises crisis hazard", unit="multiplier", range=(1.0, 2.0)
    )
    unhoused_share: Share = param(
        0.10,
        source="assumption: share of the at-risk population without stable housing ([echinops_study] describes them)",
        unit="share",
        range=(0.03, 0.3),
    )
    unhoused_hazard: Positive = param(
        1.5,
        source="assumption: housing instability raises crisis hazard",
        unit="multiplier",
        range=(1.0, 3.0),
    )
    trust_services_mean: Share = param(
        0.5,
        source="assumption: [echinops_study] describes many as distrustful of services; Beta mean",
        unit="0-1",
        range=(0.2, 0.8),
    )
    trust_police_mean: Share = param(
        0.5, source="assumption: Beta mean of trust in police", unit="0-1", range=(0.2, 0.8)
    )
    trust_concentration: Positive = param(
        4.0, source="assumption: Beta concentration (a+b) of trust", unit="-", range=(2.0, 20.0)
    )
    engaged_share: Share = param(
        0.21,
        source="[vandenbrink2012] 21% in regular care before police contacted MH services",
        unit="share",
        range=(0.1, 0.5),
    )
    engaged_hazard_ratio: Annotated[float, Field(gt=0.0, le=1.0)] = param(
        0.65,
        source="assumption: engagement in care lowers crisis hazard",
        unit="hazard ratio",
        range=(0.4, 1.0),
    )
    engagement_mean_days: Positive = param(
        180.0, source="assumption: mean spell of engagement in care", unit="days", range=(60.0, 730.0)
    )
    frequent_caller_share: Share = param(
        0.05,
        source="assumption: a small share of people generate many repeat non-emergency calls [echinops_study]",
        unit="share",
        range=(0.02, 0.1),
    )
    frequent_caller_hazard: Positive = param(
        8.0,
        source="assumption: frequent callers' crisis hazard multiplier",
        unit="multiplier",
        range=(4.0, 15.0),
    )
    distress_onsets_per_year: Positive = param(
        2.0,
        source="assumption: episodes of elevated distress per person-year",
        unit="/year",
        range=(0.5, 6.0),
    )
    distress_mean_days: Positive = param(
        21.0, source="assumption: mean length of an elevated-distress episode", unit="days", range=(7.0, 60.0)
    )
    distress_hazard: Annotated[float, Field(ge=1.0)] = param(
        6.0,
        source="assumption: crisis hazard multiplier while distress is elevated",
        unit="multiplier",
        range=(2.0, 15.0),
    )
    groups: PopulationGroups = PopulationGroups()  # [population.groups]: attributes, by_group (off by default)
    trust_dynamics: TrustDynamics = TrustDynamics()  # [population.trust_dynamics]: trust that moves (off)


# --- police --------------------------------------------------------------------------------------------------
class Shift(Strict):
    name: str = Field(min_length=1)
    start_hour: Annotated[float, Field(ge=0.0, lt=24.0)]
    hours: Annotated[float, Field(gt=0.0, le=24.0)]


_DEFAULT_SHIFTS = [
    Shift(name="day", start_hour=7.0, hours=8.0),
    Shift(name="evening", start_hour=15.0, hours=8.0),
    Shift(name="night", start_hour=23.0, hours=8.0),
]


class Police(Strict):
    shifts: list[Shift] = param(
        _DEFAULT_SHIFTS,
        source="assumption: three 8-hour shifts (common US pattern; 10- and 12-hour patterns also used)",
        unit="shifts",
        range=(1, 4),
    )
    referral_awareness: Share = param(
        0.3,
        source="assumption: share of patrol officers who know a referral path ([echinops_study]: must be won over)",
        unit="probability",
        range=(0.05, 0.8),
    )
    officers_per_unit: Annotated[int, Field(ge=1, le=4)] = param(
        1,
        source="assumption: one-officer cars (two-officer cars common at night)",
        unit="officers",
        range=(1, 2),
    )

    @model_validator(mode="after")
    def _shifts_cover_day(self) -> Police:
        names = [s.name for s in self.shifts]
        if len(set(names)) != len(names):
            raise ValueError(f"shift names must be unique, found {names}")
        covered = [0] * (24 * 60)
        for s in self.shifts:
            start = round(s.start_hour * 60)
            for m in range(start, start + round(s.hours * 60)):
                covered[m % (24 * 60)] += 1
        gaps = [m for m, c in enumerate(covered) if c == 0]
        if gaps:
            raise ValueError(
                f"shifts must cover all 24 hours; no shift covers {gaps[0] // 60:02d}:{gaps[0] % 60:02d}"
            )
        return self


# --- dispatch ------------------------------------------------------------------------------------------------
class RiskMix(Strict):
    low: Share
    medium: Share
    high: Share

    @model_validator(mode="after")
    def _sums_to_one(self) -> RiskMix:
        total = self.low + self.medium + self.high
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"risk shares must sum to 1, found {total:.6g}")
        return self


# Case mix by hour and weekday (off by default). Direct evidence on how risk, weapons or identification of MH
# calls vary by hour is missing; crime peaks late at night and at weekends ([wuschke2018]), and the NYC audit
# ([nyccomptroller2025]) found 27.7% of B-HEARD-eligible calls 01:00-09:00, more than the MH share of those hours.
# Overnight (01:00-09:00) elevated-risk odds are lowered and identification raised so that the night share of
# identified eligible calls in mobile_crisis.toml comes near that figure: "calibrated", not measured.
_FLAT24 = [1.0] * 24
_NIGHT_RISK_ODDS = [1.0, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45, 1.0, 1.0, 1.0,
                    1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]  # fmt: skip
_NIGHT_IDENTIFICATION = [1.0, 1.3, 1.3, 1.3, 1.3, 1.3, 1.3, 1.3, 1.3, 1.0, 1.0, 1.0,
                         1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]  # fmt: skip
_LATE_WEAPON = [1.3, 1.3, 1.3, 1.1, 1.0, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.9,
                0.9, 0.9, 0.9, 1.0, 1.0, 1.0, 1.1, 1.1, 1.2, 1.2, 1.3, 1.3]  # fmt: skip
_LATE_SUBSTANCE = [1.4, 1.4, 1.3, 1.2, 1.0, 0.8, 0.7, 0.7, 0.7, 0.7, 0.8, 0.8,
                   0.9, 0.9, 0.9, 1.0, 1.0, 1.1, 1.1, 1.2, 1.2, 1.3, 1.3, 1.4]  # fmt: skip
_WEEKEND_UP = [1.0, 1.0, 1.0, 1.0, 1.1, 1.2, 1.2]


class CaseMixByTime(Strict):
    """[dispatch.case_mix_by_time]: multipliers by hour (0-23) and weekday (Mon-Sun) of the call's receipt; the
    hourly and weekday factors multiply. Each call's existing latent uniforms decide against the shifted
    probabilities (conditional quantiles), so common random numbers hold across scenarios."""

    enabled: bool = Field(False, description="switch: off keeps the case mix constant over the week")
    risk_odds_hourly: _profile(24) = param(
        _NIGHT_RISK_ODDS,
        source="calibrated: odds of medium-or-high (vs low) risk; 01:00-09:00 lowered so that the night share of "
        "eligible calls nears [nyccomptroller2025] 27.7%; no direct evidence (weak)",
        unit="odds multiplier by hour 0-23",
        range=(0.3, 1.5),
    )
    risk_odds_weekday: _profile(7) = param(
        [1.0] * 7, source="assumption: no weekday difference in risk", unit="odds multiplier Mon-Sun", range=(0.8, 1.2)
    )
    identification_hourly: _profile(24) = param(
        _NIGHT_IDENTIFICATION,
        source="calibrated: identification x1.3 at 01:00-09:00 (quieter call-takers; [nyccomptroller2025] night "
        "share); no direct evidence (weak)",
        unit="multiplier of dispatch.mh_identification by hour (capped at probability 1)",
        range=(0.8, 1.5),
    )
    identification_weekday: _profile(7) = param(
        [1.0] * 7, source="assumption: no weekday difference", unit="multiplier Mon-Sun", range=(0.8, 1.2)
    )
    weapon_hourly: _profile(24) = param(
        _LATE_WEAPON,
        source="assumption: weapons follow crime's late-night peak ([wuschke2018] context: crime peaks late at "
        "night and at weekends); values assumption",
        unit="multiplier of dispatch.weapon_share by hour",
        range=(0.5, 1.5),
    )
    weapon_weekday: _profile(7) = param(
        _WEEKEND_UP,
        source="assumption: weekend peak of crime ([wuschke2018] context); values assumption",
        unit="multiplier Mon-Sun",
        range=(0.8, 1.3),
    )
    substance_hourly: _profile(24) = param(
        _LATE_SUBSTANCE,
        source="assumption: intoxication peaks late evening and night; values assumption",
        unit="multiplier of the substance-involvement probability by hour",
        range=(0.5, 1.6),
    )
    substance_weekday: _profile(7) = param(
        _WEEKEND_UP, source="assumption: more intoxication at weekends", unit="multiplier Mon-Sun", range=(0.8, 1.3)
    )
    substance_involvement_user: Share = param(
        0.7,
        source="assumption: share of a substance-using person's crises that involve substance use (at factor 1)",
        unit="probability",
        range=(0.4, 1.0),
    )
    substance_involvement_other: Share = param(
        0.05,
        source="assumption: crises of people without a substance use disorder that involve intoxication",
        unit="probability",
        range=(0.0, 0.15),
    )

    def week_profile(self, name: str) -> list[float]:
        """168 factors (Monday 00:00 first) of ``name`` (risk_odds, identification, weapon, substance)."""
        hourly, weekday = getattr(self, f"{name}_hourly"), getattr(self, f"{name}_weekday")
        return [d * h for d in weekday for h in hourly]


class Dispatch(Strict):
    mh_identification: Share = param(
        0.40,
        source="[mhfr_blog] (weak): unstructured triage recognises ~40% of MH calls, structured protocol ~85%",
        unit="probability",
        range=(0.3, 0.9),
    )
    risk_assessment_accuracy: Share = param(
        0.7,
        source="assumption: share of calls whose risk level the call-taker assesses correctly",
        unit="probability",
        range=(0.5, 0.9),
    )
    risk_by_severity: dict[Literal["mild", "moderate", "severe"], RiskMix] = param(
        {
            "mild": RiskMix(low=0.7, medium=0.25, high=0.05),
            "moderate": RiskMix(low=0.45, medium=0.4, high=0.15),
            "severe": RiskMix(low=0.25, medium=0.4, high=0.35),
        },
        source="assumption: true risk level of a crisis by the person's severity",
        unit="shares",
        range=(0.05, 0.7),
    )
    weapon_share: Share = param(
        0.05, source="assumption: share of MH calls with a weapon reported", unit="share", range=(0.02, 0.15)
    )
    case_mix_by_time: CaseMixByTime = CaseMixByTime()


# --- destinations --------------------------------------------------------------------------------------------
class Emergency(Strict):
    assessment_slots: int = param(
        6,
        source="assumption: concurrent psychiatric assessments an ED can run (scale with city size)",
        unit="slots",
        range=(1, 30),
        ge=1,
    )
    assessment_time: Duration = param(
        LogNormalDuration(median_min=240.0, p90_min=600.0),
        source="assumption; psychiatric patients stay long in the ED (mean 7.77 h, Florida [florida_ed], weak)",
        unit="min",
        range=(120.0, 720.0),
    )
    background_arrivals_per_day: NonNegative = param(
        15.0,
        source="assumption: psychiatric ED arrivals not brought by police (calibrate to [hoffman2021] ED waits)",
        unit="/day",
        range=(0.0, 60.0),
    )
    handover: Duration = param(
        FixedDuration(kind="fixed", minutes=15.0),
        source="assumption: paperwork and handover once a slot opens ([hoffman2021]: 113-123 min per referral "
        "in total)",
        unit="min",
        range=(10.0, 40.0),
    )


class Jail(Strict):
    booking_slots: int = param(3, source="assumption: concurrent bookings", unit="slots", range=(1, 10), ge=1)
    booking_time: Duration = param(
        LogNormalDuration(median_min=60.0, p90_min=150.0),
        source="assumption: officer time to book an arrestee",
        unit="min",
        range=(30.0, 180.0),
    )


class CommunityServices(Strict):
    intake_slots_per_week: int = param(
        40,
        source="assumption: new-client intakes a week for the city (scale with population)",
        unit="slots/week",
        range=(5, 200),
        ge=0,
    )
    admin_lag_days: NonNegative = param(
        2.0,
        source="assumption: days from the encounter to the referral reaching the waitlist",
        unit="days",
        range=(0.5, 7.0),
    )
    ed_discharge_referral_share: Share = param(
        0.5,
        source="assumption: ED transports discharged with a referral to community services",
        unit="share",
        range=(0.2, 0.8),
    )
    attendance_at_mean_trust: Share = param(
        0.6,
        source="[vandenbrink2012] police contact with MH services raised regular care from 21% to 49% within "
        "a month; exact attendance assumption",
        unit="probability",
        range=(0.4, 0.8),
    )


class HealthPathway(Strict):
    """[destinations.health_pathway]: EMS, self-presented ED visits, the inpatient stay and discharge follow-up.

    Off: every crisis becomes a police call, transports go by police, an admitted hold leaves the person in the
    community. On: a share of crises go straight to the ED (more of them for people engaged in care), some voluntary
    transports go by ambulance (a city-wide pool of units), an admitted person is away for the stay (no crises)
    and a share of discharges are linked to services within 72 hours. See docs/health_pathway.md."""

    enabled: bool = Field(False, description="switch: off keeps the police-only pathway of earlier versions")
    ems_units: int = param(
        4, source="assumption: ambulances available for behavioural-health transports in the city at once",
        unit="units", range=(1, 20), ge=1, le=500,
    )  # fmt: skip
    ems_response: Duration = param(
        LogNormalDuration(median_min=10.0, p90_min=20.0),
        source="assumption: minutes from request to the ambulance at the scene",
        unit="min",
        range=(6.0, 30.0),
    )
    ems_offload: Duration = param(
        LogNormalDuration(median_min=20.0, p90_min=60.0),
        source="assumption: the crew's hand-over at the ED before the unit is free again",
        unit="min",
        range=(10.0, 90.0),
    )
    ems_voluntary_share: Share = param(
        0.3,
        source="assumption: voluntary transports to the ED that go by ambulance rather than the police car "
        "(the police unit waits for the ambulance, then clears); holds stay with police",
        unit="share",
        range=(0.1, 0.7),
    )
    ems_transport_cost: NonNegative = param(
        600.0, source="assumption: cost of one ambulance transport, USD", unit="USD", range=(300.0, 1500.0)
    )
    self_presented_share: Share = param(
        0.2,
        source="assumption: crises of people not in care that go straight to the ED (walk-in or ambulance), "
        "never reaching police",
        unit="share of crises",
        range=(0.05, 0.4),
        lt=1.0,
    )
    self_presented_share_connected: Share = param(
        0.35,
        source="assumption: the same for people engaged in care (connection shifts help-seeking from police "
        "to health services; direction after [bailey2022], size unknown)",
        unit="share of crises",
        range=(0.2, 0.6),
        lt=1.0,
    )
    self_presented_ems_share: Share = param(
        0.4,
        source="assumption: self-presented crises that arrive by ambulance (the rest walk in or are driven)",
        unit="share",
        range=(0.2, 0.6),
    )
    self_presented_admission_share: Share = param(
        0.15,
        source="assumption: self-presented psychiatric ED visits that end in an inpatient admission",
        unit="share",
        range=(0.05, 0.3),
    )
    background_includes_self_presented: bool = param(
        True,
        source="assumption: the ED's background psychiatric arrivals (calibrated to [hoffman2021] ED waits) already "
        "include these residents' self-presented visits, so their expected rate is taken off the background and "
        "the ED's load stays as calibrated; false adds them on top",
        range=(0, 1),
    )
    discharge_follow_up_share: Share = param(
        0.4,
        source="assumption: inpatient discharges followed up within 72 hours by a contact that links the "
        "person to community services (priority referral)",
        unit="share",
        range=(0.2, 0.7),
    )


DAY_MINUTES = 24 * 60.0


class PlaceToGo(Strict):
    """A place a transporting unit can leave a person instead of the ED (see docs/places.md): beds held for the
    length of stay, the unit only for the drop-off; when every bed is taken the person goes on to the ED."""

    enabled: bool = Field(False, description="switch: off sends everyone to the ED as before")
    beds: int = param(10, source="assumption", unit="beds", range=(4, 40), ge=1, le=2000)
    length_of_stay: Duration = param(
        LogNormalDuration(median_min=8 * 60.0, p90_min=16 * 60.0), source="assumption", unit="min",
        range=(4 * 60.0, 24 * 60.0),
    )  # fmt: skip
    drop_off: Duration = param(
        LogNormalDuration(median_min=10.0, p90_min=20.0), source="assumption", unit="min", range=(5.0, 30.0)
    )
    bed_day_cost: NonNegative = param(300.0, source="assumption", unit="USD/bed-day", range=(150.0, 600.0))
    max_risk: Literal["low", "medium", "high"] = Field(
        "medium", description="highest true risk of a call the place accepts (a policy choice)"
    )
    accepts_involuntary: bool = param(
        False, source="assumption: voluntary transports only; true also takes involuntary holds", range=(0, 1)
    )


class Sobering(PlaceToGo):
    """[destinations.sobering]: a sobering/detox centre for substance-involved calls that end in a transport."""

    beds: int = param(
        10, source="assumption: sobering/detox beds or mats of a city centre ([bja_pmhc] describes the type)",
        unit="beds", range=(4, 40), ge=1, le=2000,
    )  # fmt: skip
    length_of_stay: Duration = param(
        LogNormalDuration(median_min=8 * 60.0, p90_min=16 * 60.0),
        source="assumption: hours to sober up (a few hours to a day of observation)",
        unit="min",
        range=(4 * 60.0, 24 * 60.0),
    )
    drop_off: Duration = param(
        LogNormalDuration(median_min=10.0, p90_min=20.0),
        source="assumption: walk-in hand-over of an intoxicated person, minutes (vs 113-123 min per ED referral, "
        "[hoffman2021])",
        unit="min",
        range=(5.0, 30.0),
    )
    bed_day_cost: NonNegative = param(
        300.0, source="assumption: staffed sobering bed-day, USD", unit="USD/bed-day", range=(150.0, 600.0)
    )


class Respite(PlaceToGo):
    """[destinations.respite]: crisis residential/respite beds for low- and medium-risk calls that would otherwise
    end at the ED."""

    beds: int = param(
        8, source="assumption: short-term crisis residential/respite beds ([bja_pmhc] describes the type)",
        unit="beds", range=(4, 16), ge=1, le=2000,
    )  # fmt: skip
    length_of_stay: Duration = param(
        LogNormalDuration(median_min=5 * DAY_MINUTES, p90_min=12 * DAY_MINUTES),
        source="assumption: days of short-term crisis residential stay",
        unit="min",
        range=(2 * DAY_MINUTES, 14 * DAY_MINUTES),
    )
    drop_off: Duration = param(
        LogNormalDuration(median_min=20.0, p90_min=45.0),
        source="assumption: intake hand-over to respite staff, minutes",
        unit="min",
        range=(10.0, 60.0),
    )
    bed_day_cost: NonNegative = param(
        450.0,
        source="assumption: staffed crisis residential bed-day, USD (below psychiatric inpatient ~$770-830/day, "
        "[inpatientcost2012])",
        unit="USD/bed-day",
        range=(250.0, 800.0),
    )


class Destinations(Strict):
    ed: Emergency = Emergency()
    jail: Jail = Jail()
    community_services: CommunityServices = CommunityServices()
    health_pathway: HealthPathway = HealthPathway()
    sobering: Sobering = Sobering()
    respite: Respite = Respite()


# --- dispositions --------------------------------------------------------------------------------------------
class DispositionMix(Strict):
    resolved: NonNegative
    report: NonNegative
    referral: NonNegative
    voluntary_transport: NonNegative
    involuntary: NonNegative
    arrest: NonNegative

    @model_validator(mode="after")
    def _sums_to_one(self) -> DispositionMix:
        total = sum(getattr(self, d) for d in DISPOSITIONS)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"disposition shares must sum to 1, found {total:.6g}")
        return self


OddsRatios = dict[Literal[DISPOSITIONS], Positive]  # type: ignore[valid-type]


class Dispositions(Strict):
    police_medium_risk: DispositionMix = param(
        DispositionMix(
            resolved=0.345,
            report=0.20,
            referral=0.07,
            voluntary_transport=0.10,
            involuntary=0.23,
            arrest=0.055,
        ),
        source="[seattle_monitor] arrest ~7.5% of crisis contacts; [toronto_pic] apprehension 20-29% of "
        "attended crisis events; remaining split assumption",
        unit="shares",
        range=(0.0, 0.5),
    )
    risk_odds: dict[Literal["low", "high"], OddsRatios] = param(
        {
            "low": {"involuntary": 0.4, "arrest": 0.6, "voluntary_transport": 0.8, "resolved": 1.3},
            "high": {"involuntary": 2.2, "arrest": 1.8, "resolved": 0.6},
        },
        source="assumption: odds ratios against medium risk",
        unit="odds ratio",
        range=(0.3, 3.0),
    )
    substance_use_arrest_or: Positive = param(
        1.6, source="assumption: co-occurring substance use and arrest", unit="odds ratio", range=(1.0, 2.5)
    )
    unidentified_arrest_or: Positive = param(
        1.3,
        source="assumption: officers not told the call is MH arrest more often",
        unit="odds ratio",
        range=(1.0, 2.0),
    )
    force_base: Share = param(
        0.008,
        source="[seattle_monitor] force in <2% of crisis contacts (base before odds below)",
        unit="probability",
        range=(0.003, 0.02),
    )
    force_or_arrest: Positive = param(4.0, source="assumption", unit="odds ratio", range=(2.0, 8.0))
    force_or_high_risk: Positive = param(2.5, source="assumption", unit="odds ratio", range=(1.5, 4.0))
    force_or_weapon: Positive = param(3.0, source="assumption", unit="odds ratio", range=(1.5, 6.0))
    subject_injury_given_force: Share = param(
        0.35, source="assumption", unit="probability", range=(0.15, 0.6)
    )
    officer_injury_given_force: Share = param(
        0.15, source="assumption", unit="probability", range=(0.05, 0.3)
    )
    mh_on_scene: Duration = param(
        LogNormalDuration(median_min=43.0, p90_min=120.0),
        source="[bodycam_onscene] median ~43 min on scene (one body-cam study, weak); p90 assumption",
        unit="min",
        range=(25.0, 90.0),
    )
    coercion_trust_loss: Share = param(
        0.15,
        source="assumption: trust lost after arrest, force or an involuntary hold (coercion erodes trust "
        "and engagement)",
        unit="0-1",
        range=(0.05, 0.3),
    )
    coercion_disengage: Share = param(
        0.3,
        source="assumption: chance that a coercive contact ends engagement in care",
        unit="probability",
        range=(0.1, 0.6),
    )
    hold_admission_share: Share = param(
        0.5,
        source="assumption: involuntary holds that become an inpatient stay",
        unit="share",
        range=(0.3, 0.8),
    )


# --- costs ---------------------------------------------------------------------------------------------------
class Costs(Strict):
    officer_hour: NonNegative = param(
        70.0, source="assumption: loaded cost of a patrol unit hour, USD", unit="USD/h", range=(45.0, 120.0)
    )
    ed_visit: NonNegative = param(
        630.0, source="[hcup257] ED visit with MH/SUD diagnosis, $630 (2017 USD)", unit="USD"
    )
    inpatient_day: NonNegative = param(
        800.0,
        source="[inpatientcost2012] psychiatric inpatient ~$770-830/day (2006 USD)",
        unit="USD/day",
    )
    inpatient_days_per_admission: Positive = param(
        5.0, source="assumption: length of stay after an admitted hold", unit="days", range=(2.0, 12.0)
    )
    jail_day: NonNegative = param(
        150.0, source="assumption: no verified jail-day cost", unit="USD/day", range=(80.0, 250.0)
    )
    jail_days_per_arrest: Positive = param(
        2.0, source="assumption: mean days held per arrest", unit="days", range=(0.5, 10.0)
    )


# --- outcomes ------------------------------------------------------------------------------------------------
class RecordedOutcomes(Strict):
    """[outcomes.recorded]: the metrics as an evaluation built from dispatch data would count them."""

    enabled: bool = Field(
        False, description="switch: add summary['recorded'] (identified MH calls only) beside the true metrics"
    )
    repeat_windows_days: list[Annotated[int, Field(ge=1, le=3650)]] = param(
        [30, 90, 365],
        source="scenario choice: windows for repeat contacts (the CSG framework's repeat encounters [csg2024]; "
        "90 days and 12 months are common in evaluations)",
        unit="days",
        min_length=1,
        max_length=10,
    )


class Outcomes(Strict):
    recorded: RecordedOutcomes = RecordedOutcomes()


# --- run control ---------------------------------------------------------------------------------------------
class Simulation(Strict):
    horizon_days: int = Field(365, ge=1, le=36_500, description="simulated days, warm-up included")
    warmup_days: int = Field(0, ge=0, description="days simulated before outcomes are counted")
    month_days: int = Field(30, ge=1, le=366, description="length of a reporting month in the time series")


class Scenario(Strict):
    """A whole city's crisis-response system, validated as one object."""

    name: str = Field(min_length=1)
    description: str = ""
    simulation: Simulation = Simulation()
    city: City
    demand: Demand = Demand()
    population: Population = Population()
    police: Police = Police()
    dispatch: Dispatch = Dispatch()
    channels: Channels = Channels()  # ways in besides 911 (scenario/channels.py)
    destinations: Destinations = Destinations()
    dispositions: Dispositions = Dispositions()
    costs: Costs = Costs()
    outcomes: Outcomes = Outcomes()
    programs: ProgramsConfig = ProgramsConfig()
    timeline: TimelineEvents = Field(default_factory=list, description="dated events (docs/events.md)")
    goals: list[GoalSpec] = Field(default_factory=list, description="goals the report checks (docs/report.md)")

    @model_validator(mode="after")
    def _combinations(self) -> Scenario:
        if self.simulation.warmup_days >= self.simulation.horizon_days:
            raise ValueError(
                f"simulation.warmup_days must be less than horizon_days ({self.simulation.horizon_days}), "
                f"found {self.simulation.warmup_days}"
            )
        shift_names = {s.name for s in self.police.shifts}
        for i, d in enumerate(self.city.districts):
            unknown = sorted(set(d.patrol_units) - shift_names)
            missing = sorted(shift_names - set(d.patrol_units))
            if unknown or missing:
                raise ValueError(
                    f"city.districts.{i}.patrol_units must name exactly the shifts {sorted(shift_names)}, "
                    f"found unknown {unknown} and missing {missing}"
                )
            if sum(d.patrol_units.values()) == 0:
                raise ValueError(
                    f"city.districts.{i}.patrol_units must put at least one unit on some shift, found 0"
                )
        if self.demand.mh_share > 0 and round(self.city.population * self.population.at_risk_share) < 1:
            raise ValueError("population.at_risk_share gives no at-risk residents but demand.mh_share > 0")
        # Program sections that must agree with the city (e.g. district names) say so in check_scenario.
        for key in type(self.programs).model_fields:
            check = getattr(getattr(self.programs, key), "check_scenario", None)
            if check is not None:
                check(self)
        check_timeline(self)
        return self


def register_section(config: type) -> None:
    """Add a program's section ``[programs.<config.key>]`` to the schema at run time (a program defined outside
    the package; see :func:`crisis_sim.programs.register_program`). Registering the same class again is a no-op."""
    key = getattr(config, "key", None)
    if not isinstance(key, str) or not key.isidentifier():
        raise ValueError(f"a program section needs a class attribute key (an identifier), found {key!r}")
    if programs_schema.SECTIONS.get(key) is config:
        return
    if key in programs_schema.SECTIONS:
        raise ValueError(f"a program section with key {key!r} is registered already")
    programs_schema.SECTIONS[key] = config
    new = programs_schema.build_programs_config()
    field = Scenario.model_fields["programs"]
    field.annotation = new
    field.default = new()
    Scenario.model_rebuild(force=True)
