"""Arize's ``openinference-instrumentation-openai``, inputs and outputs hidden.

It takes no meter provider and records no metrics; the global meter provider is set anyway.
"""

from __future__ import annotations

from typing import Any

PROVIDERS = ("openai",)
VENV = "openinference"
DISTRIBUTIONS = ("openinference-instrumentation-openai", "openinference-instrumentation")
ENVIRON = {"OPENINFERENCE_HIDE_INPUTS": "true", "OPENINFERENCE_HIDE_OUTPUTS": "true"}


def instrument(provider: Any, tracer_provider: Any, meter_provider: Any) -> None:
    from openinference.instrumentation.openai import OpenAIInstrumentor

    OpenAIInstrumentor().instrument(tracer_provider=tracer_provider)
