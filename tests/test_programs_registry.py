"""The program registry: a program defined outside the package (here, in this file) is registered and run without
touching any file of the package; stream ids and latent columns come from one table that refuses collisions."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from crisis_sim import rng
from crisis_sim.programs import PROGRAMS, program_keys
from crisis_sim.scenario.programs_schema import SECTIONS

TOY = textwrap.dedent(
    '''
    import json, sys
    from typing import ClassVar

    from pydantic import Field

    from crisis_sim.programs import Program, program_keys, register_program
    from crisis_sim.scenario.loader import load_scenario, with_overrides
    from crisis_sim.scenario.params import Strict
    from crisis_sim.sim import simulate


    class ToyConfig(Strict):
        """A check-in line that flags a share of MH calls (it changes nothing else)."""

        key: ClassVar[str] = "toy"
        enabled: bool = True
        flag_share: float = Field(0.5, ge=0.0, le=1.0)


    class Toy(Program):
        key = "toy"
        label = "a toy check-in line"
        config_class = ToyConfig
        stream_key = 77
        latents = {"flag": 20}
        series_defaults = {"toy_flagged": 0}

        def __init__(self, config):
            super().__init__(config)
            self.seen = 0
            self.flagged = 0

        def triage(self, call):
            self.seen += 1
            if call.latents[self.latents["flag"]] < self.config.flag_share:
                self.flagged += 1
            return False

        def summary(self):
            return {"toy_seen": self.seen, "toy_flagged": self.flagged}


    register_program(Toy)
    assert program_keys()[-1] == "toy"
    base = with_overrides(load_scenario("small_district"), {"simulation.horizon_days": 40,
                          "simulation.warmup_days": 0}, label="<test>")
    toy = with_overrides(base, {"programs.toy": {"flag_share": 0.5}}, label="<test>")
    _, off = simulate(base, 0, 1)
    _, on = simulate(toy, 0, 1)
    try:
        with_overrides(base, {"programs.toy": {"flag_share": 2.0}}, label="<test>")
        bad = None
    except Exception as exc:
        bad = str(exc)
    print(json.dumps({
        "seen": on.summary["toy_seen"], "flagged": on.summary["toy_flagged"],
        "off_flagged": off.summary["toy_flagged"], "mh_calls": int(on.ledger["mh"].sum()),
        "same_ledger": bool(on.ledger.equals(off.ledger)), "bad": bad,
    }))
    '''
)


def test_a_program_defined_outside_the_package_registers_and_runs(tmp_path):
    script = tmp_path / "toy_program.py"
    script.write_text(TOY)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    import json

    got = json.loads(out.stdout.strip().splitlines()[-1])
    # Every MH call passed the toy's triage hook, about half were flagged by its own latent column, the run
    # without the section has the toy's series default, and the toy changed nothing else (same ledger).
    assert got["seen"] > 50
    assert 0.3 * got["seen"] < got["flagged"] < 0.7 * got["seen"]
    assert got["off_flagged"] == 0
    assert got["same_ledger"] is True
    assert got["bad"] and "programs.toy.flag_share" in got["bad"]


def test_the_registry_lists_every_shipped_program_once_with_its_facts():
    keys = program_keys()
    assert keys == ("triage", "mobile_crisis", "co_response", "cit", "outreach", "stabilization")
    assert set(keys) == set(SECTIONS)
    for cls in PROGRAMS:
        assert cls.config_class is SECTIONS[cls.key]
        assert cls.label and cls.label != "a program"
        assert rng.PROGRAM_STREAMS[cls.key] == cls.stream_key
        assert cls.latents == rng.LATENTS.get(cls.key, {})


def test_stream_ids_and_latent_columns_do_not_collide():
    assert rng.collisions() == []


def test_the_collision_check_finds_a_shared_column_and_a_shared_stream():
    with pytest.raises(ValueError, match="share column 24"):
        rng.reserve("clash", 90, {"x": 24})  # mobile_crisis.backup's column
    with pytest.raises(ValueError, match="share id 3"):
        rng.reserve("clash2", 3, {"y": 29})  # mobile_crisis's stream
    with pytest.raises(ValueError, match="outside"):
        rng.reserve("clash3", 91, {"z": rng.N_LATENTS})
    assert "clash" not in rng.LATENTS and "clash2" not in rng.PROGRAM_STREAMS  # refused: nothing changed
    assert rng.collisions() == []
