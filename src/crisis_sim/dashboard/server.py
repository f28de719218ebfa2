"""HTTP for the dashboard: the standard library's ThreadingHTTPServer, one static page, JSON endpoints.

GET  /                     the page (HTML + inline CSS and JavaScript; nothing from the internet)
GET  /api/scenarios        base scenarios with their districts, patrol units and programs
POST /api/run              a request (see crisis_sim.dashboard.app) → 202 {"id": ...} or 400 {"error": ...}
GET  /api/jobs/<id>        {"state": queued|running|done|error, "done", "total", "result": {...}}
"""

from __future__ import annotations

import json
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

from crisis_sim.dashboard.app import DashboardApp, RequestError

MAX_BODY = 1_000_000


class _Handler(BaseHTTPRequestHandler):
    server: DashboardServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: one line per error only
        if self.server.verbose:
            super().log_message(format, *args)

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, obj: Any) -> None:
        self._send(status, json.dumps(obj, allow_nan=False).encode(), "application/json")

    def do_GET(self) -> None:
        app = self.server.app
        path = self.path.split("?", 1)[0]
        if path in ("/", "/index.html"):
            self._send(200, self.server.page, "text/html; charset=utf-8")
        elif path == "/api/scenarios":
            self._json(200, {"scenarios": app.scenarios(), "workers": app.workers, "defaults": app.defaults})
        elif path.startswith("/api/jobs/"):
            job = app.jobs.get(path.rsplit("/", 1)[1])
            if job is None:
                self._json(404, {"error": "no such job"})
            else:
                self._json(200, job.public())
        else:
            self._json(404, {"error": f"not found: {path}"})

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        if path != "/api/run":
            self._json(404, {"error": f"not found: {path}"})
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 < length <= MAX_BODY:
            self._json(400, {"error": "expected a JSON body"})
            return
        try:
            req = json.loads(self.rfile.read(length))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            self._json(400, {"error": f"expected JSON, found a syntax error: {exc}"})
            return
        try:
            job = self.server.app.submit(req)
        except RequestError as exc:
            self._json(400, {"error": str(exc)})
            return
        self._json(HTTPStatus.ACCEPTED, {"id": job.id, "total": job.total})


class DashboardServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: DashboardApp, verbose: bool = False):
        super().__init__(address, _Handler)
        self.app = app
        self.verbose = verbose
        self.page = resources.files("crisis_sim.dashboard").joinpath("page.html").read_bytes()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"


def make_server(host: str = "127.0.0.1", port: int = 0, workers: int = 1, scenarios_dir: str | Path | None = None,
                verbose: bool = False, defaults: dict[str, Any] | None = None) -> DashboardServer:  # fmt: skip
    """A server bound to ``host:port`` (port 0: a free one); call ``serve_forever()`` (e.g. in a thread).
    ``defaults``: starting values of the page's seed and days (``--seed``, ``--days``)."""
    return DashboardServer((host, port), DashboardApp(scenarios_dir, workers, defaults), verbose)


def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    workers: int = 1,
    scenarios_dir: str | Path | None = None,
    defaults: dict[str, Any] | None = None,
) -> None:
    server = make_server(host, port, workers, scenarios_dir, defaults=defaults)
    print(f"crisis-sim dashboard on {server.url}  (Ctrl-C to stop)", file=sys.stderr, flush=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: bound to {host}: other computers on the network can reach it", file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
