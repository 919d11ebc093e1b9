"""llm-otel's instrumentor of the provider, as a user would turn it on (global providers set).

On anthropic 2.x it replaces the SDK's own span with its own, so a call has one span (see
docs/anthropic.md); the SDK still propagates the trace context, now naming llm-otel's span.
"""

from __future__ import annotations

from typing import Any

PROVIDERS = ("openai", "anthropic", "ollama", "mistralai", "cohere", "botocore", "google-genai")
VENV = "llm-otel"
DISTRIBUTIONS = ("llm-otel",)


def instrument(provider: Any, tracer_provider: Any, meter_provider: Any) -> None:
    from llm_otel.providers.anthropic import AnthropicInstrumentor
    from llm_otel.providers.bedrock import BedrockInstrumentor
    from llm_otel.providers.cohere import CohereInstrumentor
    from llm_otel.providers.google_genai import GoogleGenAIInstrumentor
    from llm_otel.providers.mistral import MistralInstrumentor
    from llm_otel.providers.ollama import OllamaInstrumentor
    from llm_otel.providers.openai import OpenAIInstrumentor

    instrumentor = {
        "openai": OpenAIInstrumentor,
        "anthropic": AnthropicInstrumentor,
        "ollama": OllamaInstrumentor,
        "mistralai": MistralInstrumentor,
        "cohere": CohereInstrumentor,
        "botocore": BedrockInstrumentor,
        "google-genai": GoogleGenAIInstrumentor,
    }
    instrumentor[provider.name]().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
