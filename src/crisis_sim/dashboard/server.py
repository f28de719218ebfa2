"""HTTP for the dashboard: the standard library's ThreadingHTTPServer on 127.0.0.1, one static page, JSON endpoints.

GET    /                   the page (HTML + inline CSS and JavaScript; nothing from the internet)
GET    /api/scenarios      base scenarios with their districts, patrol units and programs
POST   /api/run            a request (see crisis_sim.dashboard.app) → 202 {"id": ...}, 400/415/411/413 or 429
GET    /api/jobs/<id>      {"state": queued|running|done|error|cancelled, "done", "total", "result": {...}}
DELETE /api/jobs/<id>      cancel: the job's worker processes stop → 200 {"state": "cancelled"}

Only the dashboard's own page can drive it (docs/dashboard.md, "Security"): every request, whatever its method
and path, must be addressed to the loopback name and port the server listens on (``Host``), must not come from
another web page (``Origin``; ``Sec-Fetch-Site`` on POST and DELETE), and gets 403 with a JSON sentence
otherwise. Bodies are JSON only, at most ``MAX_BODY`` bytes, read only after their length is checked; every
connection has a socket timeout; a malformed request gets a JSON error and the server keeps serving.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crisis_sim.dashboard.app import DashboardApp, RequestError, TooManyJobs

HOST = "127.0.0.1"
MAX_BODY = 64 * 1024  # a request from the page is a few hundred bytes
REQUEST_TIMEOUT = 30.0  # seconds a connection may stay silent before it is closed
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
JOB_PATH = re.compile(r"/api/jobs/([0-9]{1,12})")
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
}


class BadBody(Exception):
    """A POST body that is not acceptable JSON; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _shown(value: str, limit: int = 60) -> str:
    return repr(value if len(value) <= limit else value[: limit - 1] + "…")


class _NotFinite(ValueError):
    pass


def _no_constants(name: str) -> Any:
    raise _NotFinite(f"expected finite numbers, found {name} (JSON has no NaN or Infinity)")


