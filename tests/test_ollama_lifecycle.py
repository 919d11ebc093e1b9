"""Ollama: instrument/uninstrument, the entry point, and a quiet no-op without a supported client."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable

import ollama
import pytest
import wrapt

import llm_otel
from conftest import Llama, Recorded
from llm_otel.fake import FakeProvider
from llm_otel.providers.ollama import OllamaInstrumentor

pytestmark = pytest.mark.anyio

CLASSES = (ollama.Client, ollama.AsyncClient)


def test_uninstrument_restores_every_original() -> None:
    originals = [vars(cls)["_request"] for cls in CLASSES]
    instrumentor = OllamaInstrumentor()
    instrumentor.instrument()
    assert all(isinstance(vars(cls)["_request"], wrapt.FunctionWrapper) for cls in CLASSES)
    instrumentor.uninstrument()
    assert [vars(cls)["_request"] for cls in CLASSES] == originals


async def test_double_instrument_makes_one_span(llama: Llama, ollama_otel: Recorded) -> None:
    OllamaInstrumentor().instrument(
        tracer_provider=ollama_otel.tracer_provider, meter_provider=ollama_otel.meter_provider
    )
    await llama.chat()
    assert len(ollama_otel.spans()) == 1
    assert ollama_otel.point("gen_ai.client.operation.duration").count == 1


async def test_no_telemetry_after_uninstrument(llama: Llama, ollama_otel_with: Callable[..., Recorded]) -> None:
    recorded = ollama_otel_with()
    OllamaInstrumentor().uninstrument()
    await llama.chat()
    assert recorded.spans() == []


def test_entry_point_is_ours_and_loads() -> None:
    points = {ep.name: ep for ep in importlib.metadata.entry_points(group="opentelemetry_instrumentor")}
    assert points["llm_otel_ollama"].load() is OllamaInstrumentor


def test_top_level_instrument_includes_ollama() -> None:
    try:
        assert "ollama >= 0.4" in llm_otel.instrument(services=False)
        assert isinstance(vars(ollama.Client)["_request"], wrapt.FunctionWrapper)
    finally:
        llm_otel.uninstrument()
    assert not isinstance(vars(ollama.Client)["_request"], wrapt.FunctionWrapper)


def test_unsupported_or_absent_client_is_a_quiet_no_op(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    for requirement in ("ollama >= 999", "ollama-not-installed >= 1"):
        monkeypatch.setattr(OllamaInstrumentor, "requirement", requirement)
        OllamaInstrumentor().instrument()
        assert not OllamaInstrumentor().is_instrumented_by_opentelemetry
    assert not isinstance(vars(ollama.Client)["_request"], wrapt.FunctionWrapper)
    assert [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")] == []


def test_functions_imported_before_instrumenting_are_traced(fake: FakeProvider) -> None:
    # The module-level functions are bound to a default client built from OLLAMA_HOST at import.
    script = textwrap.dedent(
        """
        from ollama import chat
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        import llm_otel
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        llm_otel.instrument(tracer_provider=provider, services=False)
        chat("llama3.2", [{"role": "user", "content": "hi"}])
        (span,) = exporter.get_finished_spans()
        print(span.name, span.attributes["server.port"], span.attributes["gen_ai.usage.output_tokens"])
        """
    )
    env = {**os.environ, "OLLAMA_HOST": f"127.0.0.1:{fake.port}"}
    done = subprocess.run(
        [sys.executable, "-c", script], check=False, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["chat", "llama3.2", str(fake.port), "12"]
