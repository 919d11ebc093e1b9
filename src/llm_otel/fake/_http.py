"""The transport under `FakeProvider`: HTTP/1.1 keep-alive, waits, hangs and SSE framing.

It knows neither providers nor behaviour selection: for each request it asks ``admit`` for
an `Exchange`, then applies the request's `Behavior` to the delivery of the reply (latency,
hang, ttft / chunk pacing, drops, in-stream errors, malformed bytes).
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import _eventstream
from ._wire import JSONReply, SSEEvent, SSEReply, WireFormat, WireRequest

_log = logging.getLogger(__name__)
_JSON = "application/json"


@dataclass(frozen=True)
class Exchange:
    """A received request and how to answer it."""

    req: WireRequest
    wire: WireFormat | None
    """Supplies the common headers; None when no wire format is registered."""
    answer: Callable[[], JSONReply | SSEReply]
    """Produces the reply, called once the behaviour's latency has elapsed."""
    immediate: bool = False
    """Answer at once, ignoring the behaviour (rejections: unknown route, bad behaviour header)."""


Admit = Callable[[str, str, dict[str, str], bytes], Exchange]
"""(method, request target, lower-cased headers, raw body) -> Exchange."""


class HTTPServer(ThreadingHTTPServer):
    """Threaded HTTP server that can cut every open connection on stop."""

    daemon_threads = True
    block_on_close = False
    # The stdlib's listen backlog of 5 makes the kernel reset connections when dozens of
    # clients connect at once (a load test, an asyncio.gather); real APIs absorb such bursts.
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], admit: Admit, stopping: threading.Event) -> None:
        self.admit = admit
        self.stopping = stopping
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _RequestHandler)

    def track(self, conn: socket.socket, open_: bool) -> None:
        """Remember (or forget) an open client connection."""
        with self._connections_lock:
            (self._connections.add if open_ else self._connections.discard)(conn)
        if open_ and self.stopping.is_set():  # accepted while stop() was closing the others
            _shutdown(conn)

    def close_connections(self) -> None:
        """Shut down every open connection, waking handlers blocked reading idle keep-alives."""
        with self._connections_lock:
            conns = list(self._connections)
        for conn in conns:
            _shutdown(conn)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client going away mid-response is routine here, not worth a traceback.
        _log.debug("fake provider: error while handling %s", client_address, exc_info=True)


def _shutdown(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)


class _Abort(Exception):
    """Stop handling this request and close the connection without (finishing) an answer."""


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so clients reuse connections as with real APIs
    server: HTTPServer
    server_version = "llm-otel-fake"

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.server.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("fake provider: " + format, *args)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        try:
            self._answer()
        except (_Abort, OSError):
            self.close_connection = True
            _shutdown(self.connection)
        except Exception:  # a bug in a wire format: log it, and let the client see a dead connection
            _log.exception("fake provider: unexpected error answering %s %s", self.command, self.path)
            self.close_connection = True
            _shutdown(self.connection)

    def _answer(self) -> None:
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        exchange = self.server.admit(self.command, self.path, headers, raw)
        req, wire = exchange.req, exchange.wire
        if not exchange.immediate:
            self._wait(req.behavior.latency)
            if req.behavior.hang > 0:
                self._wait(req.behavior.hang)
                raise _Abort  # never answer: the point is to make the client time out
        reply = exchange.answer()
        if isinstance(reply, SSEReply):
            self._send_stream(req, wire, reply)
        else:
            self._send_json(req, wire, reply)

    def _wait(self, seconds: float) -> None:
        if seconds > 0 and self.server.stopping.wait(seconds):
            raise _Abort

    def _start_response(
        self, req: WireRequest, wire: WireFormat | None, status: int, headers: Mapping[str, str]
    ) -> None:
        self.send_response(status)
        merged: dict[str, str] = {}
        if wire is not None:
            merged.update(wire.response_headers(req, status))
        retry_after = req.behavior.retry_after
        if status == 429 or (status >= 400 and retry_after is not None):
            merged["retry-after"] = _seconds(1.0 if retry_after is None else retry_after)
        merged.update(headers)
        for name, value in merged.items():
            self.send_header(name, value)

    def _send_json(self, req: WireRequest, wire: WireFormat | None, reply: JSONReply) -> None:
        payload = json.dumps(reply.body).encode()
        if req.behavior.malformed and reply.status < 400:
            payload = payload[: len(payload) // 2]  # truncated JSON, as from a broken proxy
        self._start_response(req, wire, reply.status, {"content-type": _JSON, **reply.headers})
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _send_stream(self, req: WireRequest, wire: WireFormat | None, reply: SSEReply) -> None:
        behavior = req.behavior
        framing = reply.framing
        headers = {"content-type": _MEDIA[framing], "cache-control": "no-cache"}
        self._start_response(req, wire, 200, {**headers, **reply.headers})
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        sent = 0
        paced = 0
        for event in reply.events:
            if behavior.drop_after_chunks is not None and sent >= behavior.drop_after_chunks:
                raise _Abort
            if behavior.stream_error_after_chunks is not None and sent >= behavior.stream_error_after_chunks:
                break
            if event.paced:
                self._wait(behavior.ttft if paced == 0 else behavior.chunk_delay)
                paced += 1
            self._write_chunk(_encode_event(event, framing, truncate=behavior.malformed and sent == 0))
            sent += 1
        if behavior.drop_after_chunks is not None:
            raise _Abort  # fewer events than N: still never send the terminator
        finale = reply.error_events(sent) if behavior.stream_error_after_chunks is not None else reply.terminator
        for event in finale:
            self._write_chunk(_encode_event(event, framing))
        self.wfile.write(b"0\r\n\r\n")

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))


_MEDIA = {
    "sse": "text/event-stream; charset=utf-8",
    "ndjson": "application/x-ndjson",
    "eventstream": "application/vnd.amazon.eventstream",
}


def _encode_event(event: SSEEvent, framing: str, *, truncate: bool = False) -> bytes:
    data = event.data if isinstance(event.data, str) else json.dumps(event.data, separators=(",", ":"))
    if truncate:
        data = data[: len(data) // 2]
    if framing == "eventstream":
        return _eventstream.event(event.event or "chunk", data.encode())
    if framing == "ndjson":
        return data.encode() + b"\n"
    lines = [f"event: {event.event}"] if event.event else []
    lines += [f"data: {line}" for line in data.split("\n")]
    return ("\n".join(lines) + "\n\n").encode()


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
