"""OpenLLMetry's ``opentelemetry-instrumentation-openai``, content capture off."""

from __future__ import annotations

from typing import Any

PROVIDERS = ("openai",)
VENV = "openllmetry"
DISTRIBUTIONS = ("opentelemetry-instrumentation-openai", "opentelemetry-semantic-conventions-ai")
ENVIRON = {"TRACELOOP_TRACE_CONTENT": "false"}


def instrument(provider: Any, tracer_provider: Any, meter_provider: Any) -> None:
    from opentelemetry.instrumentation.openai import OpenAIInstrumentor

    OpenAIInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
