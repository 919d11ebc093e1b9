"""Instrument every installed, supported provider SDK at once."""

from __future__ import annotations

from typing import Any

from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from ._services import installed, instance, instrument_services, prefer_stable_http
from .providers._base import ProviderInstrumentor
from .providers.anthropic import AnthropicInstrumentor
from .providers.bedrock import BedrockInstrumentor
from .providers.cohere import CohereInstrumentor
from .providers.google_genai import GoogleGenAIInstrumentor
from .providers.mistral import MistralInstrumentor
from .providers.ollama import OllamaInstrumentor
from .providers.openai import OpenAIInstrumentor

_INSTRUMENTORS: tuple[type[ProviderInstrumentor], ...] = (
    OpenAIInstrumentor,
    AnthropicInstrumentor,
    OllamaInstrumentor,
    MistralInstrumentor,
    CohereInstrumentor,
    BedrockInstrumentor,
    GoogleGenAIInstrumentor,
)


def instrument(
    *,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
    services: bool = True,
    **options: Any,
) -> list[str]:
    """Instrument every supported provider SDK that is installed; returns what was instrumented.

    Providers default to the global ones. SDKs that are absent or outside the supported range are
    skipped quietly; calling this twice is harmless. ``options`` go to each instrumentor (e.g.
    ``stream_usage=True`` for OpenAI). With ``services`` (the default), the process, web-server,
    gRPC and HTTP-client instrumentations the ``process`` and ``web`` extras install are loaded
    too (docs/service.md); their entry-point names follow the SDKs' requirement names.

    Example::

        llm_otel.instrument(stream_usage=True)
    """
    if services:
        prefer_stable_http()  # before the first instrumentor: the choice is read once, on the first load
    done = []
    for cls in _INSTRUMENTORS:
        instrumentor = cls()
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, **options)
        if instrumentor.is_instrumented_by_opentelemetry:
            done.append(cls.requirement)
    if services:
        done += instrument_services(tracer_provider=tracer_provider, meter_provider=meter_provider)
    return done


def uninstrument() -> None:
    """Restore every patched SDK method, and undo the service instrumentations."""
    for instrumentor in [cls() for cls in _INSTRUMENTORS] + [instance(point) for point in installed()]:
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
