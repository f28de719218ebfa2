"""The dashboard's HTTP API: loopback only, answers only its own page (Host/Origin), JSON only with bounds on every
number, never hangs or dies on bad input, runs and cancels jobs. Real HTTP requests to a server on a free port."""

from __future__ import annotations

import http.client
import json
import multiprocessing as mp
import socket
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crisis_sim.cli import build_parser
from crisis_sim.cli.common import UsageError
from crisis_sim.dashboard import make_server
from crisis_sim.dashboard.app import (
    EVENT_FIELDS,
    EVENT_KINDS,
    GOAL_FIELDS,
    GOAL_METRICS,
    MAX_ACTIVE_JOBS,
    REPO_SCENARIOS,
    REQUEST_FIELDS,
    RequestError,
    build_pair,
)
from crisis_sim.dashboard.server import MAX_BODY, BadBody, parse_json_body

SMALL = "small_district.toml"
LONG_RUN = {"base": SMALL, "replications": 20, "days": 3650}  # minutes of work: long enough to cancel


@pytest.fixture(scope="module")
def server():
    srv = make_server(port=0, workers=1, request_timeout=2)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    for job_id in list(srv.app.jobs):
        srv.app.cancel(job_id)
    srv.shutdown()
    srv.server_close()


def _call(srv, method: str, path: str, body=None, headers: dict | None = None, json_body: bool = True):
    """One request on a fresh connection → (status, decoded JSON or text, headers)."""
    port = srv.server_address[1]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    hdrs = {}
    if body is not None:
        body = body if isinstance(body, bytes) else json.dumps(body).encode()
        if json_body:
            hdrs["Content-Type"] = "application/json"
    hdrs.update(headers or {})
    skip_host = "Host" in hdrs or hdrs.pop("_no_host", False)
    conn.putrequest(method, path, skip_host=skip_host, skip_accept_encoding=True)
    for k, v in hdrs.items():
        conn.putheader(k, v)
    if body is not None and "Content-Length" not in hdrs:
        conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    ctype = resp.headers.get("Content-Type", "")
    return resp.status, (json.loads(data) if ctype == "application/json" else data.decode()), resp.headers


def _raw(srv, data: bytes, timeout: float = 10) -> bytes:
    """Send raw bytes, return everything the server sends until it closes the connection."""
    with socket.create_connection(srv.server_address[:2], timeout=timeout) as sock:
        sock.sendall(data)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
        return out


def _wait(srv, job_id: str, until, timeout: float = 120) -> dict:
    deadline = time.time() + timeout
    while True:
        _, job, _ = _call(srv, "GET", f"/api/jobs/{job_id}")
        if until(job) or time.time() > deadline:
            return job
        time.sleep(0.2)


def _jobs(srv) -> int:
    return len(srv.app.jobs)


# --- loopback only -----------------------------------------------------------------------------------------
def test_binds_loopback_only(server):
    assert server.server_address[0] == "127.0.0.1"
    args = build_parser().parse_args(["dashboard"])
    assert args.host == "127.0.0.1"
    args = build_parser().parse_args(["dashboard", "--seed", "3", "--days", "90"])  # like run and compare
    assert (args.seed, args.days) == (3, 90)
    args = build_parser().parse_args(["dashboard", "--host", "0.0.0.0"])
    with pytest.raises(UsageError, match="127.0.0.1 only"):
        args.func(args)
    with pytest.raises(ValueError, match="127.0.0.1 only"):
        make_server("0.0.0.0", 0)


def test_page_has_no_external_assets(server):
    status, text, headers = _call(server, "GET", "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "http://" not in text and "https://" not in text and "//cdn" not in text
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_scenarios_listed(server):
    _, reply, _ = _call(server, "GET", "/api/scenarios")
    assert reply["defaults"] == {"seed": 0, "days": None}
    files = {s["file"]: s for s in reply["scenarios"]}
    assert SMALL in files
    assert files[SMALL]["districts"][0]["patrol_units"]["day"] == 4


# --- only its own page -------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE", "PUT", "OPTIONS", "BREW"])
@pytest.mark.parametrize("path", ["/", "/api/scenarios", "/api/run", "/api/jobs/1", "/elsewhere"])
@pytest.mark.parametrize("host", ["evil.example:{port}", "127.0.0.1:1", "127.0.0.1", "localhost.:{port}", None])
def test_a_foreign_host_is_refused_everywhere(server, method, path, host):
    """DNS rebinding: a page of evil.example that resolves to 127.0.0.1 sends Host: evil.example."""
    port = server.server_address[1]
    headers = {"Host": host.format(port=port)} if host else {"_no_host": True}
    before = _jobs(server)
    status, reply, _ = _call(server, method, path, {"base": SMALL, "days": 30}, headers)
    assert status == 403
    assert reply["error"].startswith("refused: this dashboard answers only requests addressed to http://127.0.0.1")
    assert _jobs(server) == before


@pytest.mark.parametrize(
    "origin",
    ["http://evil.example", "null", "http://127.0.0.1:1", "https://127.0.0.1:{port}", "http://localhost.evil:{port}",
     "http://127.0.0.1:{port}.evil.example"],
)  # fmt: skip
@pytest.mark.parametrize(("method", "path"), [("POST", "/api/run"), ("DELETE", "/api/jobs/1"), ("GET", "/")])
def test_a_foreign_origin_is_refused_and_starts_nothing(server, origin, method, path):
    port = server.server_address[1]
    before = _jobs(server)
    status, reply, _ = _call(server, method, path, {"base": SMALL, "days": 30}, {"Origin": origin.format(port=port)})
    assert status == 403 and "another web page" in reply["error"]
    assert _jobs(server) == before


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_a_cross_site_fetch_is_refused(server, method):
    path = "/api/run" if method == "POST" else "/api/jobs/1"
    before = _jobs(server)
    status, reply, _ = _call(server, method, path, {"base": SMALL, "days": 30}, {"Sec-Fetch-Site": "cross-site"})
    assert status == 403 and "cross-site" in reply["error"]
    assert _jobs(server) == before


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "LOCALHOST", "[::1]"])
def test_the_loopback_names_are_accepted(server, name):
    port = server.server_address[1]
    status, _, _ = _call(server, "GET", "/", headers={"Host": f"{name}:{port}"})
    assert status == 200
    origin = f"http://{name.lower()}:{port}"
    status, reply, _ = _call(server, "POST", "/api/run", {"base": "nope"}, {"Host": f"{name}:{port}", "Origin": origin,
                                                                            "Sec-Fetch-Site": "same-origin"})  # fmt: skip
    assert status == 400 and reply["error"].startswith("base: expected one of")


