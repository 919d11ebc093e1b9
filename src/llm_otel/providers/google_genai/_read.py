"""Reading google-genai requests, responses and stream chunks into the core's neutral record.

A request is the method's keywords: ``model``, ``contents`` and a ``config`` that is a
``GenerateContentConfig`` (or ``EmbedContentConfig``), a plain dict of the same fields, or None.
Responses and chunks are the SDK's pydantic models; every field is read with ``field`` so that a
missing one, or one an older release does not model, costs one attribute, never the call.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import AsyncGeneratorType, GeneratorType
from typing import Any

from llm_otel.providers._read import Reader, field, integer, number, request_reader, string, strings
from llm_otel.telemetry import Accumulator, Attributes, Outcome
from llm_otel.telemetry import _names as n


def model_name(kwargs: Mapping[str, Any]) -> str | None:
    """The ``model`` keyword without its resource path: ``models/gemini-2.5-flash`` (Gemini API) and
    ``publishers/google/models/gemini-2.5-flash`` (Vertex AI) are ``gemini-2.5-flash``."""
    model = kwargs.get("model")
    if not isinstance(model, str):
        return None
    return model.rpartition("models/")[2] if model.startswith(("models/", "publishers/", "projects/")) else model


def _top_k(value: Any) -> int | None:
    # The SDK types top_k as a float; the conventions' attribute is an integer.
    top_k = number(value)
    return int(top_k) if top_k is not None and top_k == int(top_k) else None


def _choice_count(value: Any) -> int | None:
    count = integer(value)
    return count if count is not None and count != 1 else None


_OUTPUT_TYPES = {"application/json": n.OUTPUT_JSON, "text/plain": n.OUTPUT_TEXT}


def _output_type(value: Any) -> str | None:
    """``response_mime_type``: JSON for ``application/json``, text for ``text/plain``."""
    return _OUTPUT_TYPES.get(value) if isinstance(value, str) else None


_GENERATE_CONFIG: tuple[Reader, ...] = (
    ("temperature", n.REQUEST_TEMPERATURE, number),
    ("top_p", n.REQUEST_TOP_P, number),
    ("top_k", n.REQUEST_TOP_K, _top_k),
    ("max_output_tokens", n.REQUEST_MAX_TOKENS, integer),
    ("stop_sequences", n.REQUEST_STOP_SEQUENCES, strings),
    ("candidate_count", n.REQUEST_CHOICE_COUNT, _choice_count),
    ("seed", n.REQUEST_SEED, integer),
    ("presence_penalty", n.REQUEST_PRESENCE_PENALTY, number),
    ("frequency_penalty", n.REQUEST_FREQUENCY_PENALTY, number),
    ("response_mime_type", n.OUTPUT_TYPE, _output_type),
)
_EMBED_CONFIG: tuple[Reader, ...] = (("output_dimensionality", n.EMBEDDINGS_DIMENSION_COUNT, integer),)
_read_generate = request_reader(_GENERATE_CONFIG)
_read_embed = request_reader(_EMBED_CONFIG)


def config_fields(kwargs: Mapping[str, Any]) -> Mapping[str, Any]:
    """The config's fields: a pydantic config's own (unset ones None, which the readers skip) or a dict."""
    config = kwargs.get("config")
    if config is None or isinstance(config, Mapping):
        return config or {}
    fields: Mapping[str, Any] = vars(config)
    return fields


def read_generate(kwargs: Mapping[str, Any]) -> Attributes:
    """``generate_content``'s config: sampling, limits, candidate count and output type."""
    return _read_generate(config_fields(kwargs))


def read_stream(kwargs: Mapping[str, Any]) -> Attributes:
    """``generate_content_stream``, which streams without a ``stream`` keyword."""
    return {**_read_generate(config_fields(kwargs)), n.REQUEST_STREAM: True}


def read_embed(kwargs: Mapping[str, Any]) -> Attributes:
    """``embed_content``'s config: the output dimensionality."""
    return _read_embed(config_fields(kwargs))


# FinishReason -> the conventions' (stop, length, content_filter, tool_call, error). Gemini ends a reply
# calling a function with STOP; the reply's parts tell it apart (see ``finish_reason``). Reasons not
# listed (LANGUAGE, OTHER, NO_IMAGE ...) pass through in lower case.
FINISH_REASONS = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "IMAGE_RECITATION": "content_filter",
    "MODEL_ARMOR": "content_filter",
    "MALFORMED_FUNCTION_CALL": "error",
    "UNEXPECTED_TOOL_CALL": "error",
    "TOO_MANY_TOOL_CALLS": "error",
    "MALFORMED_RESPONSE": "error",
}


