"""Who answers a call, read from a client's base URL without assuming its HTTP library."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from llm_otel.telemetry import Endpoint

# Exact hosts and host suffixes of well-known services, mapped to gen_ai.provider.name values.
_HOSTS = {
    "api.openai.com": "openai",
    "api.anthropic.com": "anthropic",
    "api.groq.com": "groq",
    "api.deepseek.com": "deepseek",
    "api.x.ai": "x_ai",
    "api.mistral.ai": "mistral_ai",
    "api.perplexity.ai": "perplexity",
    "api.cohere.ai": "cohere",
    "api.cohere.com": "cohere",
    "generativelanguage.googleapis.com": "gcp.gemini",
    "openrouter.ai": "openrouter",
    "api.together.xyz": "together_ai",
    "api.fireworks.ai": "fireworks_ai",
}
_SUFFIXES = (
    (".openai.azure.com", "azure.ai.openai"),
    (".cognitiveservices.azure.com", "azure.ai.openai"),
    (".services.ai.azure.com", "azure.ai.inference"),
    (".models.ai.azure.com", "azure.ai.inference"),
    ("aiplatform.googleapis.com", "gcp.vertex_ai"),
    (".amazonaws.com", "aws.bedrock"),
)
_OLLAMA_PORT = 11434
_CACHE_MAX = 256


def provider_for_host(host: str, port: int | None, default: str) -> str:
    """The provider name for a host, or ``default`` for one we do not recognise."""
    host = host.lower()
    known = _HOSTS.get(host)
    if known is not None:
        return known
    for suffix, name in _SUFFIXES:
        if host.endswith(suffix):
            return name
    if port == _OLLAMA_PORT:
        return "ollama"
    return default


def url_parts(url: Any) -> tuple[str | None, int | None]:
    """Host and port of an httpx/httpx2 URL or a plain string; the scheme's port when implicit."""
    host = getattr(url, "host", None)
    if isinstance(host, str):
        port = getattr(url, "port", None)
        scheme = getattr(url, "scheme", "https")
    else:
        parts = urlsplit(str(url))
        host, port, scheme = parts.hostname, parts.port, parts.scheme
    if not host:
        return None, None
    if not isinstance(port, int):
        port = 80 if scheme == "http" else 443
    return host, port


class EndpointCache:
    """Endpoint per client base URL object; clients are long-lived, so this is read once each."""

    def __init__(self, default_provider: str) -> None:
        self._default = default_provider
        # id(url) -> (url, endpoint); the url is kept so its id cannot be reused while cached.
        self._cache: dict[int, tuple[Any, Endpoint]] = {}

    def lookup(self, base_url: Any, forced_provider: str | None = None) -> Endpoint:
        hit = self._cache.get(id(base_url))
        if hit is not None and hit[0] is base_url:
            return hit[1]
        host, port = url_parts(base_url)
        provider = forced_provider or (provider_for_host(host, port, self._default) if host else self._default)
        endpoint = Endpoint(provider, host, port)
        if len(self._cache) >= _CACHE_MAX:
            self._cache.clear()
        self._cache[id(base_url)] = (base_url, endpoint)
        return endpoint