# --- JSON only, strict ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("ctype", [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                                   "application/json; charset=latin-1"])  # fmt: skip
def test_a_body_that_is_not_json_is_refused(server, ctype):
    headers = {"Content-Type": ctype} if ctype else {}
    before = _jobs(server)
    status, reply, _ = _call(server, "POST", "/api/run", {"base": SMALL, "days": 30}, headers, json_body=False)
    assert status == 415 and reply["error"].startswith("expected")
    assert _jobs(server) == before


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"base": "small_district.toml", "replications": NaN}', "found NaN"),
        (b'{"base": "small_district.toml", "days": Infinity}', "found Infinity"),
        (b'{"base": "small_district.toml", "seed": -Infinity}', "found -Infinity"),
        (b'{"base": "small_district.toml", "replications": 1' + b"0" * 5000 + b"}", "thousands of digits"),
        (b"[" * 20_000 + b"]" * 20_000, "nested too deep"),
        (b"{not json", "expected JSON, found a syntax error"),
        ('{"base": "é"}'.encode("latin-1"), "not UTF-8"),
        (b"", "found an empty one"),
    ],
)
def test_json_is_strict(server, body, message):
    status, reply, _ = _call(server, "POST", "/api/run", body)
    assert status == 400
    assert message in reply["error"] and "\n" not in reply["error"] and "Traceback" not in reply["error"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"base": SMALL, "staffing": {"city.districts.0.patrol_units.day": 1_000_000_000}},
         "north, day shift patrol units: a whole number from 0 to 200, found 1000000000"),
        ({"base": SMALL, "staffing": {"city.districts.0.patrol_units.day": -1}},
         "north, day shift patrol units: a whole number from 0 to 200, found -1"),
        ({"base": SMALL, "staffing": {"city.districts.1.patrol_units.night": 2.5}},
         "south, night shift patrol units: a whole number from 0 to 200, found 2.5"),
        ({"base": SMALL, "staffing": {"city.districts.0.patrol_units.day": True}},
         "north, day shift patrol units: a whole number from 0 to 200, found True"),
        ({"base": SMALL, "staffing": {"city.districts.0.patrol_units.day": "4"}},
         "north, day shift patrol units: a whole number from 0 to 200, found '4'"),
        ({"base": SMALL, "staffing": {"city.districts.9.patrol_units.day": 4}}, "staffing: expected the patrol units"),
        ({"base": SMALL, "staffing": {"programs.mobile_crisis.hours": 4}}, "staffing: expected the patrol units"),
        ({"base": SMALL, "staffing": {"programs.mobile_crisis.teams": 101}},
         "mobile crisis teams: a whole number from 1 to 100, found 101"),
        ({"base": SMALL, "staffing": {"programs.outreach.nurse_fte": 6}},
         "outreach nurse FTE: a number from 0.1 to 5, found 6"),
        ({"base": SMALL, "staffing": {"programs.stabilization.beds": 1001}},
         "stabilisation beds: a whole number from 1 to 1,000, found 1001"),
        ({"base": SMALL, "staffing": {"programs.cit.trained_share": 1.5}},
         "share of patrol officers CIT-trained (0-1): a number from 0 to 1, found 1.5"),
        ({"base": "nope.toml"}, "base: expected one of"),
        ({"base": ["x"]}, "base: expected one of"),
        ({"base": SMALL, "replications": 0}, "replications: a whole number from 1 to 50, found 0"),
        ({"base": SMALL, "replications": 51}, "replications: a whole number from 1 to 50, found 51"),
        ({"base": SMALL, "replications": True}, "replications: a whole number from 1 to 50, found True"),
        ({"base": SMALL, "replications": 1e300}, "replications: a whole number from 1 to 50, found 1e+300"),
        ({"base": SMALL, "days": 3651}, "days: a whole number from 1 to 3,650, found 3651"),
        ({"base": SMALL, "seed": 2**31}, "seed: a whole number from 0 to 2,147,483,647, found 2147483648"),
        ({"base": SMALL, "replications": 21, "days": 3650}, "replications × days: at most 73,000"),
        ({"base": SMALL, "replications": 50, "days": 2000}, "found 50 × 2,000 = 100,000"),
        ({"base": SMALL, "programs": {"teleport": True}}, "programs: expected one of"),
        ({"base": SMALL, "programs": {"cit": 1}}, "programs, Crisis Intervention Team (CIT) training for patrol officers: expected true or false, found 1"),
        ({"base": SMALL, "colour": "red"}, "request: unknown field 'colour'"),
        ({"base": SMALL, "events": [{"kind": "cut_nurse", "month": 2}]}, "outreach"),
        ({"base": SMALL, "events": [{"kind": "lose_patrol"}]},
         "patrol posts stand vacant, month: a whole number from 1 to 11; the field is blank (a blank is not 0"),
        ({"base": SMALL, "events": [{"kind": "lose_patrol", "month": ""}]}, "the field is blank (a blank is not 0"),
        ({"base": SMALL, "staffing": {"city.districts.0.patrol_units.day": ""}},
         "north, day shift patrol units: a whole number from 0 to 200; the field is blank"),
        ({"base": SMALL, "events": [{"kind": "champion_retires", "month": 2}]}, "needs proactive outreach (nurse-led, with community-relations officers), which this scenario does not run"),
        ({"base": SMALL, "events": [{"kind": "lose_patrol", "month": 1201}]}, "month: a whole number from 1 to 11, found 1201"),
        ({"base": SMALL, "events": [{"kind": "lose_patrol", "month": 1, "percent": 101}]},
         "share of posts (%): a number from 1 to 100, found 101"),
        ({"base": SMALL, "events": [{"kind": "lose_patrol", "month": 1, "district": "mars"}]},
         "district: all or one of north, south, found 'mars'"),
        ({"base": SMALL, "events": [{"kind": "grant_ends", "month": 1}]}, "this scenario runs no program a grant"),
        ({"base": "outreach_echinops.toml",
          "events": [{"kind": "grant_ends", "month": 1, "program": "cit"}]}, "program: one of the programs"),
        ({"base": SMALL, "events": [{"kind": "lose_patrol", "month": 1}] * 21}, "events: at most 20, found 21"),
        ({"base": SMALL, "events": [{"kind": "lose_patrol", "month": 1, "when": 3}]}, "unknown field 'when'"),
        ({"base": SMALL, "days": 60, "events": [{"kind": "lose_patrol", "month": 3}]}, "month: a whole number from 1 to 1, found 3"),
        ({"base": SMALL, "years": 0.1}, "years to simulate: a number from 0.25 to 10, found 0.1"),
        ({"base": SMALL, "years": 1, "days": 60}, "give either years or days, not both"),
        ({"base": SMALL, "staffing": {"city.districts.0.patrol_units.day": 0,
                                      "city.districts.0.patrol_units.evening": 0,
                                      "city.districts.0.patrol_units.night": 0}}, "at least one unit"),
        ({"base": SMALL, "events": [{"kind": "demand_surge", "month": 2, "percent": 0}]},
         "mental-health calls surge, more calls (%): a number from 1 to 100, found 0"),
        ({"base": SMALL, "events": [{"kind": "demand_surge", "month": 2, "district": "mars"}]},
         "mental-health calls surge, district: all or one of north, south, found 'mars'"),
        ({"base": SMALL, "events": [{"kind": "turnover", "month": 2, "percent": 150}]},
         "officers leaving each year (%): a number from 1 to 100, found 150"),
        ({"base": SMALL, "events": [{"kind": "turnover", "month": 2, "hiring_months": 25}]},
         "months to hire a replacement: a whole number from 0 to 24, found 25"),
        ({"base": SMALL, "events": [{"kind": "ed_boarding", "month": 2, "percent": 5}]},
         "how much longer (%): a number from 10 to 200, found 5"),
        ({"base": SMALL, "events": [{"kind": "consent_change", "month": 2, "consent_percent": 20}]},
         "outreach consent changes (the signed form): needs proactive outreach"),
        ({"base": "outreach_echinops.toml", "events": [{"kind": "consent_change", "month": 2}]},
         "give the new share who consent (%) or the days the signed form takes, or both (both fields are blank)"),
        ({"base": "outreach_echinops.toml", "events": [{"kind": "consent_change", "month": 2, "consent_percent": 100}]},
         "people who consent at average trust (%): a number from 1 to 99, found 100"),
        ({"base": SMALL, "events": [{"kind": "launch_program", "month": 2, "program": "cit"}]},
         "a program starts later (launch), program: one of co-response"),
        ({"base": SMALL, "events": [{"kind": "launch_program", "month": 2, "program": "co_response",
                                     "ramp_months": 3}]},
         "months until dispatch sends every eligible call: only the mobile crisis team has a ramp-up; leave it "
         "blank for co-response"),
        ({"base": SMALL, "events": [{"kind": "launch_program", "month": 2, "ramp_months": 13}]},
         "months until dispatch sends every eligible call: a whole number from 0 to 12, found 13"),
        ({"base": SMALL, "events": [{"kind": "launch_program", "month": 2, "ramp_months": 3,
                                     "program": "mobile_crisis",
                                     "ramp_start_percent": 10}]},
         "share of eligible calls sent in the first days (%): a number from 20 to 100, found 10"),
        ({"base": SMALL, "events": [{"kind": "expand_program", "month": 2, "district": "north"}]},
         "first add 'a program starts later (launch)'"),
        ({"base": SMALL, "events": [{"kind": "launch_program", "month": 4, "program": "mobile_crisis",
                                     "district": "north"},
                                    {"kind": "expand_program", "month": 2, "district": "south"}]},
         "month: on or after the launch of the mobile crisis team (month 4), found 2"),
        ({"base": "mobile_crisis_launch.toml", "events": [{"kind": "expand_program", "month": 8}]},
         "a launched program reaches another district, district: one of north, south, found None"),
        ({"base": "nurse_post_cut.toml", "events": [{"kind": "cut_nurse", "month": 2}]},
         "already part of this scenario"),
        # the base's own launch comes first in the run's timeline: the schema's message names the change itself
        ({"base": "mobile_crisis_launch.toml", "events": [{"kind": "expand_program", "month": 3, "district": "south"}]},
         "'the mobile crisis team starts working in south in month 3' to be on or after the launch"),
        ({"base": SMALL, "without_builtin": True}, "this scenario has none"),
        ({"base": SMALL, "without_builtin": "yes"}, "without_builtin: expected true or false, found 'yes'"),
        ({"base": SMALL, "psa_draws": 7}, "draws of what we don't know: a whole number from 8 to 32, found 7"),
        ({"base": SMALL, "psa_draws": 33}, "draws of what we don't know: a whole number from 8 to 32, found 33"),
        ({"base": SMALL, "psa_draws": "8"}, "draws of what we don't know: a whole number from 8 to 32, found '8'"),
        ({"base": SMALL, "psa_draws": 32, "replications": 10, "days": 3600},
         "draws × replications × days at most 292,000"),
        ({"base": SMALL, "goals": [{"metric": "arrests", "change_percent": -10}]},
         "goal 1 (arrests), by month: a whole number from 1 to 1,200; the field is blank"),
        ({"base": SMALL, "goals": [{"metric": "x", "change_percent": -10, "by_month": 3}]}, "goal 1, outcome: one of"),
        ({"base": SMALL, "goals": [{"metric": "arrests", "at_most": 3, "by_month": 3}]},
         "goal 1 (arrests): a goal on this outcome is a change in % against the baseline"),
        ({"base": SMALL, "goals": [{"metric": "specialized_coverage", "change_percent": 10, "by_month": 3}]},
         "a goal on this outcome is a level (at least / at most)"),
        ({"base": SMALL, "goals": [{"metric": "specialized_coverage", "at_least": 180, "by_month": 3}]},
         "at least (%): a number from 0 to 100, found 180"),
        ({"base": SMALL, "goals": [{"metric": "arrests", "change_percent": -10, "at_most": 3, "by_month": 3}]},
         "give one target (a change in % or a level), found change_percent and at_most"),
        ({"base": SMALL, "goals": [{"metric": "arrests", "change_percent": -200, "by_month": 3}]},
         "change against the baseline (%): a number from -100 to 1,000, found -200"),
        ({"base": SMALL, "years": 1, "goals": [{"metric": "arrests", "change_percent": -10, "by_month": 13}]},
         "by month 13 is after the run ends (month 12)"),
        ({"base": SMALL, "goals": [{"metric": "arrests", "change_percent": -10, "by_month": 3}] * 6},
         "goals: at most 5, found 6"),
        ({"base": SMALL, "goals": [{"metric": "arrests", "change_percent": -10, "by_month": 3, "why": 1}]},
         "goal 1: unknown field 'why'"),
        ([1, 2], "expected a JSON object"),
        ("x" * 10_000, "found 'xxxx"),
    ],
)  # fmt: skip
def test_bad_input_is_400_with_one_sentence(server, body, message):
    before = _jobs(server)
    status, reply, _ = _call(server, "POST", "/api/run", body)
    assert status == 400
    assert message in reply["error"]
    assert "\n" not in reply["error"] and len(reply["error"]) < 600
    assert _jobs(server) == before


