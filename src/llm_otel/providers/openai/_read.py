"""Reading OpenAI requests, responses and stream chunks into the core's neutral record.

Everything is read defensively (``getattr`` with defaults, type checks): responses from
OpenAI-compatible servers and odd SDK versions omit or mistype fields, and a bad field must cost
one attribute, not the call's telemetry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import Any

from llm_otel.providers._read import Reader, field, integer, number, parsed, response_format_type, string, strings
from llm_otel.telemetry import Attributes, Outcome
from llm_otel.telemetry import _names as n


def _service_tier(value: Any) -> str | None:
    return None if value == "auto" else string(value)  # "auto" is the default, not a choice


def _choice_count(value: Any) -> int | None:
    count = integer(value)
    return count if count is not None and count != 1 else None


def _output_type(value: Any) -> str | None:
    """``response_format`` / ``text.format``: a dict with a type, or a pydantic class for parse()."""
    return n.OUTPUT_JSON if isinstance(value, type) else response_format_type(value)


def _text_format(value: Any) -> str | None:
    return _output_type(value.get("format")) if isinstance(value, Mapping) else None


def _conversation(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("id")
    return string(value)


_SAMPLING: tuple[Reader, ...] = (
    ("temperature", n.REQUEST_TEMPERATURE, number),
    ("top_p", n.REQUEST_TOP_P, number),
    ("service_tier", n.OPENAI_REQUEST_SERVICE_TIER, _service_tier),
)
CHAT_REQUEST: tuple[Reader, ...] = (
    *_SAMPLING,
    ("max_tokens", n.REQUEST_MAX_TOKENS, integer),
    ("max_completion_tokens", n.REQUEST_MAX_TOKENS, integer),  # wins over the older name
    ("frequency_penalty", n.REQUEST_FREQUENCY_PENALTY, number),
    ("presence_penalty", n.REQUEST_PRESENCE_PENALTY, number),
    ("stop", n.REQUEST_STOP_SEQUENCES, strings),
    ("seed", n.REQUEST_SEED, integer),
    ("n", n.REQUEST_CHOICE_COUNT, _choice_count),
    ("response_format", n.OUTPUT_TYPE, _output_type),
)
RESPONSES_REQUEST: tuple[Reader, ...] = (
    *_SAMPLING,
    ("max_output_tokens", n.REQUEST_MAX_TOKENS, integer),
    ("text", n.OUTPUT_TYPE, _text_format),
    ("text_format", n.OUTPUT_TYPE, _output_type),
    ("conversation", n.CONVERSATION_ID, _conversation),
)
EMBEDDINGS_REQUEST: tuple[Reader, ...] = (
    ("encoding_format", n.REQUEST_ENCODING_FORMATS, strings),
    ("dimensions", n.EMBEDDINGS_DIMENSION_COUNT, integer),
)


# --- responses ----------------------------------------------------------------------------------


def _usage(outcome: Outcome, usage: Any) -> None:
    if usage is None:
        return
    # Chat/completions name them prompt/completion; the Responses API input/output.
    outcome.input_tokens = integer(getattr(usage, "prompt_tokens", None))
    if outcome.input_tokens is None:
        outcome.input_tokens = integer(getattr(usage, "input_tokens", None))
    outcome.output_tokens = integer(getattr(usage, "completion_tokens", None))
    if outcome.output_tokens is None:
        outcome.output_tokens = integer(getattr(usage, "output_tokens", None))
    # The breakdowns are kept only when non-zero: OpenAI reports zeros on every call, and each span
    # attribute costs as much to record as the rest of our per-call work.
    details = field(usage, "prompt_tokens_details") or field(usage, "input_tokens_details")
    outcome.cache_read_tokens = integer(field(details, "cached_tokens")) or None
    outcome.cache_creation_tokens = integer(field(details, "cache_write_tokens")) or None
    details = field(usage, "completion_tokens_details") or field(usage, "output_tokens_details")
    outcome.reasoning_tokens = integer(field(details, "reasoning_tokens")) or None


def _details(outcome: Outcome, result: Any) -> None:
    attrs: Attributes = {}
    fingerprint = string(getattr(result, "system_fingerprint", None))
    if fingerprint:
        attrs[n.OPENAI_RESPONSE_SYSTEM_FINGERPRINT] = fingerprint
    tier = string(getattr(result, "service_tier", None))
    if tier:
        attrs[n.OPENAI_RESPONSE_SERVICE_TIER] = tier
    outcome.attributes = attrs


def _read(result: Any, recording: bool, finish_reasons: Callable[[Any], list[str] | None]) -> Outcome:
    outcome = Outcome()
    result = parsed(result)
    if result is None:
        return outcome
    outcome.response_model = string(getattr(result, "model", None))
    _usage(outcome, getattr(result, "usage", None))
    if recording:
        outcome.response_id = string(getattr(result, "id", None))
        outcome.finish_reasons = finish_reasons(result)
        _details(outcome, result)
    return outcome


def _choice_finish_reasons(result: Any) -> list[str] | None:
    choices = getattr(result, "choices", None)
    if not isinstance(choices, list):
        return None
    reasons = [getattr(choice, "finish_reason", None) for choice in choices]
    return [reason for reason in reasons if isinstance(reason, str)] or None


def read_completion(result: Any, recording: bool) -> Outcome:
    """A chat completion, a legacy completion or an embeddings response."""
    return _read(result, recording, _choice_finish_reasons)


# Responses API status -> finish reason, in the chat vocabulary the conventions use.
_INCOMPLETE_REASONS = {"max_output_tokens": "length", "content_filter": "content_filter"}


def _response_finish_reason(response: Any) -> list[str] | None:
    status = getattr(response, "status", None)
    if status == "incomplete":
        reason = getattr(getattr(response, "incomplete_details", None), "reason", None)
        return [_INCOMPLETE_REASONS.get(reason, "incomplete") if isinstance(reason, str) else "incomplete"]
    if status == "completed":
        output = getattr(response, "output", None) or ()
        calls = any(getattr(item, "type", None) == "function_call" for item in output)
        return ["tool_calls" if calls else "stop"]
    return [status] if isinstance(status, str) else None


def read_response(result: Any, recording: bool) -> Outcome:
    """A Responses API ``Response``."""
    return _read(result, recording, _response_finish_reason)


# --- streams ------------------------------------------------------------------------------------


class ChunkAccumulator:
    """Chat and legacy completion chunks: ids and model from any chunk, usage from the last."""

    __slots__ = ("hide_usage", "last", "reasons", "usage")

    def __init__(self, hide_usage: bool) -> None:
        self.hide_usage = hide_usage
        self.last: Any = None
        self.usage: Any = None
        self.reasons: dict[Any, str] = {}

    def add(self, chunk: Any) -> bool:
        self.last = chunk
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.usage = usage
        choices = getattr(chunk, "choices", None)
        if choices and isinstance(choices, list):
            for choice in choices:
                reason = getattr(choice, "finish_reason", None)
                if reason is not None:
                    index = getattr(choice, "index", 0)
                    self.reasons[index if isinstance(index, int) else -1] = reason
            return False
        # The usage-only chunk we asked for on the caller's behalf: they never see it.
        return self.hide_usage and usage is not None

    def outcome(self) -> Outcome:
        outcome = Outcome()
        last = self.last
        if last is not None:
            outcome.response_model = string(getattr(last, "model", None))
            outcome.response_id = string(getattr(last, "id", None))
            _details(outcome, last)
        usage = self.usage
        if usage is None and last is not None:
            # Groq reports a stream's usage in its own extension of the final chunk.
            usage = field(field(last, "x_groq"), "usage")
            if isinstance(usage, Mapping):
                usage = SimpleNamespace(**usage)
        _usage(outcome, usage)
        reasons = [reason for reason in self.reasons.values() if isinstance(reason, str)]
        outcome.finish_reasons = reasons or None
        return outcome


_CARRY_RESPONSE = frozenset(
    {
        "response.created",
        "response.in_progress",
        "response.completed",
        "response.incomplete",
        "response.failed",
    }
)


class ResponseEventAccumulator:
    """Responses API events: the latest event carrying the whole response wins."""

    __slots__ = ("response",)

    def __init__(self) -> None:
        self.response: Any = None

    def add(self, event: Any) -> bool:
        if getattr(event, "type", None) in _CARRY_RESPONSE:
            self.response = getattr(event, "response", None)
        return False

    def outcome(self) -> Outcome:
        return read_response(self.response, True) if self.response is not None else Outcome()
