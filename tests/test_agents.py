"""Agent, workflow and tool spans: names, kinds, attributes, nesting of real LLM calls, duration metrics."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import openai
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from conftest import MESSAGES, MODEL, Recorded
from llm_otel import execute_tool, invoke_agent, invoke_workflow, set_attribute_value_limit
from llm_otel.fake import Behavior, FakeProvider
from llm_otel.telemetry import _names as n

pytestmark = pytest.mark.anyio

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


def by_name(otel: Recorded) -> dict[str, ReadableSpan]:
    spans = otel.spans()
    named = {s.name: s for s in spans}
    assert len(named) == len(spans), [s.name for s in spans]
    return named


def parent_of(span: ReadableSpan, spans: dict[str, ReadableSpan]) -> str | None:
    if span.parent is None:
        return None
    return next(name for name, s in spans.items() if s.context.span_id == span.parent.span_id)


def providers(otel: Recorded) -> dict[str, Any]:
    return {"tracer_provider": otel.tracer_provider, "meter_provider": otel.meter_provider}


def test_agent_loop_nests_llm_and_tool_spans(otel: Recorded, fake: FakeProvider) -> None:
    client = openai.OpenAI(base_url=fake.openai_base_url, api_key="k", max_retries=0)
    with (
        invoke_workflow("support", **providers(otel)),
        invoke_agent("helper", provider="openai", model=MODEL, agent_id="agent-7", version="1.2", **providers(otel)),
    ):
        reply = client.chat.completions.create(
            model=MODEL, messages=MESSAGES, tools=TOOLS, extra_headers=Behavior(tool_call=True).header()
        )
        call = reply.choices[0].message.tool_calls[0]
        with execute_tool(call.function.name, call_id=call.id, tool_type="function", **providers(otel)) as span:
            span.set_attribute("app.city", json.loads(call.function.arguments)["city"])
        client.chat.completions.create(model=MODEL, messages=MESSAGES)
    client.close()
    spans = otel.spans()
    assert [s.name for s in spans] == [
        f"chat {MODEL}",
        "execute_tool get_weather",
        f"chat {MODEL}",
        "invoke_agent helper",
        "invoke_workflow support",
    ]
    named = {s.name: s for s in spans}
    assert [parent_of(s, named) for s in spans] == [
        "invoke_agent helper",
        "invoke_agent helper",
        "invoke_agent helper",
        "invoke_workflow support",
        None,
    ]
    assert len({s.context.trace_id for s in spans}) == 1
    assert [s.kind for s in spans[1:]] == [SpanKind.INTERNAL, SpanKind.CLIENT, SpanKind.INTERNAL, SpanKind.INTERNAL]
    assert dict(named["invoke_workflow support"].attributes or {}) == {
        "gen_ai.operation.name": "invoke_workflow",
        "gen_ai.workflow.name": "support",
    }
    assert dict(named["invoke_agent helper"].attributes or {}) == {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "helper",
        "gen_ai.agent.id": "agent-7",
        "gen_ai.agent.version": "1.2",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": MODEL,
    }
    assert dict(spans[1].attributes or {}) == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "get_weather",
        "gen_ai.tool.call.id": call.id,
        "gen_ai.tool.type": "function",
        "gen_ai.agent.name": "helper",  # from the current agent
        "app.city": "fake",  # the fake provider fills string arguments with "fake"
    }
    assert all(s.status.status_code is StatusCode.UNSET for s in spans)


def test_duration_metrics_count_runs_by_name_and_outcome(otel: Recorded) -> None:
    @invoke_agent("planner", provider="openai", model="gpt-4o", **providers(otel))
    def plan(fail: bool) -> str:
        if fail:
            raise KeyError("no plan")
        return "ok"

    assert [plan(False), plan(False)] == ["ok", "ok"]
    with pytest.raises(KeyError):
        plan(True)
    points = otel.points(n.INVOKE_AGENT_DURATION)
    ok = next(p for p in points if "error.type" not in dict(p.attributes or {}))
    assert dict(ok.attributes or {}) == {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "planner",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
    }
    assert ok.count == 2  # type: ignore[union-attr]
    failed = [p for p in points if dict(p.attributes or {}).get("error.type")]
    assert [(dict(p.attributes or {})["error.type"], p.count) for p in failed] == [("KeyError", 1)]  # type: ignore[union-attr]
    assert list(failed[0].explicit_bounds) == list(n.DURATION_BUCKETS)  # type: ignore[union-attr]
    spans = otel.spans()
    assert [s.name for s in spans] == ["invoke_agent planner"] * 3
    assert spans[2].status.status_code is StatusCode.ERROR
    assert spans[2].status.description == "'no plan'"
    assert spans[2].attributes["error.type"] == "KeyError"  # type: ignore[index]


def test_tool_and_workflow_metrics(otel: Recorded) -> None:
    with invoke_workflow("pipeline", **providers(otel)):
        for _ in range(3):
            with execute_tool("search", tool_type="datastore", **providers(otel)):
                pass
    assert otel.point(n.WORKFLOW_DURATION).count == 1  # type: ignore[union-attr]
    assert dict(otel.point(n.WORKFLOW_DURATION).attributes or {}) == {
        "gen_ai.operation.name": "invoke_workflow",
        "gen_ai.workflow.name": "pipeline",
    }
    tool = otel.point(n.EXECUTE_TOOL_DURATION)
    assert tool.count == 3  # type: ignore[union-attr]
    assert dict(tool.attributes or {}) == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "search",
        "gen_ai.tool.type": "datastore",
    }


def test_exceptions_pass_through_unchanged(otel: Recorded) -> None:
    error = ValueError("bad tool input")
    with pytest.raises(ValueError) as raised, execute_tool("parse", **providers(otel)):
        raise error
    assert raised.value is error
    assert otel.span().attributes["error.type"] == "ValueError"  # type: ignore[index]


async def test_async_decorators_nest_concurrent_agents_correctly(otel: Recorded, fake: FakeProvider) -> None:
    client = openai.AsyncOpenAI(base_url=fake.openai_base_url, api_key="k", max_retries=0)

    @execute_tool("lookup", **providers(otel))
    async def lookup(key: str) -> str:
        await asyncio.sleep(0)  # let the other agent run in between
        return key.upper()

    async def agent(name: str) -> str:
        async with invoke_agent(name, **providers(otel)):
            await client.chat.completions.create(model=MODEL, messages=MESSAGES)
            return await lookup(name)

    assert await asyncio.gather(agent("alpha"), agent("beta")) == ["ALPHA", "BETA"]
    await client.close()
    spans = otel.spans()
    agents = {s.name: s for s in spans if s.name.startswith("invoke_agent")}
    for name in ("alpha", "beta"):
        own = agents[f"invoke_agent {name}"].context.span_id
        children = sorted(s.name for s in spans if s.parent is not None and s.parent.span_id == own)
        assert children == [f"chat {MODEL}", "execute_tool lookup"]
        tool = next(s for s in spans if s.name == "execute_tool lookup" and s.parent.span_id == own)  # type: ignore[union-attr]
        assert tool.attributes["gen_ai.agent.name"] == name  # type: ignore[index]
    assert lookup.__name__ == "lookup"


async def test_async_context_manager_records_errors(otel: Recorded) -> None:
    with pytest.raises(asyncio.CancelledError):
        async with invoke_workflow("batch", **providers(otel)):
            raise asyncio.CancelledError
    span = otel.span()
    assert span.attributes["error.type"] == "asyncio.CancelledError"  # type: ignore[index]


def test_tool_outside_an_agent_names_none_and_an_explicit_agent_wins(otel: Recorded) -> None:
    with execute_tool("clock", **providers(otel)):
        pass
    with invoke_agent("outer", **providers(otel)), execute_tool("clock", agent="caller", **providers(otel)):
        pass
    with invoke_agent("outer", **providers(otel)), invoke_agent("inner", **providers(otel)):
        with execute_tool("clock", **providers(otel)):
            pass
        with execute_tool("clock", **providers(otel)) as span:
            span.set_attribute("app.step", 2)
    tools = [dict(s.attributes or {}) for s in otel.spans() if s.name == "execute_tool clock"]
    assert [t.get("gen_ai.agent.name") for t in tools] == [None, "caller", "inner", "inner"]


def test_agent_tool_and_workflow_names_are_bounded_on_metrics(otel: Recorded) -> None:
    set_attribute_value_limit(2)
    for i in range(4):
        with invoke_agent(f"agent-{i}", **providers(otel)), execute_tool(f"tool-{i}", **providers(otel)):
            pass
    agents = sorted(str(dict(p.attributes or {})[n.AGENT_NAME]) for p in otel.points(n.INVOKE_AGENT_DURATION))
    tools = sorted(str(dict(p.attributes or {})[n.TOOL_NAME]) for p in otel.points(n.EXECUTE_TOOL_DURATION))
    assert agents == ["_OTHER", "agent-0", "agent-1"]
    assert tools == ["_OTHER", "tool-0", "tool-1"]
    assert sorted(s.name for s in otel.spans() if s.name.startswith("invoke_agent")) == [
        f"invoke_agent agent-{i}" for i in range(4)
    ]


def test_the_documented_example_runs() -> None:
    example = Path(__file__).resolve().parents[1] / "docs" / "examples" / "agent_loop.py"
    run = subprocess.run([sys.executable, str(example)], capture_output=True, text=True, check=True, timeout=60)
    assert run.stdout.splitlines()[:5] == [
        "invoke_workflow weather_desk",
        "  invoke_agent weather_agent",
        "    chat gpt-4o-mini",
        "    execute_tool get_weather",
        "    chat gpt-4o-mini",
    ]
    assert [line.split("'gen_ai.token.type': ")[1][:8] for line in run.stdout.splitlines()[5:]] == [
        "'input',",
        "'output'",
    ]
