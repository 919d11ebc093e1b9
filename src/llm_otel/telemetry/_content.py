"""Opt-in message content: the switch, the per-call override, redaction, truncation and recording.

Content is off unless the user opts in, with ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``
(the values of the OpenTelemetry GenAI instrumentations) or ``set_content_capture``. Providers only
convert their requests, responses and streams into the conventions' message shape (plain dicts, see
``Content``); this module redacts, truncates, serialises and writes the span attributes and the
``gen_ai.client.inference.operation.details`` log event. When off, a call pays one ContextVar read.
"""

from __future__ import annotations

import enum
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

from opentelemetry import trace
from opentelemetry._logs import Logger, LoggerProvider, LogRecord, get_logger
from opentelemetry.trace import Span

from llm_otel._log import internal_error, warn_once
from llm_otel._version import __version__

from . import _names as n

CAPTURE_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
DEFAULT_MAX_BYTES = 32 * 1024
TRUNCATED = "...[truncated]"

Message = dict[str, Any]
Part = dict[str, Any]


class ContentMode(enum.Enum):
    """Where content goes; the names are those of ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``."""

    NO_CONTENT = 0
    SPAN_ONLY = 1
    EVENT_ONLY = 2
    SPAN_AND_EVENT = 3

    @property
    def on_span(self) -> bool:
        return self in (ContentMode.SPAN_ONLY, ContentMode.SPAN_AND_EVENT)

    @property
    def as_event(self) -> bool:
        return self in (ContentMode.EVENT_ONLY, ContentMode.SPAN_AND_EVENT)


@dataclass(slots=True)
class Content:
    """One call's content in the conventions' JSON shape, as redactors see it.

    ``input_messages`` and ``output_messages`` are ``{"role", "parts", ...}`` dicts whose parts are
    ``{"type": "text", "content": ...}``, ``{"type": "tool_call", "id", "name", "arguments"}``,
    ``{"type": "tool_call_response", "id", "response"}``, ``{"type": "reasoning", "content"}``;
    output messages also carry ``finish_reason``. ``system_instructions`` is a list of parts,
    ``tool_definitions`` a list of ``{"type", "name", "description", "parameters"}`` dicts.
    """

    input_messages: list[Message] = field(default_factory=list)
    output_messages: list[Message] = field(default_factory=list)
    system_instructions: list[Part] = field(default_factory=list)
    tool_definitions: list[dict[str, Any]] = field(default_factory=list)


#: A redaction hook: edits the content in place or returns a new one (None keeps the edited input).
Redactor = Callable[[Content], "Content | None"]


class StreamContent(Protocol):
    """Assembles a stream's output messages from its chunks; made only when capture is on."""

    def add(self, chunk: Any) -> None:
        """Take one chunk."""

    def messages(self) -> list[Message]:
        """The output messages the chunks so far make."""


@dataclass(frozen=True, slots=True)
class ContentReader:
    """How a provider turns one method's request, response and stream into ``Content``."""

    request: Callable[[Mapping[str, Any]], Content]
    response: Callable[[Any], list[Message]]
    stream: Callable[[], StreamContent]


# --- the switch ---------------------------------------------------------------------------------


def _parse_mode(value: str | bool | ContentMode) -> ContentMode:
    if isinstance(value, ContentMode):
        return value
    if isinstance(value, bool):
        return ContentMode.SPAN_AND_EVENT if value else ContentMode.NO_CONTENT
    text = value.strip().upper()
    # "true"/"false" are what older OpenTelemetry GenAI instrumentations accepted.
    legacy = {"TRUE": ContentMode.SPAN_AND_EVENT, "FALSE": ContentMode.NO_CONTENT, "": ContentMode.NO_CONTENT}
    if text in legacy:
        return legacy[text]
    return ContentMode[text]


