"""OpenTelemetry contrib's ``opentelemetry-instrumentation-openai-v2``, content capture off."""

from __future__ import annotations

from typing import Any

PROVIDERS = ("openai",)
VENV = "otel-v2"
DISTRIBUTIONS = ("opentelemetry-instrumentation-openai-v2", "opentelemetry-util-genai")
# Its default (released-conventions) path reads "true"/"false"; events are left off as well.
ENVIRON = {
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "false",
    "OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT": "false",
}


def instrument(provider: Any, tracer_provider: Any, meter_provider: Any) -> None:
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

    OpenAIInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
