"""The encounter ledger: one row per call, built once at the end of a run from the model's records.

The model records, it does not aggregate; every metric is a pure function of these frames.
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from crisis_sim.model.crisis_line import CHANNELS
from crisis_sim.model.dispositions import DISPOSITION_LABELS
from crisis_sim.model.initiator import initiator_codes
from crisis_sim.scenario.channels import INITIATORS
from crisis_sim.scenario.schema import RISK_LEVELS

if TYPE_CHECKING:
    from crisis_sim.model.crisis_model import CoreModel as CrisisModel

DISPOSITION_CATEGORIES = [*DISPOSITION_LABELS, "non_mh_service", "open"]
LEDGER_COLUMNS = [
    "call_id", "mh", "resident", "crisis", "district", "t_received", "t_dispatched", "t_arrived", "t_cleared",
    "identified_mh", "risk", "assessed_risk", "weapon", "responder", "unit", "disposition", "force",
    "subject_injury", "officer_injury", "ed_wait_min", "officer_min", "referred", "connected", "admitted",
    "program", "eligible", "unserved_reason", "destination", "in_warmup",
]  # fmt: skip


_MH_FIELDS = (
    "call_id", "resident", "crisis", "district", "t_received", "t_dispatched", "t_arrived", "t_cleared",
    "identified", "risk", "assessed_risk", "weapon", "unit", "disposition", "force", "subject_injury",
    "officer_injury", "ed_wait", "officer_min", "referred", "admitted", "eligible",
)  # fmt: skip
_MH_DTYPES = (
    np.int64, np.int64, np.int64, np.int64, float, float, float, float,
    bool, np.int64, np.int64, bool, np.int64, np.int64, bool, bool,
    bool, float, float, bool, bool, bool,
)  # fmt: skip
_OPEN = DISPOSITION_CATEGORIES.index("open")
_NON_MH = DISPOSITION_CATEGORIES.index("non_mh_service")


def build_ledger(model: CrisisModel) -> pd.DataFrame:
    """All calls of a run, MH and other, sorted by call id; times in minutes from the start.

    Built column by column with numpy (one pass over the MH call objects, none over the non-MH calls, which the
    model already keeps as arrays); categorical columns are built from codes, never from per-row strings.
    """
    warm = model.cfg.simulation.warmup_days * 24 * 60
    mh = model.mh_calls
    n = len(mh)
    rows = list(map(operator.attrgetter(*_MH_FIELDS), mh))
    cols = list(zip(*rows, strict=True)) if n else [()] * len(_MH_FIELDS)
    m_ = {name: np.array(col, dtype=dt) for name, col, dt in zip(_MH_FIELDS, cols, _MH_DTYPES, strict=True)}
    connected = {(r.resident, r.crisis) for r in model.waitlist.referrals if r.attended}
    m_connected = np.fromiter(((c.resident, c.crisis) in connected for c in mh), bool, n)
    m_disp = np.where(np.isnan(m_["t_cleared"]), _OPEN, m_["disposition"])
    m_responder = [c.responder or "none" for c in mh]
    m_program = [c.program for c in mh]
    m_unserved = [c.unserved_reason for c in mh]
    m_destination = [c.destination for c in mh]

    o = model.other_call_columns()
    k = len(o["call_id"])
    o_open = np.isnan(o["t_cleared"])
    o_dispatched = ~np.isnan(o["t_dispatched"])

    def cat(a, b):
        return np.concatenate([a, b])

    call_id = cat(m_["call_id"], o["call_id"])
    order = np.argsort(call_id, kind="stable")
    N = n + k

    responders = sorted(set(m_responder) | ({"patrol"} if o_dispatched.any() else set()) |
                        ({"none"} if (~o_dispatched).any() else set()))  # fmt: skip
    r_index = {name: i for i, name in enumerate(responders)}
    resp_codes = cat(
        np.fromiter((r_index[x] for x in m_responder), np.int64, n),
        np.where(o_dispatched, r_index.get("patrol", -1), r_index.get("none", -1)),
    )
    program = np.full(N, "", dtype=object)
    program[:n] = m_program
    unserved = np.full(N, "", dtype=object)
    unserved[:n] = m_unserved

    t_received = cat(m_["t_received"], o["t_received"])[order]
    t_cleared_o = o["t_cleared"]
    data = {
        "call_id": call_id[order],
        "mh": cat(np.ones(n, bool), np.zeros(k, bool))[order],
        "resident": cat(m_["resident"], np.full(k, -1, np.int64))[order],
        "crisis": cat(m_["crisis"], np.full(k, -1, np.int64))[order],
        "district": pd.Categorical.from_codes(
            cat(m_["district"], o["district"])[order], [d.name for d in model.cfg.city.districts]
        ),
        "t_received": t_received,
        "t_dispatched": cat(m_["t_dispatched"], o["t_dispatched"])[order],
        "t_arrived": cat(m_["t_arrived"], o["t_arrived"])[order],
        "t_cleared": cat(m_["t_cleared"], t_cleared_o)[order],
        "identified_mh": cat(m_["identified"], np.zeros(k, bool))[order],
        "risk": pd.Categorical.from_codes(cat(m_["risk"], np.full(k, -1, np.int64))[order], RISK_LEVELS),
        "assessed_risk": pd.Categorical.from_codes(
            cat(m_["assessed_risk"], np.full(k, -1, np.int64))[order], RISK_LEVELS
        ),
        "weapon": cat(m_["weapon"], np.zeros(k, bool))[order],
        "responder": pd.Categorical.from_codes(resp_codes[order], responders),
        "unit": cat(m_["unit"], o["unit"])[order],
        "disposition": pd.Categorical.from_codes(
            cat(m_disp, np.where(o_open, _OPEN, _NON_MH))[order], DISPOSITION_CATEGORIES
        ),
        "force": cat(m_["force"], np.zeros(k, bool))[order],
        "subject_injury": cat(m_["subject_injury"], np.zeros(k, bool))[order],
        "officer_injury": cat(m_["officer_injury"], np.zeros(k, bool))[order],
        "ed_wait_min": cat(m_["ed_wait"], np.full(k, np.nan))[order],
        "officer_min": cat(
            m_["officer_min"],
            np.where(o_open, 0.0, (t_cleared_o - o["t_dispatched"]) * model.cfg.police.officers_per_unit),
        )[order],
        "referred": cat(m_["referred"], np.zeros(k, bool))[order],
        "connected": cat(m_connected, np.zeros(k, bool))[order],
        "admitted": cat(m_["admitted"], np.zeros(k, bool))[order],
        "program": program[order],
        "eligible": cat(m_["eligible"], np.zeros(k, bool))[order],
        "unserved_reason": unserved[order],
        "destination": pd.Categorical(np.array(m_destination + [""] * k, dtype=object)[order]),
        "in_warmup": t_received < warm,
    }
    columns = LEDGER_COLUMNS
    record = model.cfg.channels.record_initiator
    if getattr(model, "crisis_line", None) is not None or record.enabled:  # the way in of each call
        ch_index = {name: i for i, name in enumerate(CHANNELS)}
        codes = cat(np.fromiter((ch_index[c.channel] for c in mh), np.int64, n), np.zeros(k, np.int64))
        data["channel"] = pd.Categorical.from_codes(codes[order], list(CHANNELS))
        columns = [*LEDGER_COLUMNS, "channel"]
    if getattr(model, "scene_consult", None) is not None:  # [channels.scene_consult] on: officers phoned a clinician
        data["scene_consult"] = cat(np.fromiter((c.scene_consult for c in mh), bool, n), np.zeros(k, bool))[order]
        columns = [*columns, "scene_consult"]
    if record.enabled:  # [channels.record_initiator] on: who initiated each MH call ("" for other calls)
        codes = cat(initiator_codes(record, mh, len(model.residents), model.root_seed, model.replication),
                    np.full(k, len(INITIATORS), np.int64))  # fmt: skip
        data["initiator"] = pd.Categorical.from_codes(codes[order], [*INITIATORS, ""])
        columns = [*columns, "initiator"]
    for program in model.programs:  # columns a program adds while a switch of its is on (e.g. secondary_team)
        for name, ids in program.ledger_flags().items():
            data[name] = cat(np.fromiter((c.call_id in ids for c in mh), bool, n), np.zeros(k, bool))[order]
            columns = [*columns, name]
    return pd.DataFrame(data, columns=columns)


def build_referrals(model: CrisisModel) -> pd.DataFrame:
    """The waitlist's referrals: who waited how long, who attended; ``t_intake`` is NaN while still waiting."""
    refs = model.waitlist.referrals
    return pd.DataFrame(
        {
            "resident": [r.resident for r in refs],
            "crisis": [r.crisis for r in refs],
            "call_id": [r.call_id for r in refs],
            "t_referred": [r.t_referred for r in refs],
            "t_intake": [r.t_intake for r in refs],
            "priority": [r.priority for r in refs],
            "source": [r.source for r in refs],
            "attended": [r.attended for r in refs],
        }
    )
