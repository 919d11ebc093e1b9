"""Reading Cohere v2 requests, responses and stream events into the core's neutral record.

Requests are the raw client methods' keywords (every one is keyword-only; the SDK's ``OMIT`` marks
what the caller left out, which no reader accepts). Responses are the raw layer's ``HttpResponse``
holding the SDK's model in ``data``.
Cohere counts tokens as floats (``UsageTokens.input_tokens: Optional[float]``), so counts are
read as whole numbers, never as ints only.
"""

from __future__ import annotations

from typing import Any

from llm_otel.providers._read import (
    Reader,
    field,
    integer,
    number,
    request_reader,
    response_format_type,
    string,
    strings,
)
from llm_otel.telemetry import Accumulator, Outcome
from llm_otel.telemetry import _names as n

# The raw client layer's results: the model is their ``data``.
_HTTP_RESPONSES = frozenset({"HttpResponse", "AsyncHttpResponse"})


def unwrapped(result: Any) -> Any:
    """The model behind a raw client's ``HttpResponse`` (anything else as it is)."""
    return result.data if type(result).__name__ in _HTTP_RESPONSES else result


def count(value: Any) -> int | None:
    """A token count: Cohere's floats (``5.0``) as ints; fractions and negatives are not counts."""
    value = number(value)
    if value is None or value < 0 or value != int(value):
        return None
    return int(value)


CHAT_REQUEST: tuple[Reader, ...] = (
    ("temperature", n.REQUEST_TEMPERATURE, number),
    ("p", n.REQUEST_TOP_P, number),
    ("k", n.REQUEST_TOP_K, number),
    ("max_tokens", n.REQUEST_MAX_TOKENS, integer),
    ("stop_sequences", n.REQUEST_STOP_SEQUENCES, strings),
    ("seed", n.REQUEST_SEED, integer),
    ("frequency_penalty", n.REQUEST_FREQUENCY_PENALTY, number),
    ("presence_penalty", n.REQUEST_PRESENCE_PENALTY, number),
    ("response_format", n.OUTPUT_TYPE, response_format_type),
)
# The conventions name Cohere's embedding types as the encoding formats they are.
EMBED_REQUEST: tuple[Reader, ...] = (
    ("output_dimension", n.EMBEDDINGS_DIMENSION_COUNT, integer),
    ("embedding_types", n.REQUEST_ENCODING_FORMATS, strings),
)
read_chat = request_reader(CHAT_REQUEST)
read_embed = request_reader(EMBED_REQUEST)

# finish_reason -> the conventions' (stop, length, content_filter, tool_call, error). TIMEOUT is the
# server giving up on the generation.
FINISH_REASONS = {
    "COMPLETE": "stop",
    "STOP_SEQUENCE": "stop",
    "MAX_TOKENS": "length",
    "TOOL_CALL": "tool_call",
    "ERROR": "error",
    "TIMEOUT": "error",
}


def finish_reason(reason: Any) -> str | None:
    reason = string(reason)
    return FINISH_REASONS.get(reason, reason.lower()) if reason else None


def _usage(outcome: Outcome, usage: Any) -> None:
    """A chat's ``usage`` or an embedding's ``meta``: the counted ``tokens``, else the ``billed_units``
    (embeddings report only those); ``cached_tokens`` are the prompt tokens served from the cache."""
    if usage is None:
        return
    tokens = field(usage, "tokens") or field(usage, "billed_units")
    if tokens is not None:
        outcome.input_tokens = count(field(tokens, "input_tokens"))
        outcome.output_tokens = count(field(tokens, "output_tokens"))
    outcome.cache_read_tokens = count(field(usage, "cached_tokens")) or None


def read_response(result: Any, recording: bool) -> Outcome:
    """A ``V2ChatResponse`` (``ChatResponse`` in 5.x) or an ``EmbedByTypeResponse``, in its ``HttpResponse``."""
    result = unwrapped(result)
    outcome = Outcome()
    _usage(outcome, field(result, "usage") or field(result, "meta"))
    if recording:
        outcome.response_id = string(field(result, "id"))
        reason = finish_reason(field(result, "finish_reason"))
        outcome.finish_reasons = [reason] if reason else None
    return outcome


class EventAccumulator:
    """v2 chat stream events: the id from ``message-start``, the finish reason and usage from
    ``message-end`` (a stream cut before it reports neither). Cohere names no model in a reply."""

    __slots__ = ("id", "reason", "usage")

    def __init__(self) -> None:
        self.id: Any = None
        self.reason: Any = None
        self.usage: Any = None

    def add(self, event: Any) -> bool:
        kind = getattr(event, "type", None)
        if kind == "message-start":
            self.id = getattr(event, "id", None)
        elif kind == "message-end":
            delta = getattr(event, "delta", None)
            self.reason = getattr(delta, "finish_reason", None)
            self.usage = getattr(delta, "usage", None)
        return False

    def outcome(self) -> Outcome:
        outcome = Outcome()
        outcome.response_id = string(self.id)
        _usage(outcome, self.usage)
        reason = finish_reason(self.reason)
        outcome.finish_reasons = [reason] if reason else None
        return outcome


def events(_result: Any, _injected: bool) -> Accumulator | None:
    """``chat_stream`` always streams: the entered ``HttpResponse``'s event iterator is the stream."""
    return EventAccumulator()


def no_stream(_result: Any, _injected: bool) -> Accumulator | None:
    return None
