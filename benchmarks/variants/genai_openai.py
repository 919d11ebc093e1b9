"""OpenTelemetry contrib's ``opentelemetry-instrumentation-genai-openai``, the openai-v2 successor."""

from __future__ import annotations

from typing import Any

PROVIDERS = ("openai",)
VENV = "genai-openai"
DISTRIBUTIONS = ("opentelemetry-instrumentation-genai-openai", "opentelemetry-util-genai")
# util-genai reads a capturing mode; NO_CONTENT is its "off".
ENVIRON = {
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "NO_CONTENT",
    "OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT": "false",
}


def instrument(provider: Any, tracer_provider: Any, meter_provider: Any) -> None:
    from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor

    OpenAIInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
