"""Our failures stay ours: logged once, never raised, and the call goes on untouched."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from conftest import Api, Recorded, drain
from llm_otel import _log
from llm_otel.providers.openai import OpenAIInstrumentor
from llm_otel.telemetry import Route
from llm_otel.telemetry import _names as n
from llm_otel.telemetry._instruments import Instruments

pytestmark = pytest.mark.anyio


def _boom(*_: Any) -> Any:
    raise RuntimeError("reader bug")


class _BrokenAccumulator:
    def add(self, chunk: Any) -> bool:
        raise RuntimeError("accumulator bug")

    def outcome(self) -> Any:
        raise RuntimeError("accumulator bug")


@pytest.fixture
def broken(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> Iterator[Callable[..., None]]:
    """Replace parts of every Operation with failing ones; yields nothing but the set-up."""
    _log._last.clear()
    patches = OpenAIInstrumentor.patches

    def breaking(**parts: Any) -> None:
        def broken_route(route: Route) -> Route:
            def routed(args: Any, kwargs: Any) -> Any:
                found = route(args, kwargs)
                return None if found is None else (dataclasses.replace(found[0], **parts), found[1])

            return routed

        def broken_patches(self: OpenAIInstrumentor, config: dict[str, Any]) -> Any:
            for patch in patches(self, config):
                if patch.route is not None:  # the client's post(), for calls below the resource methods
                    yield dataclasses.replace(patch, route=broken_route(patch.route))
                elif patch.operation is None:
                    yield patch
                else:
                    yield dataclasses.replace(patch, operation=dataclasses.replace(patch.operation, **parts))

        monkeypatch.setattr(OpenAIInstrumentor, "patches", broken_patches)

    yield breaking
    calls = caplog.get_records("call")
    reports = [r for r in calls if r.name == "llm_otel" and "internal error" in r.getMessage()]
    assert reports, "the failure was reported"
    assert len({r.getMessage() for r in reports}) == len(reports)  # each place once, not per call
    for record in reports:  # provoked on purpose: hide them from the autouse check
        calls.remove(record)
    _log._last.clear()


async def test_a_failure_recording_a_calls_metrics_still_ends_it_and_takes_it_out_of_flight(
    api: Api, broken: Any, otel_with: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken()
    monkeypatch.setattr(Instruments, "record_tokens", lambda *_: _boom())
    recorded: Recorded = otel_with()
    reply = await api.chat()
    assert reply.choices[0].message.content
    assert len(recorded.spans()) == 1
    assert [point.value for point in recorded.points(n.LLM_OTEL_REQUESTS_IN_FLIGHT)] == [0]


async def test_failing_request_reader(api: Api, broken: Any, otel_with: Any) -> None:
    broken(request=_boom)
    recorded: Recorded = otel_with()
    for _ in range(3):
        reply = await api.chat()
        assert reply.choices[0].message.content
    assert len(recorded.spans()) == 3


async def test_failing_response_reader(api: Api, broken: Any, otel_with: Any) -> None:
    broken(response=_boom)
    recorded: Recorded = otel_with()
    reply = await api.chat()
    assert reply.usage.prompt_tokens == 6
    span = recorded.span()
    assert "gen_ai.usage.input_tokens" not in (span.attributes or {})
    assert recorded.point("gen_ai.client.operation.duration").count == 1


async def test_failing_endpoint_reader_leaves_call_untraced(api: Api, broken: Any, otel_with: Any) -> None:
    broken(endpoint=_boom)
    recorded: Recorded = otel_with()
    assert (await api.chat()).choices
    assert recorded.spans() == []


async def test_failing_accumulator_keeps_the_stream_whole(api: Api, broken: Any, otel_with: Any) -> None:
    broken(stream=lambda result, injected: _BrokenAccumulator() if hasattr(result, "response") else None)
    recorded: Recorded = otel_with()
    chunks = await drain(await api.chat(stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).split() == [
        "This", "is", "a", "deterministic", "reply", "from", "the", "fake", "provider", "with", "one", "token.",
    ]  # fmt: skip
    assert len(recorded.spans()) == 1


def test_failing_patch_list_does_not_break_the_import() -> None:
    script = textwrap.dedent(
        """
        import logging, sys
        logging.basicConfig(level=logging.WARNING, stream=sys.stdout, format="%(name)s %(message)s")
        from llm_otel.providers.openai import OpenAIInstrumentor
        def broken(self, config):
            raise RuntimeError("patch list bug")
        OpenAIInstrumentor.patches = broken
        OpenAIInstrumentor().instrument()
        import openai  # the post-import hook fails inside this import
        print("imported", openai.OpenAI.__name__)
        """
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert "imported OpenAI" in run.stdout
    assert run.stdout.count("llm_otel llm-otel: internal error in patching ignored") == 1
