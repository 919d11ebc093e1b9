"""The job done by hand with the OTel SDK, nothing more: the lowest overhead an instrumentation can have.

Per call: one CLIENT span, current during the SDK call, with 12 attributes (7 at start, 5 from the
response), and two histogram records (duration and token usage). Per stream chunk: one histogram
record (time to first chunk, then time per output chunk). No defensive reading, no error handling,
no configuration: it knows the benchmark's request and response shapes.
"""

from __future__ import annotations

import time
from typing import Any

VENV = "llm-otel"
DISTRIBUTIONS = ("opentelemetry-sdk",)


def instrument(tracer_provider: Any, meter_provider: Any) -> None:
    from openai.resources.chat import completions
    from opentelemetry import context, trace
    from opentelemetry.trace import SpanKind

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
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": model,
            "server.address": "api.openai.com",
            "server.port": 443,
        }
        span = tracer.start_span(
            f"chat {model}",
            kind=SpanKind.CLIENT,
            attributes={
                **attrs,
                "gen_ai.request.temperature": kwargs["temperature"],
                "gen_ai.request.max_tokens": kwargs["max_tokens"],
            },
        )
        return span, attrs, time.perf_counter()

    def finish(span: Any, attrs: dict[str, Any], began: float, model: str, ident: str, reason: str, usage: Any) -> None:
        elapsed = time.perf_counter() - began
        attrs = {**attrs, "gen_ai.response.model": model}
        duration.record(elapsed, attrs)
        span.set_attributes(
            {
                "gen_ai.response.model": model,
                "gen_ai.response.id": ident,
                "gen_ai.response.finish_reasons": (reason,),
            }
        )
        if usage is not None:
            tokens.record(usage.prompt_tokens, {**attrs, "gen_ai.token.type": "input"})
            span.set_attributes(
                {
                    "gen_ai.usage.input_tokens": usage.prompt_tokens,
                    "gen_ai.usage.output_tokens": usage.completion_tokens,
                }
            )
        span.end()

    def done(span: Any, attrs: dict[str, Any], began: float, result: Any) -> Any:
        finish(span, attrs, began, result.model, result.id, result.choices[0].finish_reason, result.usage)
        return result

    class Stream:
        """A plain iterator in front of the SDK's stream: one record per chunk, the span ends at the end."""

        def __init__(self, stream: Any, span: Any, attrs: dict[str, Any], began: float) -> None:
            self.iterator = iter(stream)
            self.span, self.attrs, self.began = span, attrs, began
            self.last: Any = None
            self.reason = ""
            self.previous = 0.0

        def __iter__(self) -> Stream:
            return self

        def __next__(self) -> Any:
            try:
                chunk = next(self.iterator)
            except StopIteration:
                last = self.last
                finish(self.span, self.attrs, self.began, last.model, last.id, self.reason, last.usage)
                raise
            now = time.perf_counter()
            if self.last is None:
                first_chunk.record(now - self.began, self.attrs)
            else:
                per_chunk.record(now - self.previous, self.attrs)
            self.previous = now
            self.last = chunk
            if chunk.choices and chunk.choices[0].finish_reason is not None:
                self.reason = chunk.choices[0].finish_reason
            return chunk

    original = completions.Completions.create
    original_async = completions.AsyncCompletions.create

    def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        span, attrs, began = start(kwargs)
        token = context.attach(trace.set_span_in_context(span))
        try:
            result = original(self, *args, **kwargs)
        finally:
            context.detach(token)
        if kwargs.get("stream"):
            return Stream(result, span, attrs, began)
        return done(span, attrs, began, result)

    async def create_async(self: Any, *args: Any, **kwargs: Any) -> Any:
        span, attrs, began = start(kwargs)
        token = context.attach(trace.set_span_in_context(span))
        try:
            result = await original_async(self, *args, **kwargs)
        finally:
            context.detach(token)
        return done(span, attrs, began, result)

    completions.Completions.create = create  # type: ignore[method-assign]
    completions.AsyncCompletions.create = create_async  # type: ignore[method-assign]
