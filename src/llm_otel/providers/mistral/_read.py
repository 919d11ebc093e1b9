"""Reading Mistral requests, responses and stream events into the core's neutral record.

Requests are the resource methods' keywords (every one is keyword-only). Responses and chunks are
the SDK's pydantic models, read with ``field`` so that a missing or plain-dict field (usage
details the SDK keeps as extras) costs one attribute, never the call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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
from llm_otel.telemetry import Accumulator, Attributes, Outcome
from llm_otel.telemetry import _names as n


def _choice_count(value: Any) -> int | None:
    count = integer(value)
    return count if count is not None and count != 1 else None


_SAMPLING: tuple[Reader, ...] = (
    ("temperature", n.REQUEST_TEMPERATURE, number),
    ("top_p", n.REQUEST_TOP_P, number),
    ("max_tokens", n.REQUEST_MAX_TOKENS, integer),
    ("stop", n.REQUEST_STOP_SEQUENCES, strings),
    ("random_seed", n.REQUEST_SEED, integer),
)
CHAT_REQUEST: tuple[Reader, ...] = (
    *_SAMPLING,
    ("top_k", n.REQUEST_TOP_K, integer),
    ("presence_penalty", n.REQUEST_PRESENCE_PENALTY, number),
    ("frequency_penalty", n.REQUEST_FREQUENCY_PENALTY, number),
    ("n", n.REQUEST_CHOICE_COUNT, _choice_count),
    ("response_format", n.OUTPUT_TYPE, response_format_type),
)
EMBEDDINGS_REQUEST: tuple[Reader, ...] = (
    ("output_dimension", n.EMBEDDINGS_DIMENSION_COUNT, integer),
    ("encoding_format", n.REQUEST_ENCODING_FORMATS, strings),
)
read_chat = request_reader(CHAT_REQUEST)
read_fim = request_reader(_SAMPLING)
read_embeddings = request_reader(EMBEDDINGS_REQUEST)


RequestReader = Callable[[Mapping[str, Any]], Attributes]


def streamed(read: RequestReader) -> RequestReader:
    """A request reader for the ``stream`` methods, which stream without a ``stream`` keyword."""

    def read_streamed(kwargs: Mapping[str, Any]) -> Attributes:
        return {**read(kwargs), n.REQUEST_STREAM: True}

    return read_streamed


# finish_reason -> the conventions' (stop, length, content_filter, tool_call, error): Mistral ends a
# reply cut by the model's context window with ``model_length``, a tool call with ``tool_calls``.
FINISH_REASONS = {"tool_calls": "tool_call", "model_length": "length"}


def finish_reason(reason: Any) -> str | None:
    reason = string(reason)
    return FINISH_REASONS.get(reason, reason) if reason else None


def _usage(outcome: Outcome, usage: Any) -> None:
    if usage is None:
        return
    outcome.input_tokens = integer(field(usage, "prompt_tokens"))
    outcome.output_tokens = integer(field(usage, "completion_tokens"))
    # Prompt caching is reported as OpenAI does; the SDK keeps the field as a pydantic extra.
    outcome.cache_read_tokens = integer(field(field(usage, "prompt_tokens_details"), "cached_tokens")) or None


def _reasons(choices: Any) -> list[str] | None:
    reasons = [finish_reason(field(choice, "finish_reason")) for choice in choices or ()]
    return [reason for reason in reasons if reason] or None


def read_response(result: Any, recording: bool) -> Outcome:
    """A ``ChatCompletionResponse``, a FIM completion's (the same model) or an ``EmbeddingResponse``."""
    outcome = Outcome()
    outcome.response_model = string(field(result, "model"))
    _usage(outcome, field(result, "usage"))
    if recording:
        outcome.response_id = string(field(result, "id"))
        outcome.finish_reasons = _reasons(field(result, "choices"))
    return outcome


class EventAccumulator:
    """``CompletionEvent``s: the id and model from any chunk, finish reasons per choice, and the
    usage the last chunk carries (a stream cut before it reports none)."""

    __slots__ = ("last", "reasons", "usage")

    def __init__(self) -> None:
        self.last: Any = None
        self.usage: Any = None
        self.reasons: dict[Any, str] = {}

    def add(self, event: Any) -> bool:
        chunk = getattr(event, "data", None)
        if chunk is None:
            return False
        self.last = chunk
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.usage = usage
        for choice in getattr(chunk, "choices", None) or ():
            reason = getattr(choice, "finish_reason", None)
            if reason is not None:
                self.reasons[getattr(choice, "index", 0)] = reason
        return False

    def outcome(self) -> Outcome:
        outcome = Outcome()
        if self.last is not None:
            outcome.response_model = string(getattr(self.last, "model", None))
            outcome.response_id = string(getattr(self.last, "id", None))
        _usage(outcome, self.usage)
        reasons = [finish_reason(reason) for reason in self.reasons.values()]
        outcome.finish_reasons = [reason for reason in reasons if reason] or None
        return outcome


# By name: the SDK's module moved (``mistralai.utils`` in 1.x, ``mistralai.client.utils`` since 2.0).
_STREAM_TYPES = frozenset({"EventStream", "EventStreamAsync"})


def events(result: Any, _injected: bool) -> Accumulator | None:
    """An accumulator when the result is a stream of ``CompletionEvent``s."""
    return EventAccumulator() if type(result).__name__ in _STREAM_TYPES else None
