"""Reading Bedrock's Converse API (``converse``, ``converse_stream``) into the core's neutral record.

botocore hands the operation's parameters over as one dict (``modelId``, ``messages``,
``inferenceConfig`` ...) and returns plain dicts parsed from the JSON; a stream is botocore's
``EventStream`` of one-key event dicts. Bedrock answers with no response id nor model: the
request id (``ResponseMetadata.RequestId``) is the call's id, as in AWS's own tooling.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from llm_otel.providers._read import Reader, integer, number, request_reader, string, strings
from llm_otel.telemetry import Accumulator, Attributes, Outcome
from llm_otel.telemetry import _names as n

RequestReader = Callable[[Mapping[str, Any]], Attributes]

# Every model family's stop reasons -> the conventions' (stop, length, content_filter, tool_call,
# error); a reason none of them knows is kept as sent.
FINISH_REASONS = {
    "end_turn": "stop",  # Converse, Anthropic, Nova
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_call",
    "content_filtered": "content_filter",
    "guardrail_intervened": "content_filter",
    "refusal": "content_filter",  # Anthropic
    "tool_calls": "tool_call",  # Mistral
    "COMPLETE": "stop",  # Cohere
    "STOP_SEQUENCE": "stop",
    "MAX_TOKENS": "length",
    "TOOL_CALL": "tool_call",
    "ERROR_TOXIC": "content_filter",
    "ERROR": "error",
}


def finish_reason(reason: Any) -> str | None:
    reason = string(reason)
    return FINISH_REASONS.get(reason, reason) if reason else None


def reasons(reason: Any) -> list[str] | None:
    mapped = finish_reason(reason)
    return [mapped] if mapped else None


def model_id(params: Mapping[str, Any]) -> str | None:
    """``modelId``: a model, an inference profile (``us.anthropic...``) or an ARN, as given."""
    model = params.get("modelId")
    return model if isinstance(model, str) else None


def request_id(result: Any) -> str | None:
    metadata = result.get("ResponseMetadata") if type(result) is dict else None
    return string(metadata.get("RequestId")) if type(metadata) is dict else None


def streamed(read: RequestReader) -> RequestReader:
    """A request reader for the streaming operations, which take no ``stream`` parameter."""

    def read_streamed(params: Mapping[str, Any]) -> Attributes:
        return {**read(params), n.REQUEST_STREAM: True}

    return read_streamed


def nested(key: str, readers: tuple[Reader, ...]) -> RequestReader:
    """A request reader of the parameters kept in one dict of the request (``inferenceConfig``)."""
    read = request_reader(readers)

    def read_nested(params: Mapping[str, Any]) -> Attributes:
        inner = params.get(key)
        return read(inner) if isinstance(inner, dict) else {}

    return read_nested


read_converse = nested(
    "inferenceConfig",
    (
        ("maxTokens", n.REQUEST_MAX_TOKENS, integer),
        ("temperature", n.REQUEST_TEMPERATURE, number),
        ("topP", n.REQUEST_TOP_P, number),
        ("stopSequences", n.REQUEST_STOP_SEQUENCES, strings),
    ),
)


def set_usage(outcome: Outcome, usage: Any, keys: tuple[str, str, str, str]) -> None:
    """Token counts of a usage dict, by its (input, output, cache read, cache write) keys.

    Bedrock counts input tokens as Anthropic does, without those read from or written to the
    prompt cache; the conventions' ``gen_ai.usage.input_tokens`` counts every input token.
    """
    if type(usage) is not dict:
        return
    uncached, output, read, written = (integer(usage.get(key)) for key in keys)
    outcome.output_tokens = output
    outcome.cache_read_tokens = read or None
    outcome.cache_creation_tokens = written or None
    if uncached is not None:
        outcome.input_tokens = uncached + (read or 0) + (written or 0)


_CONVERSE_USAGE = ("inputTokens", "outputTokens", "cacheReadInputTokens", "cacheWriteInputTokens")


def converse_usage(outcome: Outcome, usage: Any) -> None:
    """Converse's ``usage``."""
    set_usage(outcome, usage, _CONVERSE_USAGE)


def read_converse_response(result: Any, recording: bool) -> Outcome:
    """``converse``'s dict: ``output``, ``stopReason``, ``usage``, ``metrics``, ``ResponseMetadata``."""
    outcome = Outcome()
    if type(result) is not dict:
        return outcome
    converse_usage(outcome, result.get("usage"))
    if recording:
        outcome.response_id = request_id(result)
        outcome.finish_reasons = reasons(result.get("stopReason"))
    return outcome


class ConverseEvents:
    """``converse_stream``'s events: ``messageStop`` carries the stop reason, ``metadata`` the usage."""

    __slots__ = ("reason", "request_id", "usage")

    def __init__(self, request: str | None) -> None:
        self.request_id = request
        self.reason: Any = None
        self.usage: Any = None

    def add(self, event: Any) -> bool:
        # Text deltas, by far the most events, carry nothing to read.
        if "contentBlockDelta" in event:
            return False
        stop = event.get("messageStop")
        if stop is not None:
            self.reason = stop.get("stopReason")
        else:
            metadata = event.get("metadata")
            if metadata is not None:
                self.usage = metadata.get("usage")
        return False

    def outcome(self) -> Outcome:
        outcome = Outcome()
        outcome.response_id = self.request_id
        converse_usage(outcome, self.usage)
        outcome.finish_reasons = reasons(self.reason)
        return outcome


def stream_of(key: str, make: Callable[[str | None], Accumulator]) -> Callable[[Any, bool], Accumulator | None]:
    """An operation's stream check: an accumulator when the result dict holds its stream at ``key``."""

    def events(result: Any, _injected: bool) -> Accumulator | None:
        return make(request_id(result)) if type(result) is dict and key in result else None

    return events