# --- the connection: sizes, lengths, garbage, silence ------------------------------------------------------
def _post_head(srv, extra: bytes) -> bytes:
    port = srv.server_address[1]
    return b"POST /api/run HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n%s\r\n" % (port, extra)


def test_a_huge_content_length_is_refused_without_reading(server):
    start = time.time()
    reply = _raw(server, _post_head(server, b"Content-Length: 99999999999\r\n"))  # no body follows
    assert reply.startswith(b"HTTP/1.1 413 ") and b"at most 65,536 bytes" in reply
    assert time.time() - start < 1.5  # answered at once, not after the 2 s read timeout
    reply = _raw(server, _post_head(server, b"Content-Length: %d\r\n" % (MAX_BODY + 1)) + b"x" * 1000)
    assert reply.startswith(b"HTTP/1.1 413 ")


@pytest.mark.parametrize(
    ("extra", "status"),
    [(b"", 411), (b"Content-Length: abc\r\n", 400), (b"Content-Length: -5\r\n", 400),
     (b"Content-Length: 5\r\nContent-Length: 6\r\n", 400), (b"Transfer-Encoding: chunked\r\n", 411)],
)  # fmt: skip
def test_a_missing_or_bad_content_length_is_refused(server, extra, status):
    reply = _raw(server, _post_head(server, extra) + b'{"base": 1}')
    assert reply.startswith(b"HTTP/1.1 %d " % status)
    assert b'{"error": "' in reply


