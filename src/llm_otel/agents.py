"""Spans and duration metrics for agents, workflows and tools, as the GenAI conventions describe them.

Each of ``invoke_workflow``, ``invoke_agent`` and ``execute_tool`` is a context manager (``with``
or ``async with``) and a decorator (of functions and coroutine functions). The span is current
inside, so the LLM calls made there nest under it. Example::

    from llm_otel.agents import execute_tool, invoke_agent

    @execute_tool("get_weather")
    def get_weather(city: str) -> str: ...

    with invoke_agent("planner", provider="openai", model="gpt-4o-mini"):
        client.chat.completions.create(...)  # a child span of "invoke_agent planner"
        get_weather("Paris")  # "execute_tool get_weather", with gen_ai.agent.name = planner

Failures of the wrapped code reach the caller unchanged (the span records ``error.type``); ours
are logged once and swallowed.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from contextvars import ContextVar, Token
from time import perf_counter
from types import TracebackType
from typing import Any, TypeVar, cast

from opentelemetry import context, metrics, trace
from opentelemetry.metrics import Histogram, MeterProvider
from opentelemetry.trace import INVALID_SPAN, Span, SpanKind, Status, StatusCode, TracerProvider
from opentelemetry.util.types import AttributeValue

from llm_otel._log import internal_error
from llm_otel._version import __version__
from llm_otel.telemetry import _names as n
from llm_otel.telemetry._cardinality import BoundedValues, guard
from llm_otel.telemetry._instruments import PerMeterProvider
from llm_otel.telemetry._record import error_type

__all__ = ["AgentScope", "execute_tool", "invoke_agent", "invoke_workflow"]

_F = TypeVar("_F", bound=Callable[..., Any])
_STATUS_DESCRIPTION_MAX = 200
# The agent whose span is current: a tool span inside it names it, as the conventions ask.
_current_agent: ContextVar[str | None] = ContextVar("llm_otel_current_agent", default=None)


class _Durations:
    """The three duration histograms of one MeterProvider."""

    def __init__(self, meter_provider: MeterProvider) -> None:
        meter = metrics.get_meter(n.INSTRUMENTATION_SCOPE, __version__, meter_provider)

        def histogram(name: str, description: str) -> Histogram:
            return meter.create_histogram(
                name, unit="s", description=description, explicit_bucket_boundaries_advisory=n.DURATION_BUCKETS
            )

        self.by_operation = {
            n.OP_INVOKE_AGENT: histogram(n.INVOKE_AGENT_DURATION, "Duration of GenAI agent invocations."),
            n.OP_INVOKE_WORKFLOW: histogram(n.WORKFLOW_DURATION, "Duration of GenAI workflows."),
            n.OP_EXECUTE_TOOL: histogram(n.EXECUTE_TOOL_DURATION, "Duration of tool executions."),
        }


_durations_for = PerMeterProvider(_Durations)


class AgentScope:
    """One agent, workflow or tool run: a context manager, sync or async, and a decorator.

    Entering starts the span and makes it current; leaving ends it and records the duration. As a
    decorator every call of the function is a run of its own. A scope entered directly (``with``)
    is used once; entering returns the span so that attributes learnt later can be added.
    """

    def __init__(
        self,
        operation: str,
        name: str,
        bounded: BoundedValues,
        attributes: dict[str, AttributeValue],
        metric_attributes: dict[str, AttributeValue],
        tracer_provider: TracerProvider | None,
        meter_provider: MeterProvider | None,
    ) -> None:
        self._operation = operation
        self._name = name
        self._bounded = bounded
        self._attributes = attributes
        self._metric_attributes = metric_attributes
        self._providers = (tracer_provider, meter_provider)
        self._span: Span = INVALID_SPAN
        self._tokens: tuple[Token[context.Context], Token[str | None] | None] | None = None
        self._start = 0.0

    def _copy(self) -> AgentScope:
        return AgentScope(
            self._operation,
            self._name,
            self._bounded,
            self._attributes,
            self._metric_attributes,
            *self._providers,
        )

    # --- lifecycle -------------------------------------------------------------------------------
    def _enter(self) -> Span:
        try:
            attributes = dict(self._attributes)
            agent = _current_agent.get()
            if self._operation == n.OP_EXECUTE_TOOL and agent and n.AGENT_NAME not in attributes:
                attributes[n.AGENT_NAME] = agent
            tracer = trace.get_tracer(n.INSTRUMENTATION_SCOPE, __version__, self._providers[0])
            span_name = f"{self._operation} {self._name}" if self._name else self._operation
            self._span = tracer.start_span(span_name, kind=SpanKind.INTERNAL, attributes=attributes)
            own = _current_agent.set(self._name) if self._operation == n.OP_INVOKE_AGENT else None
            self._tokens = (context.attach(trace.set_span_in_context(self._span)), own)
            self._start = perf_counter()
        except Exception as err:
            internal_error(f"{self._operation} start", err)
        return self._span

    def _exit(self, exc: BaseException | None) -> None:
        if self._tokens is None:
            return
        tokens, self._tokens = self._tokens, None
        try:
            duration = perf_counter() - self._start
            context.detach(tokens[0])
            if tokens[1] is not None:
                _current_agent.reset(tokens[1])
            attrs = dict(self._metric_attributes)
            if self._name:
                attrs[self._bounded.attribute] = self._bounded.value(self._name)
            if exc is not None:
                kind = error_type(exc)
                attrs[n.ERROR_TYPE] = kind
                self._span.set_attribute(n.ERROR_TYPE, kind)
                self._span.set_status(Status(StatusCode.ERROR, str(exc)[:_STATUS_DESCRIPTION_MAX]))
            _durations_for(self._providers[1]).by_operation[self._operation].record(duration, attrs)
        except Exception as err:
            internal_error(f"{self._operation} end", err)
        finally:
            self._span.end()

    def __enter__(self) -> Span:
        return self._enter()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._exit(exc)

    async def __aenter__(self) -> Span:
        return self._enter()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._exit(exc)

    # --- decorator -------------------------------------------------------------------------------
    def __call__(self, function: _F) -> _F:
        """Run every call of ``function`` (sync or a coroutine function) in a scope of its own."""
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                async with self._copy():
                    return await function(*args, **kwargs)

            return cast(_F, run_async)

        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> Any:
            with self._copy():
                return function(*args, **kwargs)

        return cast(_F, run)


def _given(values: dict[str, AttributeValue | None]) -> dict[str, AttributeValue]:
    return {key: value for key, value in values.items() if value is not None}


def invoke_agent(
    name: str,
    *,
    provider: str | None = None,
    model: str | None = None,
    agent_id: str | None = None,
    description: str | None = None,
    version: str | None = None,
    conversation_id: str | None = None,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
) -> AgentScope:
    """An ``invoke_agent {name}`` span (kind INTERNAL) and a ``gen_ai.invoke_agent.duration`` point.

    ``provider`` and ``model`` are the GenAI provider and model the agent uses, when it has one.
    Tools run inside it record its name. Example::

        @invoke_agent("researcher", provider="openai", model="gpt-4o")
        async def research(question: str) -> str: ...
    """
    attributes = _given(
        {
            n.OPERATION_NAME: n.OP_INVOKE_AGENT,
            n.AGENT_NAME: name or None,
            n.PROVIDER_NAME: provider,
            n.REQUEST_MODEL: model,
            n.AGENT_ID: agent_id,
            n.AGENT_DESCRIPTION: description,
            n.AGENT_VERSION: version,
            n.CONVERSATION_ID: conversation_id,
        }
    )
    metric = _given(
        {
            n.OPERATION_NAME: n.OP_INVOKE_AGENT,
            n.PROVIDER_NAME: provider,
            n.REQUEST_MODEL: guard.request_model.value(model) if model else None,
        }
    )
    return AgentScope(n.OP_INVOKE_AGENT, name, guard.agent, attributes, metric, tracer_provider, meter_provider)


def invoke_workflow(
    name: str,
    *,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
) -> AgentScope:
    """An ``invoke_workflow {name}`` span (kind INTERNAL) and a ``gen_ai.workflow.duration`` point.

    A workflow coordinates several agents (a crew, a pipeline). Example::

        with invoke_workflow("support_pipeline"):
            triage(ticket)
            answer(ticket)
    """
    attributes = _given({n.OPERATION_NAME: n.OP_INVOKE_WORKFLOW, n.WORKFLOW_NAME: name or None})
    metric: dict[str, AttributeValue] = {n.OPERATION_NAME: n.OP_INVOKE_WORKFLOW}
    return AgentScope(n.OP_INVOKE_WORKFLOW, name, guard.workflow, attributes, metric, tracer_provider, meter_provider)


def execute_tool(
    name: str,
    *,
    tool_type: str | None = None,
    call_id: str | None = None,
    description: str | None = None,
    agent: str | None = None,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
) -> AgentScope:
    """An ``execute_tool {name}`` span (kind INTERNAL) and a ``gen_ai.execute_tool.duration`` point.

    ``tool_type`` is ``function``, ``extension`` or ``datastore``; ``call_id`` the model's tool call
    id; ``agent`` defaults to the agent whose ``invoke_agent`` scope is current. Example::

        with execute_tool("get_weather", call_id=call.id):
            result = get_weather(**json.loads(call.function.arguments))
    """
    attributes = _given(
        {
            n.OPERATION_NAME: n.OP_EXECUTE_TOOL,
            n.TOOL_NAME: name or None,
            n.TOOL_TYPE: tool_type,
            n.TOOL_CALL_ID: call_id,
            n.TOOL_DESCRIPTION: description,
            n.AGENT_NAME: agent,
        }
    )
    metric = _given({n.OPERATION_NAME: n.OP_EXECUTE_TOOL, n.TOOL_TYPE: tool_type})
    return AgentScope(n.OP_EXECUTE_TOOL, name, guard.tool, attributes, metric, tracer_provider, meter_provider)
