"""Uninstrumented: the baseline every overhead is measured against."""

from __future__ import annotations

from typing import Any

VENV = "llm-otel"


def instrument(tracer_provider: Any, meter_provider: Any) -> None:
    """Nothing: the SDK set-up exists (as in every variant) but no call touches it."""
