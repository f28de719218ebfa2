"""Named random streams for common random numbers (CRN).

Every stochastic quantity draws from its own stream, keyed by ``(replication, stream id)`` under the user's root
seed and never by the scenario. Two scenarios run with the same replication index therefore see the same crises,
the same people and the same per-call latent uniforms; a program switched on changes who responds, not which
crises happen. Draws are made in chunks because a scalar draw costs ~70x a batched one.
"""

from __future__ import annotations

import numpy as np

# Stable ids: never renumber, only append (renumbering silently changes every result).
STREAMS: dict[str, int] = {
    "population": 1,  # at-risk residents' attributes
    "crisis_clocks": 2,  # per-resident unit-rate exponential clocks for crises
    "crisis_latents": 3,  # per-resident, per-crisis latent uniforms (identification, risk, disposition...)
    "other_calls": 4,  # non-MH police calls: arrival gaps and attributes
    "ed_background": 5,  # psychiatric ED arrivals that do not come from police
    "crisis_overflow": 6,  # per-resident extension blocks when a resident exceeds the pre-drawn crises
    "staff": 7,  # staff attributes (CIT training, awareness)
    "programs": 8,  # base id for program-owned streams (see ``program_stream``)
    "events": 9,  # timeline events
    "health": 10,  # health-system pathway and follow-up: per-(resident, crisis) rows (model/health.py)
    "groups": 11,  # residents' group attributes ([population.groups]); one substream per attribute name
    # 12: reserved for a frequent-contact list (issue 13, item 7), never used: the list draws nothing
    "places": 13,  # sobering centre and respite beds: per-(resident, crisis) rows (model/places.py)
    "channels": 14,  # ways in besides 911: per-(resident, crisis) rows (model/crisis_line.py)
    "trust": 15,  # trust that moves: per-(resident, crisis) rows (model/trust.py)
    "referrals": 16,  # community referrals into outreach: candidate arrivals, then case rows (programs/outreach_referrals.py)
    "initiator": 17,  # who initiated each MH call: per-(resident, crisis) rows (model/initiator.py)
}


# Stable ids of the programs' own streams (``program_stream``): never renumber, only append.
PROGRAM_STREAMS: dict[str, int] = {
    "cit": 1,
    "co_response": 2,
    "mobile_crisis": 3,
    "triage": 4,
    "outreach": 5,
    "stabilization": 6,
}

# Columns of a crisis's latent row (``model.calls``): every decision about an MH call reads its own column, so a
# scenario change alters the outcome of a decision, never which random number it sees. Never renumber; a new
# owner takes free columns below N_LATENTS (20 is the last free one: keep it for programs defined outside the package) (or N_LATENTS grows, which changes every ledger).
N_LATENTS = 32
LATENTS: dict[str, dict[str, int]] = {
    "core": {
        "identify": 0, "risk": 1, "risk_assess": 2, "weapon": 3, "travel": 4, "scene": 5, "disposition": 6,
        "force": 7, "subject_injury": 8, "officer_injury": 9, "attend": 10, "engagement": 11, "disengage": 12,
        "admit": 13, "transport": 14, "ed_assess": 15, "booking": 16, "discharge_referral": 17,
    },
    # recognised by the protocol (beyond the call-taker), then screening time; resolved by phone, referral, time
    "triage": {"identify_screen": 18, "phone": 19},
    # the clinician's own travel (meet-at-scene); follow-up or not, then referral, then its duration
    "co_response": {"clinician_travel": 21, "follow_up": 22},
    # dispatcher sends an eligible call to police anyway; the team calls backup (and when); the team's scene time;
    # a team member hurt in an escalation (risk_based_safety only; column 29 was free)
    "mobile_crisis": {"bias": 23, "backup": 24, "team_scene": 25, "clinician_injury": 29},
    # officer refers the report to the CRPO; consent at the first offer; psychiatrist needed at the first visit
    "outreach": {"refer": 26, "consent": 27, "psychiatrist": 28},
    # length of stay; drop-off time for the transporting unit
    "stabilization": {"stay": 30, "drop_off": 31},
}  # fmt: skip


