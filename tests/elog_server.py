"""A fake LCLS logbook on 127.0.0.1 that records every request.

It implements the endpoints of ``lute.elog.client`` (status counters as the
job system serves them: written at ``/jid/ws/replace_counters/xpptest/JOB1``,
read with a POST to ``/jid/ws/xpptest/get_counters``; the rest under
``/lgbk``) and can misbehave on demand:

* ``ok``: answers as the logbook does;
* ``error500``: every request gets HTTP 500;
* ``badjson``: every request gets 200 with a body that is not JSON;
* ``hang``: every request waits until ``release`` is set (the test sets it),
  then answers 200; ``hanging`` is set when the first request starts waiting.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import json
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODES = ("ok", "error500", "badjson", "hang")
STATUS_PATH = "/jid/ws/replace_counters/xpptest/JOB1"
READ_PATH = "/jid/ws/xpptest/get_counters"


@dataclass
class Part:
    """One part of a multipart body."""

    name: str
    filename: str | None
    content_type: str
    content: bytes


@dataclass
class Recorded:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    json: Any = None
    parts: list[Part] = field(default_factory=list)


class ElogServer:
    """The fake logbook; use as a context manager.

    Args:
        mode: One of ``MODES``.
        credentials: ``(user, password)`` that requests must carry as basic
            auth; others get 401. ``None``: no authentication.
        counters: Status counters the job already has.
    """

    def __init__(
        self,
        mode: str = "ok",
        credentials: tuple[str, str] | None = None,
        counters: list[dict[str, Any]] | None = None,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode {mode!r}; choose one of {MODES}")
        self.mode = mode
        self.requests: list[Recorded] = []
        self.counters: list[dict[str, Any]] = list(counters or [])
        self.run_params: dict[str, dict[str, Any]] = {}
        self.release = threading.Event()
        self.hanging = threading.Event()
        self._expected_auth = (
            "Basic " + base64.b64encode(":".join(credentials).encode()).decode()
            if credentials
            else None
        )
        self._recorded = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def url(self) -> str:
        """Base URL of the logbook API (``LUTE_ELOG_URL``)."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/lgbk"

    @property
    def status_url(self) -> str:
        """The job's status counters (``JID_UPDATE_COUNTERS``)."""
        return self.url.replace("/lgbk", STATUS_PATH)

    def status_posts(self) -> list[list[dict[str, Any]]]:
        """Bodies of the POSTs that set the status counters, in order."""
        return [r.json for r in self.requests if r.method == "POST" and r.path == STATUS_PATH]

    def counter_reads(self) -> list[Recorded]:
        """The requests that read the status counters, in order."""
        return [r for r in self.requests if r.path == READ_PATH]

    def __enter__(self) -> ElogServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def record(self, request: Recorded) -> None:
        with self._recorded:
            self.requests.append(request)
            self._recorded.notify_all()

    def wait_for(self, predicate: Callable[[list[Recorded]], bool], timeout: float = 60) -> bool:
        """Block until ``predicate(requests)`` holds (checked on every request)."""
        with self._recorded:
            return self._recorded.wait_for(lambda: predicate(self.requests), timeout)

    def answer(self, request: Recorded) -> tuple[int, Any]:
        """The logbook's answer to an authenticated, well-behaved request."""
        path = request.path
        if path == READ_PATH and request.method == "POST":
            return 200, {"success": True, "value": self.counters}
        if path == STATUS_PATH and request.method == "POST":
            self.counters = list(request.json)
            return 200, {"success": True, "value": None}
        route = path.removeprefix("/lgbk/").split("/")
        if route[:1] == ["run_control"] and route[2:] == ["ws", "add_run_params"]:
            run = request.query["run_num"][0]
            self.run_params.setdefault(run, {}).update(request.json)
            return 200, {"success": True, "value": None}
        if route[1:] == ["ws", "new_elog_entry"]:
            return 200, {"success": True, "value": {"id": len(self.requests)}}
        if route[1:] == ["ws", "get_runs_with_tag"]:
            if request.query["tag"] == ["unknown"]:
                return 200, {"success": False, "errorMsg": "no such tag: unknown"}
            return 200, {"success": True, "value": [3, 7]}
        if route == ["ws", "activeexperiment_for"]:
            instrument = request.query["instrument_name"][0]
            return 200, {"success": True, "value": {"name": f"{instrument.lower()}l1234"}}
        if route[1:] == ["ws", "create_update_workflow_def"]:
            return 200, {"success": True, "value": request.json}
        return 404, {"success": False, "errorMsg": f"no endpoint {path}"}


def _handler_for(server: ElogServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test reads ``server.requests``."""

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            request = self._read()
            server.record(request)
            if server.mode == "hang":
                server.hanging.set()
                server.release.wait()
            if server.mode == "error500":
                self._send(500, b"internal error", "text/plain")
                return
            if server._expected_auth and request.headers.get("Authorization") != (
                server._expected_auth
            ):
                self._send(401, b'{"success": false, "errorMsg": "unauthorized"}')
                return
            if server.mode == "badjson":
                self._send(200, b"<html>this is not json</html>", "text/html")
                return
            status, answer = server.answer(request)
            self._send(status, json.dumps(answer).encode())

        def _read(self) -> Recorded:
            split = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Recorded(
                method=self.command,
                path=split.path,
                query=urllib.parse.parse_qs(split.query),
                headers=dict(self.headers.items()),
                body=body,
            )
            content_type = self.headers.get("Content-Type", "")
            if content_type.startswith("application/json"):
                request.json = json.loads(body)
            elif content_type.startswith("multipart/form-data"):
                request.parts = _parse_multipart(content_type, body)
            return request

        def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up waiting (hang mode)

    return Handler


def _parse_multipart(content_type: str, body: bytes) -> list[Part]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    parts = []
    for part in message.iter_parts():
        parts.append(
            Part(
                name=part.get_param("name", header="content-disposition"),
                filename=part.get_filename(),
                content_type=part.get_content_type(),
                content=part.get_payload(decode=True),
            )
        )
    return parts
