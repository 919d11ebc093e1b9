"""`FakeProvider`: lifecycle, routing, behaviour selection and the request record.

It knows no provider: bodies come from the registered wire formats (see `_wire`), and the
delivery (delays, hangs, drops, SSE framing) from the transport in `_http`.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

from ._behavior import BEHAVIOR_HEADER, Behavior
from ._http import Exchange, HTTPServer
from ._registry import builtin_wire_formats
from ._wire import Handler, JSONReply, SSEReply, WireError, WireFormat, WireRequest

_log = logging.getLogger(__name__)
_POLL_INTERVAL = 0.02  # how long stop() may wait for the accept loop to notice


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake provider received it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    """Lower-cased header names."""
    body: Any
    """Parsed JSON body; None if empty, the raw text if it was not JSON."""
    behavior: Behavior
    """The behaviour the request was answered with."""


@dataclass
class _Scripted:
    behavior: Behavior
    remaining: int
    model: str | None


class FakeProvider:
    """A fake LLM provider on a real socket, served from a daemon thread.

    Each request's `Behavior` comes from, first match wins: the ``x-fake-behavior`` header,
    the script filled by `push`, then `default_behavior`.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        default_behavior: Behavior | None = None,
        wire_formats: Sequence[WireFormat] | None = None,
        max_recorded: int = 1000,
    ) -> None:
        self._host = host
        self._requested_port = port
        self.default_behavior = default_behavior or Behavior()
        self._routes: dict[tuple[str, str], tuple[WireFormat, Handler]] = {}
        for wire in builtin_wire_formats() if wire_formats is None else wire_formats:
            for key, handler in wire.routes.items():
                if key in self._routes:
                    raise ValueError(f"route {key} registered by two wire formats")
                self._routes[key] = (wire, handler)
        # Routes with `{name}` segments, tried in order after the exact ones.
        self._templates = [
            (method, tuple(path.split("/")), route) for (method, path), route in self._routes.items() if "{" in path
        ]
        self._fallback_wire = next((wire for wire, _ in self._routes.values()), None)
        self._script: deque[_Scripted] = deque()
        self._lock = threading.Lock()
        self._recorded = threading.Condition(self._lock)
        self._requests: deque[RecordedRequest] = deque(maxlen=max_recorded)
        self._received = 0
        self._stopping = threading.Event()
        self._server: HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeProvider:
        """Bind the socket and start serving. Returns self."""
        if self._server is not None or self._stopping.is_set():
            raise RuntimeError("a FakeProvider can only be started once")
        self._server = HTTPServer((self._host, self._requested_port), self._admit, self._stopping)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL},
            name=f"fake-provider:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; returns promptly even while requests hang or stream slowly."""
        server = self._server
        if server is None or self._stopping.is_set():
            self._stopping.set()
            return
        self._stopping.set()  # wakes every handler waiting on a delay or a hang
        server.shutdown()
        server.close_connections()  # unblocks handlers reading idle keep-alive connections
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeProvider:
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound TCP port (only known once started)."""
        if self._server is None:
            raise RuntimeError("FakeProvider is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321``; also the ``azure_endpoint`` for Azure OpenAI clients."""
        return f"http://{self._host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """Base URL for the openai SDK (``url`` + ``/v1``)."""
        return self.url + "/v1"

    @property
    def mistral_server_url(self) -> str:
        """``server_url`` for the mistralai SDK (``url`` + ``/mistral``): its paths are OpenAI's."""
        return self.url + "/mistral"

    # -- behaviours --------------------------------------------------------------------------

    @property
    def default_behavior(self) -> Behavior:
        """The behaviour of requests that neither carry a header nor match the script."""
        return self._default_behavior

    @default_behavior.setter
    def default_behavior(self, behavior: Behavior) -> None:
        if not isinstance(behavior, Behavior):
            raise TypeError("default_behavior must be a Behavior")
        self._default_behavior = behavior

    def push(self, behavior: Behavior, times: int = 1, model: str | None = None) -> None:
        """Answer the next ``times`` requests (only those for ``model``, if given) with ``behavior``.

        Entries are consumed in FIFO order; a request takes the first entry that matches it.
        """
        if not isinstance(behavior, Behavior):
            raise TypeError("push() needs a Behavior")
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._script.append(_Scripted(behavior, times, model))

    def reset(self) -> None:
        """Forget the script and the recorded requests."""
        with self._lock:
            self._script.clear()
            self._requests.clear()
            self._received = 0

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> list[RecordedRequest]:
        """Block until ``count`` requests were received (since start or `reset`); returns `requests`.

        Lets a test synchronise with a request that is still being answered (e.g. hanging)
        without sleeping. Raises TimeoutError after ``timeout`` seconds.
        """
        with self._recorded:
            if not self._recorded.wait_for(lambda: self._received >= count, timeout):
                raise TimeoutError(f"received {self._received} requests, expected {count}")
            return list(self._requests)

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the most recent requests received (bounded), oldest first."""
        with self._lock:
            return list(self._requests)

    def _resolve(self, headers: Mapping[str, str], model: object) -> Behavior:
        """Pick the behaviour for a request (raises ValueError for a bad header)."""
        if BEHAVIOR_HEADER in headers:
            return Behavior.from_json(headers[BEHAVIOR_HEADER])
        with self._lock:
            for entry in self._script:
                if entry.model is None or entry.model == model:
                    entry.remaining -= 1
                    if entry.remaining == 0:
                        self._script.remove(entry)
                    return entry.behavior
        return self._default_behavior

    def _record(self, request: RecordedRequest) -> None:
        with self._recorded:
            self._requests.append(request)
            self._received += 1
            self._recorded.notify_all()

    def _route(self, method: str, path: str) -> tuple[tuple[WireFormat, Handler] | None, dict[str, str]]:
        """The route serving ``path`` and its ``{name}`` captures."""
        if (method, path) in self._routes:
            return self._routes[(method, path)], {}
        segments = path.split("/")
        for route_method, pattern, route in self._templates:
            params = _match(pattern, segments) if route_method == method else None
            if params is not None:
                return route, params
        return None, {}

    def _admit(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> Exchange:
        """Record a request and decide how it is answered (called from handler threads)."""
        split = urlsplit(target)
        body, body_error = _parse_body(raw)
        route, params = self._route(method, split.path.rstrip("/") or "/")
        model = body.get("model") if isinstance(body, dict) and "model" in body else params.get("model")
        try:
            behavior, behavior_error = self._resolve(headers, model), None
        except (ValueError, TypeError) as exc:
            behavior, behavior_error = self._default_behavior, exc
        self._record(RecordedRequest(method, split.path, split.query, headers, body, behavior))
        req = WireRequest(method, split.path, headers, body, behavior, params)
        if route is None:
            return Exchange(req, self._fallback_wire, partial(_not_found, req, self._fallback_wire), immediate=True)
        wire, handler = route
        if behavior_error is not None:
            problem = WireError(400, f"invalid {BEHAVIOR_HEADER} header: {behavior_error}")
            return Exchange(req, wire, partial(wire.error_reply, req, problem), immediate=True)
        return Exchange(req, wire, partial(_run, req, wire, handler, body_error))


def _match(pattern: tuple[str, ...], segments: list[str]) -> dict[str, str] | None:
    """The ``{name}`` captures if ``segments`` fit the route ``pattern``, else None."""
    if len(pattern) != len(segments):
        return None
    params: dict[str, str] = {}
    for expected, actual in zip(pattern, segments, strict=True):
        if expected.startswith("{"):
            # ``{name}`` is the whole segment; ``{name}:verb`` (Google's custom methods) ends with ``:verb``.
            name, _, suffix = expected[1:].partition("}")
            value = actual[: len(actual) - len(suffix)] if actual.endswith(suffix) else ""
            if not value:
                return None
            params[name] = unquote(value)
        elif expected != actual:
            return None
    return params


def _not_found(req: WireRequest, wire: WireFormat | None) -> JSONReply:
    problem = WireError(404, f"Invalid URL ({req.method} {req.path})")
    return wire.error_reply(req, problem) if wire else JSONReply({"error": {"message": problem.message}}, 404)


def _run(req: WireRequest, wire: WireFormat, handler: Handler, body_error: str | None) -> JSONReply | SSEReply:
    """The handler's reply, or the provider's error body for an injected or detected failure."""
    try:
        if body_error is not None:
            raise WireError(400, f"We could not parse the JSON body of your request: {body_error}")
        if req.behavior.status is not None:
            raise WireError(req.behavior.status, "", code=req.behavior.error_code)
        return handler(req)
    except WireError as problem:
        return wire.error_reply(req, problem)
    except Exception as exc:  # surface handler bugs as a 500 the test can read
        _log.exception("fake provider: %s handler failed", wire.name)
        return wire.error_reply(req, WireError(500, f"fake provider bug: {type(exc).__name__}: {exc}"))


def _parse_body(raw: bytes) -> tuple[Any, str | None]:
    if not raw.strip():
        return None, None
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text), None
    except ValueError as exc:
        return text, str(exc)