def latent(owner: str, name: str) -> int:
    """The latent column that ``owner`` (``core`` or a program key) reads for ``name``."""
    return LATENTS[owner][name]


def collisions() -> list[str]:
    """Every clash in the tables above: a stream id or latent column used twice, or a column out of range."""
    problems = []
    for table, ids in (("STREAMS", STREAMS), ("PROGRAM_STREAMS", PROGRAM_STREAMS)):
        seen: dict[int, str] = {}
        for name, i in ids.items():
            if i in seen:
                problems.append(f"{table}: {name} and {seen[i]} share id {i}")
            seen[i] = name
    owner_of: dict[int, str] = {}
    for owner, cols in LATENTS.items():
        for name, col in cols.items():
            if not 0 <= col < N_LATENTS:
                problems.append(f"LATENTS: {owner}.{name} = {col} is outside 0..{N_LATENTS - 1}")
            elif col in owner_of:
                problems.append(f"LATENTS: {owner}.{name} and {owner_of[col]} share column {col}")
            owner_of[col] = f"{owner}.{name}"
    return problems


def reserve(owner: str, stream_id: int, latents: dict[str, int]) -> None:
    """Add a program defined outside the package to the tables, refusing any clash (nothing changes then)."""
    if owner in PROGRAM_STREAMS or owner in LATENTS:
        raise ValueError(f"{owner!r} already has a stream or latent columns")
    PROGRAM_STREAMS[owner] = int(stream_id)
    LATENTS[owner] = dict(latents)
    problems = collisions()
    if problems:
        del PROGRAM_STREAMS[owner], LATENTS[owner]
        raise ValueError("; ".join(problems))


def seed_sequence(root_seed: int, replication: int, stream: str, *extra: int) -> np.random.SeedSequence:
    """SeedSequence for a named stream; ``extra`` keys give per-entity substreams."""
    return np.random.SeedSequence(
        int(root_seed), spawn_key=(int(replication), STREAMS[stream], *map(int, extra))
    )


def stream(root_seed: int, replication: int, name: str, *extra: int) -> np.random.Generator:
    """A fresh generator for the named stream."""
    return np.random.Generator(np.random.PCG64(seed_sequence(root_seed, replication, name, *extra)))


def program_stream(root_seed: int, replication: int, program_key: int, *extra: int) -> np.random.Generator:
    """Stream owned by a program; ``program_key`` is the program's stable id (:data:`PROGRAM_STREAMS`)."""
    return stream(root_seed, replication, "programs", program_key, *extra)


class ChunkedUniform:
    """Uniform(0,1) draws served one at a time from pre-drawn chunks."""

    __slots__ = ("_rng", "_buf", "_i", "_n")

    def __init__(self, rng: np.random.Generator, chunk: int = 4096):
        self._rng = rng
        self._n = chunk
        self._buf = rng.random(chunk).tolist()
        self._i = 0

    def __call__(self) -> float:
        i = self._i
        if i == self._n:
            self._buf = self._rng.random(self._n).tolist()
            i = 0
        self._i = i + 1
        return self._buf[i]


class ChunkedExponential:
    """Exponential(1) draws served one at a time from pre-drawn chunks."""

    __slots__ = ("_rng", "_buf", "_i", "_n")

    def __init__(self, rng: np.random.Generator, chunk: int = 4096):
        self._rng = rng
        self._n = chunk
        self._buf = rng.standard_exponential(chunk).tolist()
        self._i = 0

    def __call__(self) -> float:
        i = self._i
        if i == self._n:
            self._buf = self._rng.standard_exponential(self._n).tolist()
            i = 0
        self._i = i + 1
        return self._buf[i]
