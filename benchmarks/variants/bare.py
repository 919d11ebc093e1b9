"""Uninstrumented: the baseline every overhead is measured against. The global tracer provider is
left as the API's no-op one, as in an application that has not set up OpenTelemetry: anthropic
2.x's own tracing asks the no-op tracer for a span, gets an invalid one and goes on without it.
"""

from __future__ import annotations

from typing import Any

PROVIDERS = ("openai", "anthropic", "ollama", "mistralai", "cohere", "botocore", "google-genai")
VENV = "llm-otel"
SET_GLOBALS = False


def instrument(provider: Any, tracer_provider: Any, meter_provider: Any) -> None:
    """Nothing: the SDK set-up exists (as in every variant) but no call touches it."""
