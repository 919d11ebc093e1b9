"""Instrument every installed, supported provider SDK at once."""

from __future__ import annotations

from typing import Any

from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from .providers._base import ProviderInstrumentor
from .providers.anthropic import AnthropicInstrumentor
from .providers.ollama import OllamaInstrumentor
from .providers.openai import OpenAIInstrumentor

_INSTRUMENTORS: tuple[type[ProviderInstrumentor], ...] = (OpenAIInstrumentor, AnthropicInstrumentor, OllamaInstrumentor)


def instrument(
    *,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
    **options: Any,
) -> list[str]:
    """Instrument every supported provider SDK that is installed; returns their requirement names.

    Providers default to the global ones. SDKs that are absent or outside the supported range are
    skipped quietly; calling this twice is harmless. ``options`` go to each instrumentor (e.g.
    ``stream_usage=True`` for OpenAI).

    Example::

        llm_otel.instrument(stream_usage=True)
    """
    done = []
    for cls in _INSTRUMENTORS:
        instrumentor = cls()
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, **options)
        if instrumentor.is_instrumented_by_opentelemetry:
            done.append(cls.requirement)
    return done


def uninstrument() -> None:
    """Restore every patched SDK method."""
    for cls in _INSTRUMENTORS:
        instrumentor = cls()
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
