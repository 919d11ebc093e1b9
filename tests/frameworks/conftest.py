"""Frameworks driving the SDKs, checked against the bare SDK: one span per HTTP call, the same span.

Each test runs a framework on the fake provider, then ``Traced.check`` replays every inference
request the fake received as a direct SDK call with the same body, and asserts that the
framework's call got exactly the span the direct call gets (the same attributes, but for those
that differ between any two calls) and that its metrics counted each call once.

These tests run in their own virtualenv (``make test`` builds it with the framework versions that
docs/frameworks.md lists); elsewhere each module skips.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan

from conftest import Recorded, make_recorded
from llm_otel.fake import BEHAVIOR_HEADER, FakeProvider
from llm_otel.fake._server import RecordedRequest

# Differ from call to call: the time to the first chunk, and the fake's generated ids.
VARYING = {"gen_ai.response.time_to_first_chunk", "gen_ai.response.id"}
OURS = "llm_otel"
# Request path -> (SDK, method path) of the direct call that sends the same body.
DIRECT = {
    "/v1/chat/completions": ("openai", "chat.completions.create"),
    "/v1/responses": ("openai", "responses.create"),
    "/v1/embeddings": ("openai", "embeddings.create"),
    "/v1/messages": ("anthropic", "messages.create"),
}


def _direct(fake: FakeProvider, request: RecordedRequest) -> None:
    """Send ``request``'s body again through the bare sync SDK, reading a stream to its end."""
    sdk, path = DIRECT[request.path]
    if sdk == "openai":
        import openai

        client: Any = openai.OpenAI(base_url=fake.openai_base_url, api_key="k", max_retries=0)
    else:
        import anthropic

        client = anthropic.Anthropic(base_url=fake.url, api_key="k", max_retries=0)
    method = client
    for part in path.split("."):
        method = getattr(method, part)
    accepted = inspect.signature(method).parameters
    kwargs = {key: value for key, value in request.body.items() if key in accepted}
    extra = {key: value for key, value in request.body.items() if key not in accepted}
    behavior = request.headers.get(BEHAVIOR_HEADER)
    with client:
        result = method(
            **kwargs, extra_body=extra or None, extra_headers={BEHAVIOR_HEADER: behavior} if behavior else None
        )
        if kwargs.get("stream"):
            for _ in result:
                pass


def _attributes(span: ReadableSpan) -> dict[str, Any]:
    return {key: value for key, value in (span.attributes or {}).items() if key not in VARYING}


@dataclass
class Traced:
    """Both instrumentors on one set of in-memory providers, and the fake they talk to."""

    recorded: Recorded
    fake: FakeProvider

    def ours(self) -> list[ReadableSpan]:
        return [
            s for s in self.recorded.spans() if s.instrumentation_scope and s.instrumentation_scope.name == "llm_otel"
        ]

    def inference_requests(self) -> list[RecordedRequest]:
        return [r for r in self.fake.requests if r.path in DIRECT]

    def check(self, calls: int) -> list[ReadableSpan]:
        """Assert ``calls`` inference requests, each with one complete span and counted once; return the spans."""
        requests = self.inference_requests()
        assert len(requests) == calls, [r.path for r in requests]
        spans = self.ours()
        assert len(spans) == calls, [s.name for s in spans]
        for span in spans:
            attributes = span.attributes or {}
            assert span.end_time is not None
            # Responses carry an id, embeddings none; the direct call's span has the rest.
            assert attributes.get("gen_ai.response.id") or attributes["gen_ai.operation.name"] == "embeddings"
        durations = sum(p.count for p in self.recorded.points("gen_ai.client.operation.duration"))  # type: ignore[union-attr]
        assert durations == calls
        for kind, key in (("input", "gen_ai.usage.input_tokens"), ("output", "gen_ai.usage.output_tokens")):
            counted = sum(
                p.sum  # type: ignore[union-attr]
                for p in self.recorded.points("gen_ai.client.token.usage")
                if (p.attributes or {}).get("gen_ai.token.type") == kind
            )
            assert counted == sum((s.attributes or {}).get(key, 0) for s in spans)
        # The same span as the bare SDK's for the same request, in the same order.
        self.recorded.exporter.clear()
        for request in requests:
            _direct(self.fake, request)
        direct = self.ours()
        assert [(s.name, _attributes(s)) for s in spans] == [(s.name, _attributes(s)) for s in direct]
        return spans


@pytest.fixture
def tracing(
    fake: FakeProvider, otel_with: Callable[..., Recorded], anthropic_otel_with: Callable[..., Recorded]
) -> Callable[..., Traced]:
    """Instrument both SDKs, once per test, with the given instrumentor options."""

    def instrument(**options: Any) -> Traced:
        recorded = make_recorded()
        otel_with(recorded, **options)
        anthropic_otel_with(recorded, **options)
        return Traced(recorded, fake)

    return instrument


@pytest.fixture
def traced(tracing: Callable[..., Traced]) -> Traced:
    return tracing()
