"""The interface between the generic fake server and one provider's wire format.

A wire format is a routes table plus two small hooks. A route handler receives a parsed
`WireRequest` and returns either a `JSONReply` or an `SSEReply`; the server then applies
the request's `Behavior` (delays, drops, in-stream errors, malformed output) generically.
Handlers raise `WireError` to reject a request with the provider's error body.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ._behavior import Behavior


@dataclass(frozen=True)
class WireRequest:
    """One received request, as handed to a route handler."""

    method: str
    path: str
    headers: Mapping[str, str]
    """Lower-cased header names."""
    body: Any
    """The parsed JSON body (None when the request had no body)."""
    behavior: Behavior
    params: Mapping[str, str] = field(default_factory=dict)
    """The path segments captured by the route's ``{name}`` placeholders."""


@dataclass(frozen=True)
class JSONReply:
    """A complete JSON response."""

    body: Any
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SSEEvent:
    """One server-sent event. A ``str`` ``data`` is sent verbatim, anything else as compact JSON."""

    data: Any
    event: str | None = None
    paced: bool = True
    """Whether the event carries generated output, so waits ``ttft`` / ``chunk_delay`` first.
    Lifecycle events (e.g. ``response.created``) are sent without delay, as real servers do."""


def _no_error_events(sent: int) -> Sequence[SSEEvent]:
    return ()


@dataclass(frozen=True)
class SSEReply:
    """A streamed response: ``events`` then, on a clean finish, ``terminator``."""

    events: Iterable[SSEEvent]
    terminator: Sequence[SSEEvent] = ()
    error_events: Callable[[int], Sequence[SSEEvent]] = _no_error_events
    """Builds the provider's in-stream error, given how many events were already sent."""
    headers: Mapping[str, str] = field(default_factory=dict)
    framing: Literal["sse", "ndjson", "eventstream"] = "sse"
    """``"ndjson"`` sends each event's data as one JSON line (``application/x-ndjson``, event names
    dropped), as Ollama streams; ``"eventstream"`` each event as a message of AWS's binary event
    stream, named by the event's name (see ``_eventstream``), as Bedrock streams. The behaviour's
    pacing, drops and errors apply the same way."""


Handler = Callable[[WireRequest], JSONReply | SSEReply]


class WireError(Exception):
    """Raised by a handler to answer with the provider's error body for ``status``."""

    def __init__(self, status: int, message: str, *, code: str | None = None, param: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param


class WireFormat(Protocol):
    """What a provider module implements to be served by `FakeProvider`."""

    @property
    def name(self) -> str:
        """Short provider name, e.g. ``"openai"``."""
        ...

    @property
    def routes(self) -> Mapping[tuple[str, str], Handler]:
        """``(METHOD, path)`` -> handler, e.g. ``("POST", "/v1/chat/completions")``.

        A ``{name}`` path segment matches any one segment and lands in `WireRequest.params`
        (``{name}:verb`` one that ends with ``:verb``, as in ``/v1beta/models/{model}:generateContent``);
        ``{model}`` also names the model for behaviour scripts when the body has none.
        Several routes may share a handler (aliases such as Azure's paths).
        """
        ...

    def error_reply(self, req: WireRequest, error: WireError) -> JSONReply:
        """The provider's error response for ``error.status`` (body only; headers come from below)."""
        ...

    def response_headers(self, req: WireRequest, status: int) -> dict[str, str]:
        """Headers the provider sends on every response (request ids, rate-limit state...)."""
        ...