def _mode_from_env() -> ContentMode:
    value = os.environ.get(CAPTURE_ENV, "")
    try:
        return _parse_mode(value)
    except KeyError:
        warn_once(CAPTURE_ENV, "llm-otel: %s=%r is not a capture mode; content is not captured", CAPTURE_ENV, value)
        return ContentMode.NO_CONTENT


@dataclass(slots=True)
class _Settings:
    mode: ContentMode
    max_bytes: int = DEFAULT_MAX_BYTES
    redactors: tuple[Redactor, ...] = ()
    logger: Logger | None = None  # the global provider's, resolved on first use


_settings = _Settings(_mode_from_env())
_override: ContextVar[ContentMode | None] = ContextVar("llm_otel_capture_content", default=None)


def set_content_capture(
    mode: str | bool | ContentMode,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    redactors: Sequence[Redactor] = (),
    logger_provider: LoggerProvider | None = None,
) -> None:
    """Choose, process-wide, whether and where message content is recorded (off by default).

    Example::

        llm_otel.set_content_capture("SPAN_ONLY", max_bytes=8192, redactors=[llm_otel.redact_emails])

    ``mode`` is a ``ContentMode``, its name, or a bool (True: span and event). ``max_bytes`` bounds
    each serialised attribute; ``redactors`` run in order on every call's content before it is
    serialised; events go to ``logger_provider``, else to the global one.
    """
    logger = get_logger(n.INSTRUMENTATION_SCOPE, __version__, logger_provider) if logger_provider else None
    parsed = _parse_mode(mode)
    _settings.max_bytes, _settings.redactors, _settings.logger = max(max_bytes, 1), tuple(redactors), logger
    _settings.mode = parsed  # last: a call starting meanwhile sees the new budget and redactors


def content_mode() -> ContentMode:
    """The mode for a call starting now: the innermost ``capture_content`` override, else the setting."""
    return _override.get() or _settings.mode


@contextmanager
def capture_content(enabled: bool | str | ContentMode = True) -> Iterator[None]:
    """Force (or suppress, with False) content capture for the calls made inside the block.

    Example::

        with llm_otel.capture_content(False):
            client.chat.completions.create(...)  # never recorded, whatever the setting

    True keeps the configured mode when it captures, else records on the span only.
    """
    mode: ContentMode
    if enabled is True:
        mode = _settings.mode if _settings.mode is not ContentMode.NO_CONTENT else ContentMode.SPAN_ONLY
    else:
        mode = _parse_mode(enabled)
    token = _override.set(mode)
    try:
        yield
    finally:
        _override.reset(token)


# --- per call -----------------------------------------------------------------------------------


class _TeeAccumulator:
    """The provider's stream accumulator, with content assembled beside it (capture on only)."""

    __slots__ = ("content", "inner")

    def __init__(self, inner: Any, content: StreamContent) -> None:
        self.inner = inner
        self.content = content

    def add(self, chunk: Any) -> bool:
        try:
            self.content.add(chunk)
        except Exception as err:
            internal_error("content chunk", err)
        hidden: bool = self.inner.add(chunk)
        return hidden

    def outcome(self) -> Any:
        return self.inner.outcome()


class CallContent:
    """What one call captures: its request's content at start, its output at the end."""

    __slots__ = ("content", "mode", "reader", "stream")

    def __init__(self, reader: ContentReader, kwargs: Mapping[str, Any], mode: ContentMode) -> None:
        self.reader = reader
        self.mode = mode
        self.content = reader.request(kwargs)
        self.stream: StreamContent | None = None

    def output(self, result: Any) -> None:
        """Read a non-stream result's output messages. Never raises."""
        try:
            self.content.output_messages = self.reader.response(result)
        except Exception as err:
            internal_error("content response", err)

    def tee(self, accumulator: Any) -> Any:
        """An accumulator that also assembles the stream's output messages. Never raises."""
        try:
            self.stream = self.reader.stream()
        except Exception as err:
            internal_error("content stream", err)
            return accumulator
        return _TeeAccumulator(accumulator, self.stream)

    def finish(self, span: Span, attrs: Mapping[str, Any]) -> None:
        """Redact, truncate and record the content on the span and/or as a log event. Never raises."""
        try:
            if self.stream is not None:
                self.content.output_messages = self.stream.messages()
            content = _redact(self.content)
            if content is None:
                return
            values = _values(content)
            if self.mode.on_span and span.is_recording():
                span.set_attributes({key: _serialise(value, _settings.max_bytes) for key, value in values.items()})
            if self.mode.as_event:
                _emit(span, attrs, values)
        except Exception as err:
            internal_error("content", err)