def finish_reason(reason: Any, called: bool) -> str | None:
    """A candidate's ``finish_reason`` (the SDK's enum, or a string) in the conventions' terms."""
    name = string(getattr(reason, "value", reason))
    if name is None:
        return None
    mapped = FINISH_REASONS.get(name) or name.lower()
    return "tool_call" if called and mapped == "stop" else mapped


def called_function(candidate: Any) -> bool:
    """Whether a candidate's content calls a function."""
    return any(field(part, "function_call") is not None for part in field(field(candidate, "content"), "parts") or ())


def _usage(outcome: Outcome, usage: Any) -> None:
    """``usage_metadata``: the prompt (cached content included) and the tool-use prompt are the input;
    the candidates and the thoughts, which Gemini counts apart, the output."""
    if usage is None:
        return
    prompt = integer(field(usage, "prompt_token_count"))
    tool_prompt = integer(field(usage, "tool_use_prompt_token_count")) or 0
    outcome.input_tokens = None if prompt is None else prompt + tool_prompt
    candidates = integer(field(usage, "candidates_token_count"))
    thoughts = integer(field(usage, "thoughts_token_count"))
    if candidates is not None or thoughts is not None:
        outcome.output_tokens = (candidates or 0) + (thoughts or 0)
    outcome.cache_read_tokens = integer(field(usage, "cached_content_token_count")) or None
    outcome.reasoning_tokens = thoughts or None


def _blocked(response: Any) -> list[str] | None:
    # A prompt the safety filters block gets no candidates, only a block reason.
    return ["content_filter"] if field(field(response, "prompt_feedback"), "block_reason") is not None else None


def read_response(result: Any, recording: bool) -> Outcome:
    """A ``GenerateContentResponse``, or an ``EmbedContentResponse`` (usage on Vertex AI only)."""
    outcome = Outcome()
    outcome.response_model = string(field(result, "model_version"))
    _usage(outcome, field(result, "usage_metadata"))
    if outcome.input_tokens is None:  # Vertex AI's embeddings count the tokens of each input
        counts = [integer(field(field(e, "statistics"), "token_count")) for e in field(result, "embeddings") or ()]
        outcome.input_tokens = sum(c for c in counts if c is not None) if any(c is not None for c in counts) else None
    if recording:
        outcome.response_id = string(field(result, "response_id"))
        candidates = field(result, "candidates") or ()
        reasons = [finish_reason(field(c, "finish_reason"), called_function(c)) for c in candidates]
        outcome.finish_reasons = [reason for reason in reasons if reason] or _blocked(result)
    return outcome


class ChunkAccumulator:
    """Stream chunks: each carries the usage so far, so the last one's is kept, never summed; the
    model and id from any chunk; per candidate, its finish reason and whether it called a function."""

    __slots__ = ("called", "last", "reasons", "usage")

    def __init__(self) -> None:
        self.last: Any = None
        self.usage: Any = None
        self.reasons: dict[Any, Any] = {}
        self.called: set[Any] = set()

    def add(self, chunk: Any) -> bool:
        self.last = chunk
        usage = chunk.usage_metadata
        if usage is not None:
            self.usage = usage
        for candidate in chunk.candidates or ():
            index = candidate.index
            if index not in self.called and called_function(candidate):
                self.called.add(index)
            if candidate.finish_reason is not None:
                self.reasons[index] = candidate.finish_reason
        return False

    def outcome(self) -> Outcome:
        outcome = Outcome()
        if self.last is not None:
            outcome.response_model = string(field(self.last, "model_version"))
            outcome.response_id = string(field(self.last, "response_id"))
        _usage(outcome, self.usage)
        reasons = [finish_reason(reason, index in self.called) for index, reason in self.reasons.items()]
        outcome.finish_reasons = [reason for reason in reasons if reason] or _blocked(self.last)
        return outcome


def chunks(result: Any, _injected: bool) -> Accumulator | None:
    """An accumulator when the result is a stream: the generator ``_generate_content_stream`` returns."""
    return ChunkAccumulator() if isinstance(result, (GeneratorType, AsyncGeneratorType)) else None
