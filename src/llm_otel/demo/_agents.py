"""The demo's agent-loop phase: a workflow running an agent that calls a tool the model asked for."""

from __future__ import annotations

import json
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricsData
from opentelemetry.sdk.trace import TracerProvider

from llm_otel.agents import execute_tool, invoke_agent, invoke_workflow
from llm_otel.fake import Behavior
from llm_otel.telemetry import _names as n

from ._workload import Tally

MODEL = "gpt-4o-mini"
_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather in a city.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }
]


def _get_weather(city: str) -> str:
    return json.dumps({"city": city, "sky": "clear", "celsius": 21})


def run(client: Any, runs: int, tally: Tally, tracer_provider: TracerProvider, meter_provider: MeterProvider) -> int:
    """Run the loop ``runs`` times, adding its chat calls to ``tally``; returns the number of tool calls."""
    providers: dict[str, Any] = {"tracer_provider": tracer_provider, "meter_provider": meter_provider}
    tool_calls = 0
    for _ in range(runs):
        with (
            invoke_workflow("demo_support", **providers),
            invoke_agent("weather_agent", provider="openai", model=MODEL, **providers),
        ):
            messages: list[dict[str, Any]] = [{"role": "user", "content": "What is the weather in Paris today?"}]
            reply = client.chat.completions.create(
                model=MODEL, messages=messages, tools=_TOOLS, extra_headers=Behavior(tool_call=True).header()
            )
            tally.add("chat", None)
            message = reply.choices[0].message
            messages.append(message.model_dump(exclude_none=True))
            for call in message.tool_calls or ():
                with execute_tool(call.function.name, call_id=call.id, tool_type="function", **providers):
                    result = _get_weather(**json.loads(call.function.arguments))
                messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
                tool_calls += 1
            client.chat.completions.create(model=MODEL, messages=messages)
            tally.add("chat", None)
    return tool_calls


def render(runs: int, tool_calls: int, data: MetricsData | None) -> str:
    """The phase's closing lines: what ran, and the cost counter's total over the whole demo."""
    return (
        f"agent loop: {runs} runs of invoke_workflow demo_support > invoke_agent weather_agent, "
        f"{tool_calls} tool calls (execute_tool get_weather)\n"
        f"estimated cost of all calls: ${_total_cost(data):.6f} ({n.LLM_OTEL_COST})"
    )


def _total_cost(data: MetricsData | None) -> float:
    total = 0.0
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == n.LLM_OTEL_COST:
                    total += sum(float(getattr(point, "value", 0.0)) for point in metric.data.data_points)
    return total