@pytest.mark.parametrize(
    "garbage",
    [b"\x00\xff\xfe garbage\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n",
     b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n", b"GET / HTTP/1.1\r\nBad header line\r\n\r\n", b"\r\n\r\n"],
)  # fmt: skip
def test_garbage_never_kills_the_server(server, garbage):
    reply = _raw(server, garbage)
    assert b"Traceback" not in reply
    status, _, _ = _call(server, "GET", "/api/scenarios")
    assert status == 200


def test_a_silent_or_short_request_is_dropped_after_the_timeout(server):
    start = time.time()
    assert _raw(server, b"GET / HTT", timeout=10) == b""  # an unfinished request line
    reply = _raw(server, _post_head(server, b"Content-Length: 100\r\n") + b'{"base"', timeout=10)  # short body
    assert reply == b"" or b"HTTP/1.1 400" in reply
    assert time.time() - start < 8  # two 2 s timeouts, not forever
    assert _call(server, "GET", "/api/scenarios")[0] == 200


# --- the validator, fuzzed ---------------------------------------------------------------------------------
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
NUMBERS = st.integers() | st.floats() | st.booleans() | st.none() | st.text(max_size=5) | JSON
STAFF_PATHS = st.sampled_from(["city.districts.0.patrol_units.day", "city.districts.1.patrol_units.night",
                               "city.districts.2.patrol_units.day", "programs.mobile_crisis.teams",
                               "programs.outreach.nurse_fte", "programs.stabilization.beds",
                               "programs.cit.trained_share", "programs.cit", "programs.cit.enabled"]) | st.text(max_size=30)  # fmt: skip
EVENTS = st.lists(
    st.fixed_dictionaries({"kind": st.sampled_from(list(EVENT_KINDS)) | NUMBERS},
                          optional={k: NUMBERS | st.sampled_from(["north", "south", "mobile_crisis", "outreach"])
                                    for k in EVENT_FIELDS[1:]}) | JSON,
    max_size=3,
)  # fmt: skip
REQUESTS = st.fixed_dictionaries(
    {"base": st.sampled_from([SMALL, "baseline_midsize_city.toml", "outreach_echinops.toml", "nurse_post_cut.toml",
                              "mobile_crisis_launch.toml"]) | JSON},
    optional={
        "replications": NUMBERS, "days": NUMBERS, "seed": NUMBERS,
        "programs": st.dictionaries(st.sampled_from(["cit", "mobile_crisis", "outreach", "stabilization", "x"]),
                                    NUMBERS, max_size=3) | JSON,
        "staffing": st.dictionaries(STAFF_PATHS, NUMBERS, max_size=3) | JSON,
        "events": EVENTS | JSON,
        "without_builtin": st.booleans() | JSON,
        "psa_draws": NUMBERS | st.sampled_from([8, 9]),
        "goals": st.lists(st.fixed_dictionaries({"metric": st.sampled_from(list(GOAL_METRICS)) | JSON},
                                                optional={k: NUMBERS for k in GOAL_FIELDS[1:]}), max_size=3) | JSON,
    },
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(req=REQUESTS | JSON | st.dictionaries(st.sampled_from(REQUEST_FIELDS) | st.text(max_size=8), JSON))
def test_the_validator_accepts_or_raises_request_error(req):
    try:
        build_pair(req, REPO_SCENARIOS)
    except RequestError as exc:
        assert str(exc) and "\n" not in str(exc)


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=200) | JSON.map(lambda v: json.dumps(v).encode()),
       ctype=st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain"]))  # fmt: skip
def test_the_body_parser_accepts_or_raises_bad_body(body, ctype):
    import email.message

    headers = email.message.Message()
    headers["Content-Type"] = ctype
    headers["Content-Length"] = str(len(body))
    try:
        parse_json_body(headers, lambda n: body[:n])
    except BadBody as exc:
        assert exc.status in (400, 411, 413, 415) and "\n" not in str(exc)


# --- jobs: run, cancel, at most N ---------------------------------------------------------------------------
def test_build_pair_applies_changes():
    spec, meta = build_pair(
        {"base": SMALL, "days": 60, "programs": {"mobile_crisis": True},
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
        build_pair({"base": SMALL, "seed": -1}, REPO_SCENARIOS)



def test_a_cut_nurse_post_can_be_restored_after_some_months():
    req = {"base": "outreach_echinops.toml", "years": 1,
           "events": [{"kind": "cut_nurse", "month": 3, "restore_months": 4}]}  # fmt: skip
    spec, meta = build_pair(req, REPO_SCENARIOS)
    alt = spec.scenarios[1].scenario
    cut, back = (e for e in alt.timeline if e.type in ("cut_post", "restore_post"))
    assert (cut.type, back.type, back.role, back.program) == ("cut_post", "restore_post", "nurse", "outreach")
    assert back.day - cut.day == 4 * alt.simulation.month_days
    assert "restored 4 months later" in meta["events"][0]["label"]
    for_good = build_pair({**req, "events": [{"kind": "cut_nurse", "month": 3, "restore_months": ""}]},
                          REPO_SCENARIOS)[0].scenarios[1].scenario  # fmt: skip
    assert [e.type for e in for_good.timeline if e.type in ("cut_post", "restore_post")] == ["cut_post"]
    with pytest.raises(RequestError, match="restored after"):
        build_pair({**req, "events": [{"kind": "cut_nurse", "month": 3, "restore_months": 0}]}, REPO_SCENARIOS)

def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def test_a_running_job_can_be_cancelled(server):
    before = {p.pid for p in mp.active_children()}
    status, reply, _ = _call(server, "POST", "/api/run", LONG_RUN)
    assert status == 202 and reply["total"] == 40
    job_id = reply["id"]
    job = _wait(server, job_id, lambda j: j["state"] == "running", timeout=30)
    assert job["state"] == "running"
    deadline = time.time() + 30
    while not (workers := {p.pid for p in mp.active_children()} - before) and time.time() < deadline:
        time.sleep(0.1)
    assert workers, "the job's pool started no worker process"
    time.sleep(1.0)
    status, reply, _ = _call(server, "DELETE", f"/api/jobs/{job_id}")
    assert (status, reply["state"]) == (200, "cancelled")
    _, job, _ = _call(server, "GET", f"/api/jobs/{job_id}")
    assert job["state"] == "cancelled" and job["result"] is None and job["done"] < job["total"]
    deadline = time.time() + 10
    while any(_alive(pid) for pid in workers) and time.time() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers), "worker processes still running after the cancel"
    assert _call(server, "DELETE", f"/api/jobs/{job_id}")[:2] == (200, {"id": job_id, "state": "cancelled"})
    assert _call(server, "DELETE", "/api/jobs/999999")[0] == 404
    assert _call(server, "GET", "/api/jobs/999999")[0] == 404


def test_at_most_n_jobs_at_once(server):
    ids = []
    for _ in range(MAX_ACTIVE_JOBS):
        status, reply, _ = _call(server, "POST", "/api/run", LONG_RUN)
        assert status == 202
        ids.append(reply["id"])
    before = _jobs(server)
    status, reply, _ = _call(server, "POST", "/api/run", LONG_RUN)
    assert status == 429 and f"at most {MAX_ACTIVE_JOBS} at once" in reply["error"]
    assert _jobs(server) == before
    for job_id in reversed(ids):  # the queued one first, then the running one
        status, reply, _ = _call(server, "DELETE", f"/api/jobs/{job_id}")
        assert (status, reply["state"]) == (200, "cancelled")
    for job_id in ids:
        assert _call(server, "GET", f"/api/jobs/{job_id}")[1]["state"] == "cancelled"


def test_a_run_completes(server):
    status, reply, _ = _call(server, "POST", "/api/run",
                             {"base": SMALL, "replications": 2, "days": 90,
                              "events": [{"kind": "lose_patrol", "month": 1, "percent": 30, "duration_months": 1}]})
    assert status == 202 and reply["total"] == 4
    job = _wait(server, reply["id"], lambda j: j["state"] in ("done", "error", "cancelled"))
    assert job["state"] == "done", job["error"]
    assert job["done"] == job["total"] == 4
    result = job["result"]
    assert result["headline"].startswith("If 30% of patrol posts in every district stand vacant from month 1 for 1")
    assert "over the 0.25-year run" in result["headline"] and "$" in result["headline"]
    assert result["charts"] == ["median_response_mh_min", "p90_response_mh_min", "median_response_other_min",
                                "p90_response_other_min", "patrol_on_duty", "open_calls"]  # fmt: skip
    kinds = {c["metric"]: c["kind"] for c in result["chart_details"]}
    assert kinds["median_response_mh_min"] == kinds["p90_response_other_min"] == "monthly"  # month by month
    assert [c["metric"] for c in result["chart_details"]] == result["charts"]
    monthly = [c for c in result["chart_details"] if c["kind"] == "monthly"]
    assert monthly and all(c["png"].startswith("data:image/png;base64,") for c in monthly)
    assert all(r["month"] > result["warmup_months"] for c in monthly for r in c["rows"])  # warm-up left out
    assert result["csv"].splitlines()[0].startswith("metric,outcome,unit,month,baseline_mean")
    assert {row["metric"] for row in result["table"]} >= {"arrests", "cost_total"}
    assert all(row["verdict"] in ("better", "worse", "unclear") for row in result["table"])
    status, reply, _ = _call(server, "DELETE", f"/api/jobs/{reply['id']}")
    assert status == 409 and reply["state"] == "done" and "already finished" in reply["error"]


def test_built_in_events_read_in_plain_words():
    from crisis_sim.dashboard.app import REPO_SCENARIOS, plain_sentence, scenario_info

    text = " ".join(scenario_info(REPO_SCENARIOS / "champion_retires.toml")["timeline"])
    assert "about month 18 of the run" in text and "community-relations officer" in text
    assert "crpo" not in text.lower() and "[echinops_study]" not in text and "18.1667" not in text
    assert plain_sentence("the crpo leaves in month 2.5 of the run ([x_y])") == (
        "the community-relations officer leaves in about month 2 of the run")


# --- every timeline event, goals, what we don't know (issue 14 item 2, issue 12 item 7) ---------------------------
OUTREACH = "outreach_echinops.toml"


@pytest.mark.parametrize(
    ("base", "event", "expected", "charted"),
    [
        (OUTREACH, {"kind": "consent_change", "month": 3, "consent_percent": 20, "consent_delay_days": 30},
         [{"type": "consent_change", "day": 90, "consent_at_mean_trust": 0.2, "consent_delay_days": 30.0}],
         "outreach_consents"),
        (SMALL, {"kind": "demand_surge", "month": 3, "percent": 30, "district": "north", "duration_months": 2},
         [{"type": "demand_surge", "day": 90, "factor": 1.3, "district": "north"},
          {"type": "demand_surge", "day": 150, "factor": 1.0, "district": "north"}], "mh_calls"),
        (SMALL, {"kind": "turnover", "month": 3, "percent": 20, "hiring_months": 2},
         [{"type": "turnover", "day": 90, "role": "patrol", "annual_rate": 0.2, "hiring_lag_days": 60.0}],
         "patrol_on_duty"),
        (SMALL, {"kind": "ed_boarding", "month": 3, "percent": 50},
         [{"type": "ed_boarding", "day": 90, "factor": 1.5}], "ed_wait_hours"),
        (SMALL, {"kind": "launch_program", "month": 3, "program": "mobile_crisis", "district": "north",
                 "ramp_months": 4, "ramp_start_percent": 40},
         [{"type": "launch_program", "day": 90, "program": "mobile_crisis", "districts": ["north"],
           "ramp_months": 4.0, "ramp_start_share": 0.4}], "mobile_crisis_calls"),
        ("mobile_crisis_launch.toml", {"kind": "expand_program", "month": 8, "district": "south"},
         [{"type": "expand_program", "day": 240, "program": "mobile_crisis", "districts": ["south"]}],
         "mobile_crisis_calls"),
    ],
)  # fmt: skip
def test_every_timeline_event_builds_its_schema_event(base, event, expected, charted):
    from crisis_sim.dashboard.app import chosen_outcomes

    spec, meta = build_pair({"base": base, "years": 1, "events": [event]}, REPO_SCENARIOS)
    added = [e.model_dump() for e in spec.scenarios[1].scenario.timeline][-len(expected):]
    for got, want in zip(added, expected, strict=True):
        assert {k: got[k] for k in want} == want
    assert all(label and "_" not in label for label in meta["event_sentences"])  # plain words, no keys
    assert charted in chosen_outcomes(meta)
    assert spec.scenarios[0].scenario.timeline == load_base(base).timeline  # the baseline is the base


def load_base(name):
    from crisis_sim.scenario import load_scenario

    return load_scenario(REPO_SCENARIOS / name)


def test_a_launch_switches_an_absent_program_on_from_its_month():
    spec, meta = build_pair({"base": SMALL, "years": 1, "events": [
        {"kind": "launch_program", "month": 3, "program": "mobile_crisis", "district": "north"},
        {"kind": "expand_program", "month": 6, "program": "mobile_crisis", "district": "south"}]}, REPO_SCENARIOS)  # fmt: skip
    base, alt = (e.scenario for e in spec.scenarios)
    assert base.programs.mobile_crisis is None and alt.programs.mobile_crisis is not None
    assert [e.type for e in alt.timeline][-2:] == ["launch_program", "expand_program"]
    assert meta["event_sentences"][0] == "the mobile crisis team starts in month 3 in north only"


def test_events_offered_follow_the_base():
    from crisis_sim.dashboard.app import scenario_info

    small = scenario_info(REPO_SCENARIOS / SMALL)
    assert small["events"]["consent_change"]["not_applicable"]
    assert not small["events"]["demand_surge"]["not_applicable"] and not small["events"]["turnover"]["not_applicable"]
    assert set(small["launchable"]) == {"co_response", "mobile_crisis", "triage"} and not small["launched"]
    assert not scenario_info(REPO_SCENARIOS / OUTREACH)["events"]["consent_change"]["not_applicable"]
    launch = scenario_info(REPO_SCENARIOS / "mobile_crisis_launch.toml")
    assert "mobile_crisis" not in launch["launchable"] and set(launch["launched"]) == {"mobile_crisis"}
    assert launch["own_events"] and "mobile_crisis" not in " ".join(launch["own_events"])
    cut = scenario_info(REPO_SCENARIOS / "nurse_post_cut.toml")
    assert "already part of this scenario" in cut["events"]["cut_nurse"]["not_applicable"]


def test_a_base_with_its_own_event_is_compared_without_it():
    """nurse_post_cut's own cut ran on both sides ("no change"); without_builtin runs the baseline without it."""
    from crisis_sim.dashboard.app import chosen_outcomes

    spec, meta = build_pair({"base": "nurse_post_cut.toml", "without_builtin": True}, REPO_SCENARIOS)
    base, alt = (e.scenario for e in spec.scenarios)
    assert [e.type for e in base.timeline] == [] and [e.type for e in alt.timeline] == ["cut_post"]
    assert meta["builtin"] and "outreach_consents" in chosen_outcomes(meta)
    spec, meta = build_pair({"base": "nurse_post_cut.toml"}, REPO_SCENARIOS)
    assert [e.type for e in spec.scenarios[0].scenario.timeline] == ["cut_post"] and meta["base_events"]


def test_goals_are_report_goals():
    from crisis_sim.dashboard.app import parse_request_goals
    from crisis_sim.report.goals import Goal

    goals = parse_request_goals([{"metric": "arrests", "change_percent": -10, "by_month": 12},
                                 {"metric": "specialized_coverage", "at_least": 80, "by_month": 6},
                                 {"metric": "median_response_mh_min", "at_most": 15, "by_month": 6}])  # fmt: skip
    src = "the dashboard"
    assert goals == [Goal("arrests", change=-0.1, by_month=12, source=src),
                     Goal("specialized_coverage", at_least=0.8, by_month=6, source=src),
                     Goal("median_response_mh_min", at_most=15.0, by_month=6, source=src)]  # fmt: skip


def test_nothing_changed_says_so(server):
    status, reply, _ = _call(server, "POST", "/api/run", {"base": SMALL, "replications": 1, "days": 60})
    assert status == 202
    job = _wait(server, reply["id"], lambda j: j["state"] in ("done", "error", "cancelled"), timeout=300)
    assert job["state"] == "done", job["error"]
    assert job["result"]["headline"].startswith("Nothing changed: both sides run the same scenario")


def test_a_run_with_goals_and_what_we_dont_know_completes(server):
    req = {"base": SMALL, "replications": 1, "days": 90, "psa_draws": 8,
           "events": [{"kind": "lose_patrol", "month": 1, "percent": 40}],
           "goals": [{"metric": "median_response_mh_min", "at_most": 12, "by_month": 3},
                     {"metric": "arrests", "change_percent": -10, "by_month": 3}]}  # fmt: skip
    status, reply, _ = _call(server, "POST", "/api/run", req)
    assert status == 202 and reply["total"] == (2 + 2 * 8) * 1  # the pair at its point values, then the draws
    job = _wait(server, reply["id"], lambda j: j["state"] in ("done", "error", "cancelled"), timeout=300)
    assert job["state"] == "done", job["error"]
    result = job["result"]
    psa = result["psa"]
    assert psa["draws"] == 8 and psa["replications"] == 1 and psa["inputs_varied"]
    rows = {r["metric"]: r for r in psa["metrics"]}
    response = rows["window:median_response_mh_min"]  # the charted monthly outcome, over what we don't know too
    assert response["low"] <= response["diff_median"] <= response["high"]
    assert response["p_better"] + response["p_worse"] <= 1 and response["p_worse"] > 0.5  # fewer patrols: slower
    assert any(s.startswith("Including what we don't know (8 draws") for s in result["sentences"])
    goals = {g["metric"]: g for g in result["goals"]}
    assert set(goals) == {"median_response_mh_min", "arrests"}
    assert goals["arrests"]["baseline"]["basis"] == "the reference"
    for g in goals.values():
        assert 0 <= g["change"]["met_probability"] <= 1 and g["change_psa"]["replications"] == 8
        assert g["sentence"].startswith("Goal: ") and "including what we don't know" in g["sentence"]


# --- the rest of the schema's timeline events (issue 14 item 2: absence, patrol units by count and shift, CIT
# courses, budget cut, program end, champion's drive, demand trend, turnover of other staff) -----------------------
@pytest.mark.parametrize(
    ("base", "event", "expected", "charted"),
    [
        (SMALL, {"kind": "lose_patrol_units", "month": 2, "count": 2, "district": "north", "shift": "day",
                 "duration_months": 3},
         [{"type": "lose_patrol", "day": 60, "count": 2, "district": "north", "shift": "day",
           "duration_days": 90.0}], "median_response_mh_min"),
        (SMALL, {"kind": "absence", "month": 2, "percent": 20, "district": "south", "duration_months": 2},
         [{"type": "absence", "day": 60, "role": "patrol", "district": "south", "share": 0.2},
          {"type": "absence", "day": 120, "role": "patrol", "district": "south", "share": 0.0}],
         "staff_in_post_patrol"),
        (OUTREACH, {"kind": "absence", "month": 2, "percent": 10, "staff": "outreach:nurse"},
         [{"type": "absence", "day": 60, "role": "nurse", "program": "outreach", "share": 0.1}],
         "staff_in_post_nurse"),
        ("cit.toml", {"kind": "cit_training", "month": 2, "seats": 5, "district": "north"},
         [{"type": "cit_training", "day": 60, "seats_per_quarter": 5, "district": "north"}], "cit_calls"),
        ("mobile_crisis.toml", {"kind": "scale_program", "month": 2, "program": "mobile_crisis", "percent": 50},
         [{"type": "scale_program", "day": 60, "program": "mobile_crisis", "cut_share": 0.5}], "mobile_crisis_calls"),
        (OUTREACH, {"kind": "end_program", "month": 2, "program": "outreach"},
         [{"type": "end_program", "day": 60, "program": "outreach"}], "outreach_referrals"),
        (OUTREACH, {"kind": "champion_strength", "month": 2, "role": "crpo", "district": "station_b",
                    "strength_percent": 20},
         [{"type": "champion", "day": 60, "role": "crpo", "district": "station_b", "strength": 0.2}],
         "officer_awareness"),
        (OUTREACH, {"kind": "champion_strength", "month": 2, "role": "nurse", "strength_percent": 0},
         [{"type": "champion", "day": 60, "role": "nurse", "strength": 0.0}], "outreach_referrals"),
        (SMALL, {"kind": "demand_trend", "month": 2, "percent": -10, "district": "north"},
         [{"type": "demand_trend", "day": 60, "annual_change": -0.1, "district": "north", "non_mh": False}],
         "mh_calls"),
        (SMALL, {"kind": "demand_trend", "month": 2, "percent": 10, "other_calls": True},
         [{"type": "demand_trend", "day": 60, "annual_change": 0.1, "district": None, "non_mh": True}], "mh_calls"),
        (SMALL, {"kind": "demand_surge", "month": 2, "percent": 20, "other_calls": True, "duration_months": 2},
         [{"type": "demand_surge", "day": 60, "factor": 1.2, "non_mh": True},
          {"type": "demand_surge", "day": 120, "factor": 1.0, "non_mh": True}], "mh_calls"),
        (OUTREACH, {"kind": "turnover", "month": 2, "percent": 30, "staff": "crpo", "district": "station_b",
                    "hiring_months": 3},
         [{"type": "turnover", "day": 60, "role": "crpo", "district": "station_b", "annual_rate": 0.3,
           "hiring_lag_days": 90.0, "training_days": 0.0}], "staff_in_post_crpo"),
        ("mixed_city.toml", {"kind": "turnover", "month": 2, "percent": 30, "staff": "mobile_crisis:social_worker"},
         [{"type": "turnover", "day": 60, "role": "social_worker", "program": "mobile_crisis", "annual_rate": 0.3,
           "training_days": 0.0}], "mobile_crisis_calls"),
    ],
)  # fmt: skip
def test_the_other_timeline_events_build_their_schema_events(base, event, expected, charted):
    from crisis_sim.dashboard.app import chosen_outcomes, outcome_words

    spec, meta = build_pair({"base": base, "years": 1, "events": [event]}, REPO_SCENARIOS)
    added = [e.model_dump() for e in spec.scenarios[1].scenario.timeline][-len(expected):]
    for got, want in zip(added, expected, strict=True):
        assert {k: got[k] for k in want} == want
    assert all(label and "_" not in label.replace("station_b", "") for label in meta["event_sentences"])
    charts = chosen_outcomes(meta)
    assert charted in charts
    assert all(outcome_words(m)[1] for m in charts)  # every charted outcome has words and a unit
    assert spec.scenarios[0].scenario.timeline == load_base(base).timeline


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"base": SMALL, "events": [{"kind": "lose_patrol_units", "month": 2, "count": 99, "district": "north",
                                     "shift": "night"}]},
         "a number of patrol units is lost (by district and shift), how many units (the night shift in north has "),
        ({"base": SMALL, "events": [{"kind": "lose_patrol_units", "month": 2, "count": ""}]},
         "how many units (every shift in every district has "),
        ({"base": SMALL, "events": [{"kind": "lose_patrol_units", "month": 2, "shift": "noon"}]},
         "shift: every shift or one of day, evening, night, found 'noon'"),
        ({"base": SMALL, "events": [{"kind": "absence", "month": 2, "percent": 60}]},
         "staff are absent more often (sickness, leave), share of days each person is away (%): a number from 1 "
         "to 50, found 60"),
        ({"base": SMALL, "events": [{"kind": "absence", "month": 2, "staff": "outreach:nurse"}]},
         "staff are absent more often (sickness, leave), who: one of patrol officers, found 'outreach:nurse'"),
        ({"base": SMALL, "events": [{"kind": "cit_training", "month": 2}]},
         "CIT courses train more officers each quarter: needs Crisis Intervention Team"),
        ({"base": "cit.toml", "events": [{"kind": "cit_training", "month": 2, "seats": 0}]},
         "officers trained each quarter: a whole number from 1 to 200, found 0"),
        ({"base": SMALL, "events": [{"kind": "scale_program", "month": 2}]}, "this scenario runs no program"),
        ({"base": "mobile_crisis.toml", "events": [{"kind": "scale_program", "month": 2, "percent": 100}]},
         "a program's budget is cut (fewer hours, teams or beds), cut (%): a number from 1 to 99, found 100"),
        ({"base": "mobile_crisis.toml", "events": [{"kind": "end_program", "month": 2, "program": "outreach"}]},
         "a program ends, program: one of the programs this scenario runs"),
        ({"base": OUTREACH, "events": [{"kind": "champion_strength", "month": 2}]},
         "a champion's drive changes, drive (% of the strongest champion): a number from 0 to 100; the field is "
         "blank"),
        ({"base": OUTREACH, "events": [{"kind": "champion_strength", "month": 2, "strength_percent": 50,
                                       "role": "crpo"}]},
         "a champion's drive changes, district: one of"),
        ({"base": OUTREACH, "events": [{"kind": "champion_strength", "month": 2, "strength_percent": 50,
                                       "role": {"x": 1}}]},
         "a champion's drive changes, who: one of"),
        ({"base": SMALL, "events": [{"kind": "demand_trend", "month": 2, "percent": 0}]}, "change each year (%): not 0"),
        ({"base": SMALL, "events": [{"kind": "demand_trend", "month": 2, "percent": 101}]},
         "change each year (%): a number from -50 to 100, found 101"),
        ({"base": SMALL, "events": [{"kind": "demand_trend", "month": 2, "other_calls": True, "district": "north"}]},
         "other police calls change city-wide only"),
        ({"base": SMALL, "events": [{"kind": "demand_trend", "month": 2, "other_calls": 1}]},
         "other police calls too: true or false, found 1"),
        ({"base": OUTREACH, "events": [{"kind": "turnover", "month": 2, "staff": "crpo", "percent": 0}]},
         "community-relations officers (outreach's champions) leaving each year (%): a number from 1 to 100"),
        ({"base": "mobile_crisis_launch.toml", "years": 2,
          "events": [{"kind": "end_program", "month": 2, "program": "mobile_crisis"}]},
         "to be on or after the launch"),
    ],
)  # fmt: skip
def test_the_other_events_are_checked_in_words(server, body, message):
    status, reply, _ = _call(server, "POST", "/api/run", body)
    assert status == 400 and message in reply["error"], reply
    assert "\n" not in reply["error"] and "timeline." not in reply["error"]


