"""The dashboard's HTTP API: binds 127.0.0.1 by default, validates input with the schema's messages, runs."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import pytest

from crisis_sim.cli import build_parser
from crisis_sim.dashboard import make_server
from crisis_sim.dashboard.app import REPO_SCENARIOS, RequestError, build_pair


@pytest.fixture(scope="module")
def server():
    srv = make_server(port=0, workers=1)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _get(url: str):
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.status, r.headers.get("Content-Type"), r.read()


def _post(url: str, body) -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url + "api/run", data, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def test_binds_loopback_by_default(server):
    assert server.server_address[0] == "127.0.0.1"
    args = build_parser().parse_args(["dashboard"])
    assert args.host == "127.0.0.1"
    args = build_parser().parse_args(["dashboard", "--seed", "3", "--days", "90"])  # like run and compare
    assert (args.seed, args.days) == (3, 90)


def test_page_has_no_external_assets(server):
    status, ctype, body = _get(server.url)
    assert status == 200 and ctype.startswith("text/html")
    text = body.decode()
    assert "http://" not in text and "https://" not in text and "//cdn" not in text


def test_scenarios_listed(server):
    _, _, body = _get(server.url + "api/scenarios")
    reply = json.loads(body)
    assert reply["defaults"] == {"seed": 0, "days": None}
    files = {s["file"]: s for s in reply["scenarios"]}
    assert "small_district.toml" in files
    assert files["small_district.toml"]["districts"][0]["patrol_units"]["day"] == 4


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"base": "small_district.toml", "staffing": {"city.districts.0.patrol_units.day": -1}},
         "city.districts.0.patrol_units.day: expected greater than or equal to 0, found -1"),
        ({"base": "nope.toml"}, "base: expected one of"),
        ({"base": "small_district.toml", "replications": 0}, "replications: expected 1 to 50, found 0"),
        ({"base": "small_district.toml", "programs": {"teleport": True}}, "programs: expected one of"),
        ({"base": "small_district.toml", "events": [{"kind": "cut_nurse", "month": 2}]}, "outreach"),
        ({"base": "small_district.toml", "days": 30, "events": [{"kind": "lose_patrol", "month": 3}]},
         "after the 30-day horizon"),
        (b"{not json", "expected JSON"),
    ],
)  # fmt: skip
def test_bad_input_is_400_with_a_message(server, body, message):
    status, reply = _post(server.url, body)
    assert status == 400
    assert message in reply["error"]
    assert "\n" not in reply["error"]


def test_build_pair_applies_changes():
    spec, meta = build_pair(
        {"base": "small_district.toml", "days": 60, "programs": {"mobile_crisis": True},
         "staffing": {"programs.mobile_crisis.teams": 3, "city.districts.1.patrol_units.night": 2},
         "events": [{"kind": "lose_patrol", "month": 1, "percent": 25}]},
        REPO_SCENARIOS,
    )  # fmt: skip
    base, alt = (e.scenario for e in spec.scenarios)
    assert base.programs.mobile_crisis is None and alt.programs.mobile_crisis.teams == 3
    assert alt.city.districts[1].patrol_units["night"] == 2
    assert alt.timeline[0].type == "vacancy" and alt.timeline[0].share == 0.25 and alt.timeline[0].day == 30
    assert base.simulation.horizon_days == alt.simulation.horizon_days == 60
    with pytest.raises(RequestError):
        build_pair({"base": "small_district.toml", "seed": -1}, REPO_SCENARIOS)


def test_a_run_completes(server):
    status, reply = _post(server.url, {"base": "small_district.toml", "replications": 2, "days": 40,
                                       "events": [{"kind": "lose_patrol", "month": 0.5, "percent": 30}]})  # fmt: skip
    assert status == 202 and reply["total"] == 4
    deadline = time.time() + 120
    while True:
        _, _, body = _get(server.url + f"api/jobs/{reply['id']}")
        job = json.loads(body)
        if job["state"] in ("done", "error") or time.time() > deadline:
            break
        time.sleep(0.3)
    assert job["state"] == "done", job["error"]
    assert job["done"] == job["total"] == 4
    result = job["result"]
    assert result["sentences"][0].startswith("What changed: On day 15")
    assert result["chart"].startswith("data:image/png;base64,")
    assert {row["metric"] for row in result["table"]} >= {"arrests", "total cost"}
