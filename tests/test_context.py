"""Context: our span is current for the SDK call, under the caller's span, above the transport's."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import openai
import pytest
from opentelemetry import trace

from conftest import MESSAGES, MODEL, Recorded, http_module
from llm_otel.fake import FakeProvider

pytestmark = pytest.mark.anyio


def _traced_transport(base: type, tracer: trace.Tracer) -> Any:
    """A real HTTP transport that opens a span per request, as an HTTP client instrumentation does."""

    class Traced(base):  # type: ignore[misc, valid-type]
        def handle_request(self, request: Any) -> Any:
            with tracer.start_as_current_span("POST", kind=trace.SpanKind.CLIENT):
                return super().handle_request(request)

        async def handle_async_request(self, request: Any) -> Any:
            with tracer.start_as_current_span("POST", kind=trace.SpanKind.CLIENT):
                return await super().handle_async_request(request)

    return Traced()


def test_transport_span_is_a_child_of_the_llm_span(fake: FakeProvider, otel: Recorded) -> None:
    http = http_module()
    tracer = otel.tracer_provider.get_tracer("test")
    client = openai.OpenAI(
        base_url=fake.openai_base_url,
        api_key="k",
        max_retries=0,
        http_client=http.Client(transport=_traced_transport(http.HTTPTransport, tracer)),
    )
    with tracer.start_as_current_span("handler"):
        client.chat.completions.create(model=MODEL, messages=MESSAGES)
    spans = {s.name: s for s in otel.spans()}
    handler, llm, transport = spans["handler"], spans[f"chat {MODEL}"], spans["POST"]
    assert llm.parent is not None and llm.parent.span_id == handler.context.span_id
    assert transport.parent is not None and transport.parent.span_id == llm.context.span_id
    assert transport.context.trace_id == handler.context.trace_id


async def test_async_transport_span_is_a_child_of_the_llm_span(fake: FakeProvider, otel: Recorded) -> None:
    http = http_module()
    tracer = otel.tracer_provider.get_tracer("test")
    client = openai.AsyncOpenAI(
        base_url=fake.openai_base_url,
        api_key="k",
        max_retries=0,
        http_client=http.AsyncClient(transport=_traced_transport(http.AsyncHTTPTransport, tracer)),
    )
    await client.chat.completions.create(model=MODEL, messages=MESSAGES)
    await client.close()
    spans = {s.name: s for s in otel.spans()}
    llm, transport = spans[f"chat {MODEL}"], spans["POST"]
    assert transport.parent is not None and transport.parent.span_id == llm.context.span_id
    assert trace.get_current_span() is trace.INVALID_SPAN  # nothing leaked into the caller's context


def test_threads_and_tasks_at_once_count_exactly(fake: FakeProvider, otel: Recorded) -> None:
    threads, per_thread, tasks = 6, 15, 40
    tracer = otel.tracer_provider.get_tracer("test")
    client = openai.OpenAI(base_url=fake.openai_base_url, api_key="k", max_retries=0)
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            with tracer.start_as_current_span(f"thread-{index}"):
                for call in range(per_thread):
                    stream = call % 3 == 0
                    reply = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=stream)
                    if stream:
                        list(reply)
        except BaseException as exc:
            errors.append(exc)

    async def tasks_main() -> None:
        async_client = openai.AsyncOpenAI(base_url=fake.openai_base_url, api_key="k", max_retries=0)

        async def one(index: int) -> None:
            with tracer.start_as_current_span(f"task-{index}"):
                await async_client.embeddings.create(model="e", input="one two")

        await asyncio.gather(*(one(i) for i in range(tasks)))
        await async_client.close()

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    asyncio.run(tasks_main())
    for thread in pool:
        thread.join()
    assert errors == []
    spans = otel.spans()
    parents = {s.context.span_id: s.name for s in spans if s.name.startswith(("thread-", "task-"))}
    llm = [s for s in spans if s.name.startswith(("chat ", "embeddings "))]
    assert len(llm) == threads * per_thread + tasks
    for span in llm:  # every call nested under its own thread's or task's span
        assert span.parent is not None
        owner = parents[span.parent.span_id]
        assert owner.startswith("task-") == span.name.startswith("embeddings ")
    chat = otel.point("gen_ai.client.operation.duration", gen_ai__operation__name="chat")
    assert chat.count == threads * per_thread
    embeddings = otel.point("gen_ai.client.token.usage", gen_ai__operation__name="embeddings")
    assert (embeddings.count, embeddings.sum) == (tasks, 2 * tasks)
    in_flight = otel.points("llm_otel.client.requests.in_flight")
    assert {p.value for p in in_flight} == {0}
