"""An agent loop with a tool call, traced and costed, against the embedded fake provider (no keys).

    python docs/examples/agent_loop.py

Prints the span tree and what the cost counter recorded.
"""

from __future__ import annotations

import json

import openai
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llm_otel import execute_tool, invoke_agent, invoke_workflow
from llm_otel.fake import Behavior, FakeProvider
from llm_otel.providers.openai import OpenAIInstrumentor

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }
]

exporter = InMemorySpanExporter()
tracer_provider = TracerProvider()
tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
reader = InMemoryMetricReader()
meter_provider = MeterProvider(metric_readers=[reader])
providers = {"tracer_provider": tracer_provider, "meter_provider": meter_provider}
OpenAIInstrumentor().instrument(**providers)


@execute_tool("get_weather", tool_type="function", **providers)
def get_weather(city: str) -> str:
    return json.dumps({"city": city, "sky": "clear"})


@invoke_agent("weather_agent", provider="openai", model="gpt-4o-mini", **providers)
def weather_agent(client: openai.OpenAI, question: str) -> str:
    messages: list[dict] = [{"role": "user", "content": question}]
    # The fake provider answers this request with a call to the first tool.
    reply = client.chat.completions.create(
        model="gpt-4o-mini", messages=messages, tools=TOOLS, extra_headers=Behavior(tool_call=True).header()
    )
    message = reply.choices[0].message
    messages.append(message.model_dump(exclude_none=True))
    for call in message.tool_calls or ():
        result = get_weather(**json.loads(call.function.arguments))
        messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
    final = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    return final.choices[0].message.content or ""


with FakeProvider() as fake:
    client = openai.OpenAI(base_url=fake.openai_base_url, api_key="none", max_retries=0)
    with invoke_workflow("weather_desk", **providers):
        weather_agent(client, "What is the weather in Paris?")
    client.close()

spans = exporter.get_finished_spans()
depth = {None: -1}
for span in sorted(spans, key=lambda s: s.start_time or 0):
    parent = span.parent.span_id if span.parent else None
    depth[span.context.span_id] = depth[parent] + 1
    print("  " * depth[span.context.span_id] + span.name)

data = reader.get_metrics_data()
for resource in data.resource_metrics if data else ():
    for scope in resource.scope_metrics:
        for metric in scope.metrics:
            if metric.name == "llm_otel.client.cost":
                for point in metric.data.data_points:
                    print(f"{metric.name} {dict(point.attributes or {})} = {point.value:.8f} USD")