def start(reader: ContentReader | None, kwargs: Mapping[str, Any]) -> CallContent | None:
    """The call's content record when capture is on for it and the method has content, else None."""
    if reader is None:
        return None
    mode = _override.get() or _settings.mode
    if mode is ContentMode.NO_CONTENT:
        return None
    try:
        return CallContent(reader, kwargs, mode)
    except Exception as err:
        internal_error("content request", err)
        return None


def _redact(content: Content) -> Content | None:
    for redactor in _settings.redactors:
        try:
            content = redactor(content) or content
        except Exception as err:
            # Unredacted content must never leave: a failing redactor drops the call's content.
            internal_error("redactor", err)
            return None
    return content


def _values(content: Content) -> dict[str, list[Any]]:
    pairs = (
        (n.INPUT_MESSAGES, content.input_messages),
        (n.OUTPUT_MESSAGES, content.output_messages),
        (n.SYSTEM_INSTRUCTIONS, content.system_instructions),
        (n.TOOL_DEFINITIONS, content.tool_definitions),
    )
    return {key: value for key, value in pairs if value}


def _emit(span: Span, attrs: Mapping[str, Any], values: dict[str, list[Any]]) -> None:
    logger = _settings.logger or get_logger(n.INSTRUMENTATION_SCOPE, __version__)
    limit = _settings.max_bytes
    # Events carry the structured values (log attributes allow them), bounded like the span's.
    body = {key: json.loads(_serialise(value, limit)) for key, value in values.items()}
    logger.emit(
        LogRecord(
            event_name=n.EVENT_INFERENCE_DETAILS,
            context=trace.set_span_in_context(span),
            attributes={**attrs, **body},
        )
    )


# --- truncation ---------------------------------------------------------------------------------


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _size(text: str) -> int:
    return len(text.encode())


def _cut(value: Any, cap: int) -> Any:
    """``value`` with every string longer than ``cap`` characters cut and marked."""
    if isinstance(value, str):
        return value if len(value) <= cap else value[:cap] + TRUNCATED
    if isinstance(value, list):
        return [_cut(item, cap) for item in value]
    if isinstance(value, dict):
        return {key: _cut(item, cap) for key, item in value.items()}
    return value


def _longest(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list):
        return max((_longest(item) for item in value), default=0)
    if isinstance(value, dict):
        return max((_longest(item) for item in value.values()), default=0)
    return 0


def _serialise(value: list[Any], limit: int) -> str:
    """JSON of ``value`` within ``limit`` UTF-8 bytes, still valid JSON when cut.

    Over the budget, the longest strings are cut to the largest common length that fits (each
    cut one marked); if even that is too long, the oldest items go, then a bare marker remains.
    """
    text = _dump(value)
    if _size(text) <= limit:
        return text
    low, high = 0, _longest(value)
    while low < high:  # the largest cap that fits, by bisection: a few dumps, only when over budget
        middle = (low + high + 1) // 2
        if _size(_dump(_cut(value, middle))) <= limit:
            low = middle
        else:
            high = middle - 1
    items = _cut(value, low)
    while items:
        text = _dump(items)
        if _size(text) <= limit:
            return text
        items = items[1:]
    return _dump([TRUNCATED]) if _size(_dump([TRUNCATED])) <= limit else "[]"
