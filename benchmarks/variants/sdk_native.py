"""anthropic 2.x's own tracing, with the global tracer provider set: one span per call, no metrics.

Not a peer for the targets (it records no metrics, so it does less than the job), shown for what
an application pays for the SDK's span once it sets up OpenTelemetry and instruments nothing.
"""

from __future__ import annotations

from typing import Any

PROVIDERS = ("anthropic",)
VENV = "llm-otel"


def instrument(provider: Any, tracer_provider: Any, meter_provider: Any) -> None:
    """Nothing: the SDK traces into the global tracer provider the worker set."""