def test_the_other_events_are_offered_where_they_apply():
    from crisis_sim.dashboard.app import scenario_info

    small = scenario_info(REPO_SCENARIOS / SMALL)
    for kind in ("cit_training", "scale_program", "end_program", "champion_strength"):
        assert small["events"][kind]["not_applicable"], kind
    for kind in ("lose_patrol_units", "absence", "demand_trend", "turnover"):
        assert not small["events"][kind]["not_applicable"], kind
    assert [g["id"] for g in small["staff_groups"]] == ["patrol"] and small["champions"] == []
    with pytest.raises(RequestError, match="who: one of the community-relations officer of a district; the outreach "
                                           "nurse, found 'psychiatrist'"):
        build_pair({"base": OUTREACH, "events": [{"kind": "champion_strength", "month": 2, "role": "psychiatrist",
                                                  "strength_percent": 10}]}, REPO_SCENARIOS)  # fmt: skip
    assert not scenario_info(REPO_SCENARIOS / "cit.toml")["events"]["cit_training"]["not_applicable"]
    outreach = scenario_info(REPO_SCENARIOS / OUTREACH)
    assert {"patrol", "crpo", "outreach:nurse"} <= {g["id"] for g in outreach["staff_groups"]}
    assert [c["role"] for c in outreach["champions"]] == ["crpo", "nurse"]  # the psychiatrist's drive is read by nothing
    assert outreach["champion_now"] == {"crpo": 100.0, "nurse": 100.0}
    assert not outreach["events"]["champion_strength"]["not_applicable"]
    assert all("_" not in g["words"] for g in outreach["staff_groups"])


