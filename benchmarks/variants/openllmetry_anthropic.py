"""OpenLLMetry's ``opentelemetry-instrumentation-anthropic``, content capture off (global providers set)."""

from __future__ import annotations

from typing import Any

PROVIDERS = ("anthropic",)
VENV = "openllmetry-anthropic"
DISTRIBUTIONS = ("opentelemetry-instrumentation-anthropic", "opentelemetry-semantic-conventions-ai")
ENVIRON = {"TRACELOOP_TRACE_CONTENT": "false"}


def instrument(provider: Any, tracer_provider: Any, meter_provider: Any) -> None:
    from opentelemetry.instrumentation.anthropic import AnthropicInstrumentor

    AnthropicInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
