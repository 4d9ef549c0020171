"""A small OSV-compatible vulnerability service on loopback, for end-to-end audit tests.

pip-audit's OSV client sends one `POST /v1/query` per pin (`{"package": {"name", "ecosystem"},
"version"}`) and reads `{"vulns": [...]}`, or `{}` for none; it does not use `/v1/querybatch`
(pip_audit/_service/osv.py, 2.10). The records below are the real advisories, trimmed to the
fields pip-audit reads. `fail_after` makes the service break after that many answers, either
with HTTP 500 or by closing the connection without a reply, to play a network failure in the
middle of an audit, or ("hang") by not answering until it stops, to play a stalled service.
The server stops itself after `lifetime` seconds even if a test forgets to.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from packaging.version import InvalidVersion, Version

ADVISORIES: list[dict[str, Any]] = [
    {
        "schema_version": "1.6.0",
        "id": "PYSEC-2018-28",
        "modified": "2024-11-21T14:22:00Z",
        "published": "2018-10-09T17:29:00Z",
        "aliases": ["CVE-2018-18074", "GHSA-x84v-xcm2-53pg"],
        "details": "The Requests package before 2.20.0 for Python sends an HTTP Authorization "
                   "header to an http URI upon receiving a same-hostname https-to-http "
                   "redirect, which makes it easier for remote attackers to discover "
                   "credentials by sniffing the network.",
        "affected": [{
            "package": {"ecosystem": "PyPI", "name": "requests", "purl": "pkg:pypi/requests"},
            "ranges": [{"type": "ECOSYSTEM",
                        "events": [{"introduced": "0"}, {"fixed": "2.20.0"}]}],
        }],
        "references": [{"type": "ADVISORY",
                        "url": "https://nvd.nist.gov/vuln/detail/CVE-2018-18074"}],
    },
    {
        "schema_version": "1.6.0",
        "id": "PYSEC-2019-132",
        "modified": "2024-11-21T14:22:00Z",
        "published": "2019-04-15T15:29:00Z",
        "aliases": ["CVE-2019-11236", "GHSA-r64q-w8jr-g9qp"],
        "details": "In the urllib3 library through 1.24.1 for Python, CRLF injection is "
                   "possible if the attacker controls the request parameter.",
        "affected": [{
            "package": {"ecosystem": "PyPI", "name": "urllib3", "purl": "pkg:pypi/urllib3"},
            "ranges": [{"type": "ECOSYSTEM",
                        "events": [{"introduced": "0"}, {"fixed": "1.24.3"}]}],
        }],
        "references": [{"type": "ADVISORY",
                        "url": "https://nvd.nist.gov/vuln/detail/CVE-2019-11236"}],
    },
]


def _affects(record: dict[str, Any], name: str, version: str) -> bool:
    try:
        wanted = Version(version)
    except InvalidVersion:
        return False
    for affected in record["affected"]:
        if affected["package"]["name"] != name:
            continue
        for ranges in affected["ranges"]:
            introduced, fixed = Version("0"), None
            for event in ranges["events"]:
                if "introduced" in event:
                    introduced = Version(event["introduced"])
                if "fixed" in event:
                    fixed = Version(event["fixed"])
            if introduced <= wanted and (fixed is None or wanted < fixed):
                return True
    return False


class OsvServer:
    """Answers `POST /v1/query` from `ADVISORIES`; counts the queries it received."""

    def __init__(self, *, fail_after: int | None = None, failure: str = "status",
                 lifetime: float = 60.0) -> None:
        if failure not in ("status", "close", "hang"):
            raise ValueError("failure is 'status' (HTTP 500), 'close' (no reply) or 'hang'")
        self.fail_after = fail_after
        self.failure = failure
        self.queries: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._lifetime = lifetime
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        daemon=True)
        self._timer = threading.Timer(lifetime, self._httpd.shutdown)
        self._timer.daemon = True

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1/query"

    def start(self) -> OsvServer:
        self._thread.start()
        self._timer.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._timer.cancel()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        package = body.get("package", {})
        name, version = str(package.get("name", "")), str(body.get("version", ""))
        with self._lock:
            self.queries.append((name, version))
            broken = self.fail_after is not None and len(self.queries) > self.fail_after
        if broken and self.failure == "hang":
            self._stopping.wait(self._lifetime)
        if broken:
            return (500, {"code": 13, "message": "internal error"}) \
                if self.failure == "status" else (0, None)
        vulns = [r for r in ADVISORIES if _affects(r, name, version)]
        return 200, ({"vulns": vulns} if vulns else {})

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                if self.path != "/v1/query":
                    self.send_error(404)
                    return
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    self.send_error(400)
                    return
                status, payload = server._answer(body if isinstance(body, dict) else {})
                if payload is None:
                    self.close_connection = True  # no status line at all: a dropped link
                    return
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler


@contextmanager
def osv_server(**options: Any) -> Iterator[OsvServer]:
    server = OsvServer(**options).start()
    try:
        yield server
    finally:
        server.stop()
