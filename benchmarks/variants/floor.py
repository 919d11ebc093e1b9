"""The job done by hand with the OTel SDK, nothing more: the lowest overhead an instrumentation can have.

Per call: one CLIENT span, current during the SDK call, with 12 attributes (7 at start, 5 from the
response), and three histogram records: the duration, and the input and the output token counts,
as the conventions ask of ``gen_ai.client.token.usage``. Per stream chunk: one histogram
record (time to first chunk, then time per output chunk). No defensive reading, no error handling,
no configuration: it knows the benchmark's request and response shapes.

The global providers are left no-op, so that anthropic 2.x's own tracing records no second span:
the SDK only propagates the floor's span context (it is current), as it does under llm-otel's span.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

PROVIDERS = ("openai", "anthropic", "ollama", "google-genai")
VENV = "llm-otel"
DISTRIBUTIONS = ("opentelemetry-sdk",)
SET_GLOBALS = False


class Reply(NamedTuple):
    """What the span and the metrics take from a response."""

    model: str
    ident: str | None  # None: the API gives no response id (Ollama)
    reason: str
    input_tokens: int | None  # None: the response reported no usage (an openai stream by default)
    output_tokens: int | None


def _openai_reply(result: Any) -> Reply:
    usage = result.usage
    return Reply(result.model, result.id, result.choices[0].finish_reason, usage.prompt_tokens, usage.completion_tokens)


def _anthropic_reply(result: Any) -> Reply:
    usage = result.usage
    return Reply(result.model, result.id, result.stop_reason, usage.input_tokens, usage.output_tokens)


def _ollama_reply(result: Any) -> Reply:
    return Reply(result.model, None, result.done_reason, result.prompt_eval_count, result.eval_count)


def _gemini_reply(result: Any) -> Reply:
    usage = result.usage_metadata
    reason = result.candidates[0].finish_reason.value
    return Reply(
        result.model_version, result.response_id, reason, usage.prompt_token_count, usage.candidates_token_count
    )


class _OpenAIChunks:
    """The last chunk carries the id, model and (with include_usage) the usage; the finish chunk the reason."""

    def __init__(self) -> None:
        self.last: Any = None
        self.reason = ""

    def add(self, chunk: Any) -> None:
        self.last = chunk
        if chunk.choices and chunk.choices[0].finish_reason is not None:
            self.reason = chunk.choices[0].finish_reason

    def reply(self) -> Reply:
        usage = self.last.usage
        tokens = (usage.prompt_tokens, usage.completion_tokens) if usage is not None else (None, None)
        return Reply(self.last.model, self.last.id, self.reason, *tokens)


class _AnthropicEvents:
    """message_start carries the id, model and input usage; message_delta the reason and final usage."""

    def __init__(self) -> None:
        self.start: Any = None
        self.delta: Any = None

    def add(self, event: Any) -> None:
        if event.type == "message_start":
            self.start = event
        elif event.type == "message_delta":
            self.delta = event

    def reply(self) -> Reply:
        message, delta = self.start.message, self.delta
        return Reply(
            message.model, message.id, delta.delta.stop_reason, delta.usage.input_tokens, delta.usage.output_tokens
        )


class _OllamaChunks:
    """The last chunk (``done: true``) carries the model, the reason and the counts."""

    def __init__(self, reply_of: Any = None) -> None:
        self.last: Any = None
        self.reply_of = reply_of or _ollama_reply

    def add(self, chunk: Any) -> None:
        self.last = chunk

    def reply(self) -> Reply:
        return self.reply_of(self.last)


# Two request parameters each: openai's sampling ones, anthropic 2.x's max_tokens and stop sequences,
# ollama's temperature and num_predict from its options.
def _openai_parameters(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {"gen_ai.request.temperature": kwargs["temperature"], "gen_ai.request.max_tokens": kwargs["max_tokens"]}


def _anthropic_parameters(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {
        "gen_ai.request.max_tokens": kwargs["max_tokens"],
        "gen_ai.request.stop_sequences": kwargs["stop_sequences"],
    }


def _gemini_parameters(kwargs: dict[str, Any]) -> dict[str, Any]:
    config = kwargs["config"]
    return {
        "gen_ai.request.temperature": config["temperature"],
        "gen_ai.request.max_tokens": config["max_output_tokens"],
    }


def _ollama_parameters(kwargs: dict[str, Any]) -> dict[str, Any]:
    options = kwargs["options"]
    return {"gen_ai.request.temperature": options["temperature"], "gen_ai.request.max_tokens": options["num_predict"]}


_READERS = {
    "openai": (_openai_reply, _OpenAIChunks, _openai_parameters),
    "anthropic": (_anthropic_reply, _AnthropicEvents, _anthropic_parameters),
    "ollama": (_ollama_reply, _OllamaChunks, _ollama_parameters),
    # Every Gemini chunk carries the model, id and usage so far; the last one the reason: as Ollama's.
    "google-genai": (_gemini_reply, _OllamaChunks, _gemini_parameters),
}


def instrument(provider: Any, tracer_provider: Any, meter_provider: Any) -> None:
    from opentelemetry import context, trace
    from opentelemetry.trace import SpanKind

    reply_of, chunks_of, parameters_of = _READERS[provider.name]
    tracer = tracer_provider.get_tracer("bench.floor")
    meter = meter_provider.get_meter("bench.floor")
    duration = meter.create_histogram("gen_ai.client.operation.duration", unit="s")
    tokens = meter.create_histogram("gen_ai.client.token.usage", unit="{token}")
    first_chunk = meter.create_histogram("gen_ai.client.operation.time_to_first_chunk", unit="s")
    per_chunk = meter.create_histogram("gen_ai.client.operation.time_per_output_chunk", unit="s")

    def start(kwargs: dict[str, Any]) -> tuple[Any, dict[str, Any], float]:
        model = kwargs["model"]
        attrs = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": provider.provider_name or provider.name,
            "gen_ai.request.model": model,
            "server.address": provider.address,
            "server.port": provider.port,
        }
        span = tracer.start_span(f"chat {model}", kind=SpanKind.CLIENT, attributes={**attrs, **parameters_of(kwargs)})
        return span, attrs, time.perf_counter()

    def finish(span: Any, attrs: dict[str, Any], began: float, reply: Reply) -> None:
        elapsed = time.perf_counter() - began
        attrs = {**attrs, "gen_ai.response.model": reply.model}
        duration.record(elapsed, attrs)
        span.set_attributes(
            {
                "gen_ai.response.model": reply.model,
                "gen_ai.response.finish_reasons": (reply.reason,),
                **({"gen_ai.response.id": reply.ident} if reply.ident is not None else {}),
            }
        )
        if reply.input_tokens is not None:
            for kind, count in (("input", reply.input_tokens), ("output", reply.output_tokens)):
                tokens.record(count, {**attrs, "gen_ai.token.type": kind})
            span.set_attributes(
                {
                    "gen_ai.usage.input_tokens": reply.input_tokens,
                    "gen_ai.usage.output_tokens": reply.output_tokens,
                }
            )
        span.end()

    class Stream:
        """A plain iterator in front of the SDK's stream: one record per chunk, the span ends at the end."""

        def __init__(self, stream: Any, span: Any, attrs: dict[str, Any], began: float) -> None:
            self.iterator = iter(stream)
            self.span, self.attrs, self.began = span, attrs, began
            self.chunks = chunks_of(reply_of) if chunks_of is _OllamaChunks else chunks_of()
            self.previous = 0.0

        def __iter__(self) -> Stream:
            return self

        def __next__(self) -> Any:
            try:
                chunk = next(self.iterator)
            except StopIteration:
                finish(self.span, self.attrs, self.began, self.chunks.reply())
                raise
            now = time.perf_counter()
            if self.previous:
                per_chunk.record(now - self.previous, self.attrs)
            else:
                first_chunk.record(now - self.began, self.attrs)
            self.previous = now
            self.chunks.add(chunk)
            return chunk

    def sync_wrapper(original: Any, streams: bool) -> Any:
        """``original`` traced; its result a stream when ``streams`` (a stream method) or ``stream=True``."""

        def create(self: Any, *args: Any, **kwargs: Any) -> Any:
            span, attrs, began = start(kwargs)
            token = context.attach(trace.set_span_in_context(span))
            try:
                result = original(self, *args, **kwargs)
            finally:
                context.detach(token)
            if streams or kwargs.get("stream"):
                return Stream(result, span, attrs, began)
            finish(span, attrs, began, reply_of(result))
            return result

        return create

    def async_wrapper(original: Any) -> Any:
        async def create_async(self: Any, *args: Any, **kwargs: Any) -> Any:
            span, attrs, began = start(kwargs)
            token = context.attach(trace.set_span_in_context(span))
            try:
                result = await original(self, *args, **kwargs)
            finally:
                context.detach(token)
            finish(span, attrs, began, reply_of(result))
            return result

        return create_async

    _patch(provider, sync_wrapper, async_wrapper)


def _patch(provider: Any, sync_wrapper: Any, async_wrapper: Any) -> None:
    """Replace the measured methods: the call (sync and async) and, if it has one, the stream method."""
    import importlib

    module_name, sync_class, async_class = provider.target
    module = importlib.import_module(module_name)
    owner, async_owner = getattr(module, sync_class), getattr(module, async_class)
    method = provider.method.rpartition(".")[2]
    setattr(owner, method, sync_wrapper(getattr(owner, method), streams=False))
    setattr(async_owner, method, async_wrapper(getattr(async_owner, method)))
    if provider.stream_method:  # a method of its own, which always streams (google-genai's)
        stream_method = provider.stream_method.rpartition(".")[2]
        setattr(owner, stream_method, sync_wrapper(getattr(owner, stream_method), streams=True))