def parse_json_body(headers: Any, read: Any) -> Any:
    """Check the headers of a POST (JSON content type, a Content-Length within ``MAX_BODY``), then read exactly
    that many bytes with ``read(n)`` and parse them as strict JSON (no NaN or Infinity).

    Raises
    ------
    BadBody
        With the status (400, 411, 413 or 415) and one plain sentence.
    """
    ctype = headers.get("Content-Type")
    if ctype is None:
        raise BadBody(415, "expected a JSON body with Content-Type: application/json, found no Content-Type")
    charset = (headers.get_content_charset() or "utf-8").lower()
    if headers.get_content_type() != "application/json" or charset not in ("utf-8", "utf8"):
        raise BadBody(415, f"expected Content-Type: application/json (UTF-8), found {_shown(ctype)}")
    if headers.get("Transfer-Encoding") is not None:
        raise BadBody(411, "expected a Content-Length header; chunked transfer encoding is not accepted")
    lengths = headers.get_all("Content-Length") or []
    if not lengths:
        raise BadBody(411, "expected a Content-Length header giving the size of the JSON body")
    if len(lengths) > 1 or not re.fullmatch(r"[0-9]{1,19}", lengths[0].strip()):
        raise BadBody(
            400, f"Content-Length: expected one whole number of bytes, found {_shown(', '.join(lengths))}"
        )
    length = int(lengths[0])
    if length == 0:
        raise BadBody(400, "expected a JSON body, found an empty one")
    if length > MAX_BODY:
        raise BadBody(
            413, f"request body too large: at most {MAX_BODY:,} bytes, found Content-Length {length:,}"
        )
    data = read(length)
    if len(data) < length:
        raise BadBody(400, f"the body ended after {len(data):,} of the {length:,} bytes announced")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadBody(400, "expected UTF-8 text, found bytes that are not UTF-8") from None
    try:
        return json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise BadBody(
            400, f"expected JSON, found a syntax error: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except _NotFinite as exc:
        raise BadBody(400, str(exc)) from None
    except ValueError:  # an integer of more than 4,300 digits (sys.get_int_max_str_digits)
        raise BadBody(
            400, "expected JSON numbers of sensible size, found one with thousands of digits"
        ) from None
    except RecursionError:
        raise BadBody(400, "expected JSON, found arrays or objects nested too deep") from None


class _Handler(BaseHTTPRequestHandler):
    server: DashboardServer
    protocol_version = "HTTP/1.1"

    def version_string(self) -> str:
        return "crisis-sim-dashboard"

    def setup(self) -> None:
        self.timeout = self.server.request_timeout  # socket timeout: a silent client cannot hold a thread
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:  # quiet unless verbose
        if self.server.verbose:
            super().log_message(format, *args)

    # --- responses ---------------------------------------------------------------------------------------
    def _send(self, status: int, body: bytes, ctype: str, close: bool = False, **headers: str) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        if close:  # the body of the request may be unread: this connection cannot carry another request
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, obj: Any, close: bool = False) -> None:
        self._send(status, json.dumps(obj, allow_nan=False).encode(), "application/json", close)

    def _error(self, status: int, message: str, **headers: str) -> None:
        self._send(status, json.dumps({"error": message}).encode(), "application/json", True, **headers)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The base class's errors (malformed request line or headers, line too long) as JSON sentences."""
        self.log_error("code %d, message %s", code, message)
        try:
            short, _ = self.responses[code]
        except KeyError:
            short = "error"
        self._error(code, f"malformed request: {message or short}")

    # --- one request -------------------------------------------------------------------------------------
    def handle_one_request(self) -> None:
        """Every method goes through :meth:`_dispatch` (and so through the Host/Origin checks); a timeout or a
        vanished client closes the connection; an unexpected error answers 500 and the server keeps serving."""
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if len(self.raw_requestline) > 65536:
                self.requestline = self.request_version = self.command = ""
                self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG, "request line too long")
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():  # an error was sent
                self.close_connection = True
                return
            self._dispatch()
            self.wfile.flush()
        except (TimeoutError, ConnectionError) as exc:
            self.log_error("connection closed: %r", exc)
            self.close_connection = True
        except Exception as exc:  # pragma: no cover - a bug; the client gets a sentence, the server goes on
            print(f"crisis-sim dashboard: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
            self.close_connection = True
            with contextlib.suppress(Exception):  # headers may be out already; the connection closes anyway
                self._error(500, "internal error of the dashboard (details on the server's terminal)")

    def _refusal(self) -> str | None:
        """Why this request is refused (403), or None: wrong Host, a foreign Origin, a cross-site fetch."""
        port = self.server.server_address[1]
        hosts = self.headers.get_all("Host") or []
        allowed = [f"{name}:{port}" for name in LOOPBACK_NAMES]
        if len(hosts) != 1 or hosts[0].strip().lower() not in allowed:
            found = _shown(", ".join(hosts)) if hosts else "none"
            return (f"refused: this dashboard answers only requests addressed to http://127.0.0.1:{port}/ "
                    f"(Host header {found})")  # fmt: skip
        origins = self.headers.get_all("Origin") or []
        if origins and (
            len(origins) > 1 or origins[0].strip().lower() not in [f"http://{a}" for a in allowed]
        ):
            return (f"refused: a request from another web page (Origin {_shown(', '.join(origins))}); "
                    f"open the dashboard itself at http://127.0.0.1:{port}/")  # fmt: skip
        site = (self.headers.get("Sec-Fetch-Site") or "").strip().lower()
        if self.command in ("POST", "DELETE") and site and site not in ("same-origin", "none"):
            return f"refused: a {site} request from another web page; use the dashboard's own page"
        return None

    def _dispatch(self) -> None:
        refusal = self._refusal()
        if refusal:
            self._error(HTTPStatus.FORBIDDEN, refusal)
            return
        path = urlsplit(self.path).path
        method = self.command
        job = JOB_PATH.fullmatch(path)
        if method in ("GET", "HEAD") and path in ("/", "/index.html"):
            self._send(200, self.server.page, "text/html; charset=utf-8")
        elif method in ("GET", "HEAD") and path == "/api/scenarios":
            app = self.server.app
            self._json(200, {"scenarios": app.scenarios(), "workers": app.workers, "defaults": app.defaults})
        elif method in ("GET", "HEAD") and job:
            state = self.server.app.jobs.get(job.group(1))
            if state is None:
                self._error(404, f"no job with id {job.group(1)}")
            else:
                self._json(200, state.public())
        elif method == "POST" and path == "/api/run":
            self._run()
        elif method == "DELETE" and job:
            self._cancel(job.group(1))
        elif path in ("/", "/index.html", "/api/scenarios", "/api/run") or job:
            allow = "POST" if path == "/api/run" else "GET, HEAD, DELETE" if job else "GET, HEAD"
            self._error(
                HTTPStatus.METHOD_NOT_ALLOWED,
                f"{method} is not accepted on {path} (only {allow})",
                Allow=allow,
            )
        else:
            self._error(404, f"not found: {_shown(path)}")

    def _run(self) -> None:
        try:
            req = parse_json_body(self.headers, self.rfile.read)
        except BadBody as exc:
            self._error(exc.status, str(exc))
            return
        try:
            job = self.server.app.submit(req)
        except RequestError as exc:
            self._error(400, str(exc))
            return
        except TooManyJobs as exc:
            self._error(HTTPStatus.TOO_MANY_REQUESTS, str(exc))
            return
        self._json(HTTPStatus.ACCEPTED, {"id": job.id, "total": job.total})

    def _cancel(self, job_id: str) -> None:
        if self.headers.get("Content-Length", "0").strip() not in ("", "0") or self.headers.get(
            "Transfer-Encoding"
        ):
            self._error(400, "DELETE takes no body")
            return
        job = self.server.app.cancel(job_id)
        if job is None:
            self._error(404, f"no job with id {job_id}")
        elif job.state != "cancelled":
            self._json(409, {"error": f"job {job_id} has already finished ({job.state})", "state": job.state})
        else:
            self._json(200, {"id": job.id, "state": job.state})


class DashboardServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: DashboardApp, verbose: bool = False,
                 request_timeout: float = REQUEST_TIMEOUT):  # fmt: skip
        super().__init__(address, _Handler)
        self.app = app
        self.verbose = verbose
        self.request_timeout = request_timeout
        self.page = resources.files("crisis_sim.dashboard").joinpath("page.html").read_bytes()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"


