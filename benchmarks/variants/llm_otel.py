"""llm-otel's OpenAI instrumentor, as a user would turn it on."""

from __future__ import annotations

from typing import Any

VENV = "llm-otel"
DISTRIBUTIONS = ("llm-otel",)


def instrument(tracer_provider: Any, meter_provider: Any) -> None:
    from llm_otel.providers.openai import OpenAIInstrumentor

    OpenAIInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
