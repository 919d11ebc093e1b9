"""Reading Ollama request bodies, responses and stream chunks into the core's neutral record.

Requests are read from the JSON body the client sends (see ``OllamaInstrumentor``): the sampling
parameters sit in its ``options``. Responses are the SDK's pydantic models; every field is read
with ``field`` so that a compatible server's plain-dict or missing field costs one attribute.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import AsyncGeneratorType, GeneratorType
from typing import Any

from llm_otel.providers._read import Reader, field, integer, number, request_reader, string, strings
from llm_otel.telemetry import Accumulator, Attributes, Outcome
from llm_otel.telemetry import _names as n


def _max_tokens(value: Any) -> int | None:
    limit = integer(value)
    return limit if limit is not None and limit >= 0 else None  # -1 (no limit), -2 (fill the context)


def _output_type(value: Any) -> str | None:
    """``format``: ``"json"``, or a JSON schema for structured output."""
    return n.OUTPUT_JSON if value == "json" or isinstance(value, Mapping) else None


OPTIONS: tuple[Reader, ...] = (
    ("num_predict", n.REQUEST_MAX_TOKENS, _max_tokens),
    ("temperature", n.REQUEST_TEMPERATURE, number),
    ("top_p", n.REQUEST_TOP_P, number),
    ("top_k", n.REQUEST_TOP_K, integer),
    ("frequency_penalty", n.REQUEST_FREQUENCY_PENALTY, number),
    ("presence_penalty", n.REQUEST_PRESENCE_PENALTY, number),
    ("stop", n.REQUEST_STOP_SEQUENCES, strings),
    ("seed", n.REQUEST_SEED, integer),
)
_read_top = request_reader(
    (
        ("format", n.OUTPUT_TYPE, _output_type),
        ("dimensions", n.EMBEDDINGS_DIMENSION_COUNT, integer),
    )
)
_read_options = request_reader(OPTIONS)


def read_request(body: Mapping[str, Any]) -> Attributes:
    """A ``/api/chat``, ``/api/generate`` or ``/api/embed`` body: its own fields and its ``options``."""
    attrs = _read_top(body)
    options = body.get("options")
    if isinstance(options, Mapping):
        attrs.update(_read_options(options))
    return attrs


def finish_reasons(done_reason: Any, tool_called: bool) -> list[str] | None:
    """``done_reason`` as the conventions' finish reasons: Ollama ends a reply that calls a tool with
    ``stop``, which the conventions call ``tool_call``; ``stop`` and ``length`` are the conventions'
    own; ``load`` and ``unload`` (a request that only loads or unloads the model) pass through."""
    if tool_called:
        return ["tool_call"]
    reason = string(done_reason)
    return [reason] if reason else None


def _called_tool(response: Any) -> bool:
    return bool(field(field(response, "message"), "tool_calls"))


def _fold(outcome: Outcome, response: Any, tool_called: bool) -> Outcome:
    """The model, counts and done reason of a whole response or of a stream's last chunk."""
    outcome.response_model = string(field(response, "model")) or outcome.response_model
    outcome.input_tokens = integer(field(response, "prompt_eval_count"))
    outcome.output_tokens = integer(field(response, "eval_count"))
    outcome.finish_reasons = finish_reasons(field(response, "done_reason"), tool_called)
    return outcome


def read_response(response: Any, _recording: bool) -> Outcome:
    """A ``ChatResponse``, ``GenerateResponse``, ``EmbedResponse`` or (legacy) ``EmbeddingsResponse``."""
    return _fold(Outcome(), response, _called_tool(response))


class ChunkAccumulator:
    """Stream chunks: the model from the first, a tool call from any, the counts and the done reason
    from the last (``done: true``). A stream cut before that chunk reports the model only."""

    __slots__ = ("final", "first", "tool_called")

    def __init__(self) -> None:
        self.first: Any = None
        self.final: Any = None
        self.tool_called = False

    def add(self, chunk: Any) -> bool:
        if self.first is None:
            self.first = chunk
        if field(chunk, "done"):
            self.final = chunk
        elif not self.tool_called:
            self.tool_called = _called_tool(chunk)
        return False

    def outcome(self) -> Outcome:
        outcome = Outcome()
        outcome.response_model = string(field(self.first, "model"))
        if self.final is not None:
            _fold(outcome, self.final, self.tool_called or _called_tool(self.final))
        return outcome


def chunks(result: Any, _injected: bool) -> Accumulator | None:
    """An accumulator when the result is a stream: the generator that ``stream=True`` returns."""
    return ChunkAccumulator() if isinstance(result, (GeneratorType, AsyncGeneratorType)) else None
