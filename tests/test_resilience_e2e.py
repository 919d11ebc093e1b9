"""Resilient calls end to end: real SDKs over HTTP to the fake provider with injected faults, real OTel SDK.

Written once as ``async def`` for the sync and the async client (``api``/``claude`` fixtures); time is
a `ManualClock`, so retry delays and breaker waits are exact and nothing sleeps.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

import openai
import pytest
from opentelemetry.sdk.trace import ReadableSpan

from conftest import MESSAGES, Api, Claude, ManualClock, Recorded, drain, make_recorded, maybe_await
from llm_otel.fake import Behavior, FakeProvider
from llm_otel.resilience import (
    BreakerPolicy,
    CircuitOpenError,
    Resilient,
    RetryPolicy,
    Route,
    Verdict,
    breaker_states,
    resilient,
)
from llm_otel.telemetry import _names as n

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("fresh_breakers")]


@pytest.fixture(autouse=True)
def _info_events(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="llm_otel")


def routes(api: Api, *models: str, **extra: Any) -> list[Route]:
    return [Route(f"fake:{model}", api.client.chat.completions.create, model=model, **extra) for model in models]


def wrap(otel: Recorded, clock: ManualClock, *chain: Route, **options: Any) -> Resilient:
    return resilient(
        *chain,
        name="chat",
        clock=clock,
        tracer_provider=otel.tracer_provider,
        meter_provider=otel.meter_provider,
        **options,
    )


async def ask(chat: Resilient, **kwargs: Any) -> Any:
    return await maybe_await(chat(messages=MESSAGES, **kwargs))


def logged(caplog: pytest.LogCaptureFixture, name: str) -> list[dict[str, Any]]:
    """The fields of each ``name`` event, with the trace and span ids the record carries."""
    return [
        {**r.llm_otel_fields, **dict(zip(("trace_id", "span_id"), r.llm_otel_ids or (), strict=False))}  # type: ignore[attr-defined]
        for r in caplog.records
        if getattr(r, "llm_otel_event", None) == name
    ]


def values(otel: Recorded, name: str) -> dict[frozenset[tuple[str, Any]], Any]:
    return {frozenset(dict(p.attributes or {}).items()): p.value for p in otel.points(name)}  # type: ignore[union-attr]


def attrs(**pairs: Any) -> frozenset[tuple[str, Any]]:
    return frozenset((key.replace("__", "."), value) for key, value in pairs.items())


def wrapper_spans(otel: Recorded) -> list[ReadableSpan]:
    return [s for s in otel.spans() if s.name == "resilient chat"]


def children(otel: Recorded, parent: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in otel.spans() if s.parent is not None and s.parent.span_id == parent.context.span_id]


def requested(fake: FakeProvider) -> list[str]:
    return [r.body["model"] for r in fake.requests]


def events(span: ReadableSpan) -> list[tuple[str, dict[str, Any]]]:
    return [(e.name, dict(e.attributes or {})) for e in span.events]


def ids(span: ReadableSpan) -> dict[str, str]:
    return {"trace_id": format(span.context.trace_id, "032x"), "span_id": format(span.context.span_id, "016x")}


def without_ids(fields: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in f.items() if k not in ("trace_id", "span_id")} for f in fields]


async def test_retries_honour_retry_after_and_show_in_every_signal(
    api: Api, fake: FakeProvider, otel: Recorded, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    fake.push(Behavior(status=429, retry_after=2.5), times=2, model="m-a")
    chat = wrap(otel, clock, *routes(api, "m-a"))
    reply = await ask(chat)
    assert reply.model == "m-a"
    assert clock.sleeps == [2.5, 2.5]
    assert requested(fake) == ["m-a"] * 3
    (wrapper,) = wrapper_spans(otel)
    assert dict(wrapper.attributes or {}) == {
        n.RESILIENCE_NAME: "chat",
        n.RESILIENCE_OUTCOME: "success",
        n.RESILIENCE_ROUTE: "fake:m-a",
        n.RESILIENCE_ATTEMPT_COUNT: 3,
    }
    attempts = sorted(children(otel, wrapper), key=lambda s: s.start_time or 0)
    assert [s.attributes.get(n.ERROR_TYPE) for s in attempts] == ["openai.RateLimitError"] * 2 + [None]  # type: ignore[union-attr]
    assert events(wrapper) == [
        ("retry", {n.RESILIENCE_ATTEMPT: 1, n.RESILIENCE_DELAY: 2.5, n.ERROR_TYPE: "openai.RateLimitError"}),
        ("retry", {n.RESILIENCE_ATTEMPT: 2, n.RESILIENCE_DELAY: 2.5, n.ERROR_TYPE: "openai.RateLimitError"}),
    ]
    assert values(otel, n.RESILIENCE_RETRIES) == {
        attrs(llm_otel__resilience__route="fake:m-a", error__type="openai.RateLimitError"): 2
    }
    assert values(otel, n.RESILIENCE_ATTEMPTS) == {
        attrs(llm_otel__resilience__route="fake:m-a", error__type="openai.RateLimitError"): 2,
        attrs(llm_otel__resilience__route="fake:m-a"): 1,
    }
    assert values(otel, n.RESILIENCE_CALLS) == {
        attrs(llm_otel__resilience__name="chat", llm_otel__resilience__outcome="success"): 1
    }
    scheduled = logged(caplog, "retry.scheduled")
    common = {"route": "fake:m-a", "reason": "rate_limited", "delay": 2.5, "error_type": "openai.RateLimitError"}
    assert scheduled == [{**common, "attempt": 1, **ids(wrapper)}, {**common, "attempt": 2, **ids(wrapper)}]


async def test_a_burst_of_500s_retries_then_falls_back_to_the_second_route(
    api: Api, fake: FakeProvider, otel: Recorded, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    fake.push(Behavior(status=500), times=2, model="m-a")
    chat = wrap(otel, clock, *routes(api, "m-a", "m-b"), retry=RetryPolicy(attempts=2, base=1.0, rng=lambda: 0.5))
    reply = await ask(chat)
    assert reply.model == "m-b"
    assert requested(fake) == ["m-a", "m-a", "m-b"]
    assert clock.sleeps == [0.5]
    (wrapper,) = wrapper_spans(otel)
    assert wrapper.attributes[n.RESILIENCE_ROUTE] == "fake:m-b"  # type: ignore[index]
    assert [name for name, _ in events(wrapper)] == ["retry", "fallback"]
    assert events(wrapper)[1][1] == {
        n.RESILIENCE_FROM: "fake:m-a",
        n.RESILIENCE_TO: "fake:m-b",
        n.RESILIENCE_REASON: "server_error",
    }
    assert values(otel, n.RESILIENCE_FALLBACKS) == {
        attrs(
            llm_otel__resilience__from="fake:m-a",
            llm_otel__resilience__to="fake:m-b",
            llm_otel__resilience__reason="server_error",
        ): 1
    }
    assert without_ids(logged(caplog, "retry.exhausted")) == [
        {"route": "fake:m-a", "reason": "server_error", "attempts": 2, "cause": "attempts"}
    ]
    assert logged(caplog, "fallback.activated") == [
        {"route": "fake:m-a", "to": "fake:m-b", "reason": "server_error", **ids(wrapper)}
    ]


async def test_rate_limit_falls_back_at_once_when_the_next_route_is_healthy(
    api: Api, fake: FakeProvider, otel: Recorded, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    fake.push(Behavior(status=429, retry_after=5), model="m-a")
    reply = await ask(wrap(otel, clock, *routes(api, "m-a", "m-b")))
    assert (reply.model, clock.sleeps) == ("m-b", [])
    assert [f["cause"] for f in logged(caplog, "retry.exhausted")] == ["fallback"]


async def test_a_hint_beyond_the_cap_ends_the_routes_retries(
    api: Api, fake: FakeProvider, otel: Recorded, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    fake.push(Behavior(status=429, retry_after=120), model="m-a")
    chat = wrap(otel, clock, *routes(api, "m-a", "m-b"), retry=RetryPolicy(prefer_fallback=False))
    reply = await ask(chat)
    assert (reply.model, clock.sleeps) == ("m-b", [])
    assert [f["cause"] for f in logged(caplog, "retry.exhausted")] == ["hint"]


async def test_breaker_opens_rejects_without_calling_half_opens_and_closes(
    api: Api, fake: FakeProvider, otel: Recorded, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    policy = BreakerPolicy(consecutive_failures=3, open_for=10, open_jitter=0, half_open_calls=1)
    chat = wrap(otel, clock, *routes(api, "m-a"), retry=RetryPolicy(attempts=1), breaker=policy)
    fake.push(Behavior(status=503), times=3, model="m-a")
    for _ in range(3):
        with pytest.raises(openai.InternalServerError) as raised:
            await ask(chat)
    assert raised.value.__notes__ == ["llm-otel resilient chat: fake:m-a: openai.InternalServerError"]
    assert breaker_states() == {"fake:m-a": "open"}
    assert values(otel, n.BREAKER_STATE) == {attrs(llm_otel__circuit_breaker__name="fake:m-a"): 1}
    with pytest.raises(CircuitOpenError):
        await ask(chat)
    assert len(fake.requests) == 3  # rejected without a provider call
    assert events(wrapper_spans(otel)[-1]) == [("circuit_breaker.rejected", {n.BREAKER_NAME: "fake:m-a"})]
    clock.t += 10
    assert (await ask(chat)).model == "m-a"  # the half-open trial succeeds
    assert breaker_states() == {"fake:m-a": "closed"}
    name = {"llm_otel__circuit_breaker__name": "fake:m-a"}
    assert values(otel, n.BREAKER_TRANSITIONS) == {
        attrs(**name, llm_otel__circuit_breaker__from_state="closed", llm_otel__circuit_breaker__to_state="open"): 1,
        attrs(**name, llm_otel__circuit_breaker__from_state="open", llm_otel__circuit_breaker__to_state="half_open"): 1,
        attrs(
            **name, llm_otel__circuit_breaker__from_state="half_open", llm_otel__circuit_breaker__to_state="closed"
        ): 1,
    }
    assert values(otel, n.BREAKER_STATE) == {attrs(**name): 0}
    assert values(otel, n.BREAKER_CALLS) == {
        attrs(**name, llm_otel__circuit_breaker__outcome="failure"): 3,
        attrs(**name, llm_otel__circuit_breaker__outcome="rejected"): 1,
        attrs(**name, llm_otel__circuit_breaker__outcome="success"): 1,
    }
    outcome = {"llm_otel__resilience__name": "chat"}
    assert values(otel, n.RESILIENCE_CALLS) == {
        attrs(**outcome, llm_otel__resilience__outcome="failure"): 3,
        attrs(**outcome, llm_otel__resilience__outcome="rejected"): 1,
        attrs(**outcome, llm_otel__resilience__outcome="success"): 1,
    }
    assert [(f["from_state"], f["to_state"], f["reason"]) for f in logged(caplog, "circuit_breaker.state_change")] == [
        ("closed", "open", "consecutive_failures"),
        ("open", "half_open", "open_elapsed"),
        ("half_open", "closed", "trials_succeeded"),
    ]
    assert all(
        f["route"] == "fake:m-a" and len(f["trace_id"]) == 32 for f in logged(caplog, "circuit_breaker.state_change")
    )


async def test_an_open_breaker_falls_back_without_calling_its_route(
    api: Api, fake: FakeProvider, otel: Recorded, clock: ManualClock
) -> None:
    chain = routes(api, "m-a", "m-b")
    chat = wrap(otel, clock, *chain)
    chat._breaker(chain[0]).force_open()
    assert (await ask(chat)).model == "m-b"
    assert requested(fake) == ["m-b"]
    (wrapper,) = wrapper_spans(otel)
    assert [name for name, _ in events(wrapper)] == ["circuit_breaker.rejected", "fallback"]
    assert events(wrapper)[1][1][n.RESILIENCE_REASON] == "circuit_open"


async def test_the_callers_own_mistake_is_raised_at_once_and_ignored_by_the_breaker(
    api: Api, fake: FakeProvider, otel: Recorded, clock: ManualClock
) -> None:
    fake.push(Behavior(status=401), model="m-a")
    chat = wrap(otel, clock, *routes(api, "m-a", "m-b"))
    with pytest.raises(openai.AuthenticationError):
        await ask(chat)
    assert requested(fake) == ["m-a"]
    assert values(otel, n.BREAKER_CALLS) == {
        attrs(llm_otel__circuit_breaker__name="fake:m-a", llm_otel__circuit_breaker__outcome="ignored"): 1
    }
    (wrapper,) = wrapper_spans(otel)
    assert wrapper.attributes[n.ERROR_TYPE] == "openai.AuthenticationError"  # type: ignore[index]
    assert wrapper.attributes[n.RESILIENCE_OUTCOME] == "failure"  # type: ignore[index]


async def test_context_length_falls_back_only_to_a_larger_context_route(
    api: Api, fake: FakeProvider, otel: Recorded, clock: ManualClock
) -> None:
    fake.push(Behavior(status=400, error_code="context_length_exceeded"), model="m-a")
    larger = Route("fake:m-long", api.client.chat.completions.create, model="m-long", fallback_for={"context_length"})
    chat = wrap(otel, clock, *routes(api, "m-a", "m-b"), larger)
    assert (await ask(chat)).model == "m-long"
    assert requested(fake) == ["m-a", "m-long"]


async def test_every_route_failing_raises_the_last_provider_exception_with_the_hops(
    api: Api, fake: FakeProvider, otel: Recorded, clock: ManualClock
) -> None:
    fake.push(Behavior(status=503), model="m-a")
    fake.push(Behavior(status=500), model="m-b")
    chat = wrap(otel, clock, *routes(api, "m-a", "m-b"), retry=RetryPolicy(attempts=1))
    with pytest.raises(openai.InternalServerError) as raised:
        await ask(chat)
    assert raised.value.status_code == 500
    assert raised.value.__notes__ == [
        "llm-otel resilient chat: fake:m-a: openai.InternalServerError; fake:m-b: openai.InternalServerError"
    ]


async def test_a_stream_that_fails_before_its_first_content_is_retried_unspliced(
    api: Api, fake: FakeProvider, otel: Recorded, clock: ManualClock
) -> None:
    fake.push(Behavior(drop_after_chunks=1), model="m-a")  # only the role chunk, then the connection drops
    chunks = await drain(await ask(wrap(otel, clock, *routes(api, "m-a")), stream=True))
    assert requested(fake) == ["m-a", "m-a"]
    roles = [c.choices[0].delta.role for c in chunks if c.choices and c.choices[0].delta.role]
    assert roles == ["assistant"]
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert len("".join(c.choices[0].delta.content or "" for c in chunks).split()) == 12


async def test_a_stream_that_fails_after_its_first_content_reaches_the_caller(
    api: Api, fake: FakeProvider, otel: Recorded, clock: ManualClock
) -> None:
    fake.push(Behavior(drop_after_chunks=4), model="m-a")
    stream = await ask(wrap(otel, clock, *routes(api, "m-a", "m-b")), stream=True)
    with pytest.raises(Exception) as raised:
        await drain(stream)
    assert type(raised.value).__name__ in {"APIConnectionError", "RemoteProtocolError", "ReadError"}
    assert requested(fake) == ["m-a"]  # no retry, no fallback: never two answers spliced together
    (wrapper,) = wrapper_spans(otel)
    assert wrapper.attributes[n.RESILIENCE_OUTCOME] == "success"  # type: ignore[index]


async def test_attempt_timeout_cuts_a_hanging_call_and_retries(
    api: Api, fake: FakeProvider, otel: Recorded, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    fake.push(Behavior(hang=10), model="m-a")
    chat = wrap(otel, clock, *routes(api, "m-a"), attempt_timeout=0.5)
    assert (await ask(chat)).model == "m-a"
    assert len(fake.requests) == 2
    assert [f["reason"] for f in logged(caplog, "retry.scheduled")] == ["timeout"]


async def test_the_deadline_stops_retries_that_would_overrun_it(
    api: Api, fake: FakeProvider, otel: Recorded, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    fake.push(Behavior(status=429, retry_after=3), times=3, model="m-a")
    chat = wrap(otel, clock, *routes(api, "m-a"), deadline=5)
    with pytest.raises(openai.RateLimitError):
        await ask(chat)
    assert clock.sleeps == [3]
    assert [f["cause"] for f in logged(caplog, "retry.exhausted")] == ["deadline"]


async def test_a_client_with_sdk_retries_on_is_warned_about_once(
    fake: FakeProvider, caplog: pytest.LogCaptureFixture
) -> None:
    client = openai.OpenAI(base_url=fake.openai_base_url, api_key="k")
    for _ in range(2):
        Route("fake:warned", client.chat.completions.create, model="m")
    warnings = [r.getMessage() for r in caplog.records if "max_retries=2" in r.getMessage()]
    assert len(warnings) == 1
    assert "without_sdk_retries" in warnings[0]
    client.close()


# --- anthropic ---------------------------------------------------------------------------------


def claude_chat(claude: Claude, otel: Recorded, clock: ManualClock, **options: Any) -> Resilient:
    route = Route("fake:claude-a", claude.client.messages.create, model="claude-a", max_tokens=100)
    return wrap(otel, clock, route, **options)


async def test_anthropic_overloaded_529_burst_is_retried(
    claude: Claude, fake: FakeProvider, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    otel = make_recorded()
    fake.push(Behavior(status=529), times=2, model="claude-a")
    chat = claude_chat(claude, otel, clock, retry=RetryPolicy(rng=lambda: 1.0))
    reply = await ask(chat)
    assert reply.model == "claude-a"
    assert clock.sleeps == [0.5, 1.0]
    assert [f["reason"] for f in logged(caplog, "retry.scheduled")] == ["overloaded", "overloaded"]
    assert requested(fake) == ["claude-a"] * 3


async def test_anthropic_in_stream_overload_before_content_is_retried(
    claude: Claude, fake: FakeProvider, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    otel = make_recorded()
    fake.push(Behavior(stream_error_after_chunks=1), model="claude-a")  # message_start, then overloaded_error
    events_seen = await drain(await ask(claude_chat(claude, otel, clock), stream=True))
    assert requested(fake) == ["claude-a"] * 2
    assert [e.type for e in events_seen].count("message_start") == 1
    assert events_seen[-1].type == "message_stop"
    assert [(f["reason"], f["error_type"]) for f in logged(caplog, "retry.scheduled")] == [
        ("overloaded", "anthropic.APIStatusError")
    ]


def test_fallback_across_providers_through_an_adapter(fake: FakeProvider, clock: ManualClock) -> None:
    import anthropic

    otel = make_recorded()
    claude_client = anthropic.Anthropic(base_url=fake.url, api_key="k", max_retries=0)
    openai_client = openai.OpenAI(base_url=fake.openai_base_url, api_key="k", max_retries=0)

    def gpt(*, messages: list[dict[str, Any]], max_tokens: int, **_: Any) -> str:
        reply = openai_client.chat.completions.create(model="gpt-b", messages=messages, max_tokens=max_tokens)
        return reply.choices[0].message.content or ""

    def claude_text(**kwargs: Any) -> str:
        reply = claude_client.messages.create(model="claude-a", **kwargs)
        return "".join(block.text for block in reply.content if block.type == "text")

    fake.push(Behavior(status=529), times=3, model="claude-a")
    chat = wrap(otel, clock, Route("anthropic:claude-a", claude_text), Route("openai:gpt-b", gpt))
    text = chat(messages=MESSAGES, max_tokens=50)
    assert len(text.split()) == 12
    assert requested(fake) == ["claude-a", "gpt-b"]  # 529 with a healthy fallback: no waiting, no retry
    claude_client.close()
    openai_client.close()


# --- the caller's own functions ------------------------------------------------------------------


def test_decorated_function_is_retried_on_connection_errors_only(clock: ManualClock) -> None:
    calls: list[int] = []

    @resilient(retry=RetryPolicy(attempts=3, rng=lambda: 0.0), clock=clock)
    def flaky(x: int) -> int:
        calls.append(x)
        if len(calls) < 3:
            raise ConnectionResetError("peer reset")
        return x * 2

    assert flaky(21) == 42
    assert calls == [21, 21, 21]
    assert breaker_states() == {flaky.name: "closed"}


def test_unknown_exceptions_are_fatal_unless_classified(clock: ManualClock) -> None:
    raised = ValueError("not ours")
    calls: list[None] = []

    def broken() -> None:
        calls.append(None)
        raise raised

    with pytest.raises(ValueError) as caught:
        resilient(Route("user:broken", broken), clock=clock)()
    assert caught.value is raised
    assert len(calls) == 1

    def retry_value_errors(exc: BaseException) -> Verdict | None:
        return Verdict("flaky", retry=True, failure=True, fallback="any") if isinstance(exc, ValueError) else None

    with pytest.raises(ValueError) as caught:
        resilient(Route("user:broken", broken), classify=retry_value_errors, clock=clock)()
    assert caught.value is raised
    assert len(calls) == 4


async def test_a_cancelled_call_hands_its_trial_permit_back(clock: ManualClock) -> None:
    started = asyncio.Event()

    async def hangs(**_: Any) -> None:
        started.set()
        await asyncio.Event().wait()

    policy = BreakerPolicy(consecutive_failures=1, open_for=1, open_jitter=0, half_open_calls=1)
    chat = resilient(Route("user:hangs", hangs), breaker=policy, clock=clock)
    breaker = chat._breaker(chat.routes[0])
    permit = breaker.acquire()
    assert permit is not None
    breaker.record(permit, failed=True)
    clock.t += 1
    task = asyncio.ensure_future(chat())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert breaker_states() == {"user:hangs": "half_open"}
    assert breaker.acquire() is not None  # the cancelled trial's slot is free again


def test_demo_phase_trips_falls_back_and_recovers(fake: FakeProvider) -> None:
    import threading

    from llm_otel.demo import _resilience
    from llm_otel.demo._workload import Tally

    otel = make_recorded()
    tally = Tally()
    client = openai.OpenAI(base_url=fake.openai_base_url, api_key="k", max_retries=0)
    phase = _resilience.run(fake, client, tally, threading.Event(), otel.tracer_provider, otel.meter_provider)
    client.close()
    assert [(old, new) for old, new, _ in phase.transitions] == [
        ("closed", "open"),
        ("open", "half_open"),
        ("half_open", "closed"),
    ]
    assert phase.answered == {_resilience.BACKUP: 8, _resilience.PRIMARY: 3}
    assert phase.rejected == 7
    assert (
        sum(tally.calls.values()) == len(fake.requests) == 14
    )  # 3 failures on the primary, 8 on the fallback, 3 after recovery
    assert sum(tally.failures.values()) == 3
    assert "8 answered by the fallback, 7 rejected" in _resilience.render(phase)
    assert values(otel, n.BREAKER_STATE)[attrs(llm_otel__circuit_breaker__name=f"demo:{_resilience.PRIMARY}")] == 0