def _loopback_only(host: str) -> None:
    if host != HOST:
        raise ValueError(f"the dashboard listens on {HOST} only (it has no authentication), found {host!r}")


def make_server(host: str = HOST, port: int = 0, workers: int = 1, scenarios_dir: str | Path | None = None,
                verbose: bool = False, defaults: dict[str, Any] | None = None,
                request_timeout: float = REQUEST_TIMEOUT) -> DashboardServer:  # fmt: skip
    """A server bound to ``127.0.0.1:port`` (port 0: a free one); call ``serve_forever()`` (e.g. in a thread).

    Args:
        host: must be ``"127.0.0.1"`` (ValueError otherwise).
        port: TCP port; 0 picks a free one.
        workers: worker processes of a job's pool.
        scenarios_dir: folder of base scenarios (default: the built-in ones).
        verbose: log every request to stderr.
        defaults: starting values of the page's seed and days (``--seed``, ``--days``).
        request_timeout: seconds a connection may stay silent before it is closed.
    """
    _loopback_only(host)
    return DashboardServer(
        (host, port), DashboardApp(scenarios_dir, workers, defaults), verbose, request_timeout
    )


def serve(
    host: str = HOST,
    port: int = 8765,
    workers: int = 1,
    scenarios_dir: str | Path | None = None,
    defaults: dict[str, Any] | None = None,
) -> None:
    """Serve until Ctrl-C (see :func:`make_server`)."""
    server = make_server(host, port, workers, scenarios_dir, defaults=defaults)
    print(f"crisis-sim dashboard on {server.url}  (Ctrl-C to stop)", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