def test_a_patrol_unit_loss_by_count_answers_with_response_times(server):
    req = {"base": SMALL, "replications": 2, "days": 120,
           "events": [{"kind": "lose_patrol_units", "month": 1, "count": 3, "shift": "day"}]}  # fmt: skip
    status, reply, _ = _call(server, "POST", "/api/run", req)
    assert status == 202
    job = _wait(server, reply["id"], lambda j: j["state"] in ("done", "error", "cancelled"), timeout=300)
    assert job["state"] == "done", job["error"]
    result = job["result"]
    assert result["charts"][:2] == ["median_response_mh_min", "p90_response_mh_min"]
    assert "staff_in_post_patrol" in result["charts"]
    assert result["headline"].startswith("If 3 patrol units of the day shift in every district are lost in month 1")
    assert "response time" in result["headline"] and "$" in result["headline"]
    posts = next(c for c in result["chart_details"] if c["metric"] == "staff_in_post_patrol")
    assert posts["change"] < posts["baseline"]  # the lost units' posts are empty


def test_patrol_units_added_become_an_add_post_event():
    from crisis_sim.dashboard.app import scenario_info

    spec, meta = build_pair({"base": SMALL, "years": 1, "events": [
        {"kind": "add_patrol_units", "month": 4, "count": 2, "district": "south", "shift": "night"}]},
        REPO_SCENARIOS)  # fmt: skip
    base, alt = (e.scenario for e in spec.scenarios)
    ev = alt.timeline[-1]
    assert (ev.type, ev.role, ev.district, ev.shift, ev.count) == ("add_post", "patrol", "south", "night", 2)
    assert base.timeline == [] or all(e.type != "add_post" for e in base.timeline)
    assert "2 new patrol units on the night shift in south" in meta["event_sentences"][0]
    assert not scenario_info(REPO_SCENARIOS / SMALL)["events"]["add_patrol_units"]["not_applicable"]
    for bad, message in (({"shift": "noon"}, "shift: one of day, evening, night, found 'noon'"),
                         ({"district": "all"}, "district: one of north, south, found 'all'"),
                         ({"count": 101}, "how many units")):  # fmt: skip
        event = {"kind": "add_patrol_units", "month": 4, "count": 2, "district": "south", "shift": "night", **bad}
        with pytest.raises(RequestError, match=message):
            build_pair({"base": SMALL, "events": [event]}, REPO_SCENARIOS)
