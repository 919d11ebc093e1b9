"""Ollama instrumentor: the ``ollama`` client 0.4+ (httpx), sync and async, streams included.

Every inference method of ``Client`` and ``AsyncClient`` (``chat``, ``generate``, ``embed``, the
legacy ``embeddings``) sends its request through the client's one request method, ``_request``,
with the JSON body it built; so do the module-level functions (``ollama.chat`` ...), which are
methods of a default ``Client`` bound when ``ollama`` is imported. That method is the one patched,
routed by the request's path: a call is traced exactly once however it was reached, even through
a function imported before instrumenting, and the request is read from the normalised body.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from llm_otel.providers._base import Patch, ProviderInstrumentor
from llm_otel.providers._endpoint import EndpointCache
from llm_otel.telemetry import Endpoint, Operation
from llm_otel.telemetry import _names as n

from ._content import CONTENT
from ._read import chunks, read_request, read_response

__all__ = ["OllamaInstrumentor"]

PROVIDER = "ollama"
_endpoints = EndpointCache(PROVIDER)


def _endpoint(client: Any) -> Endpoint:
    # The client's httpx client holds the base URL built from ``host`` or OLLAMA_HOST.
    return _endpoints.lookup(client._client.base_url, PROVIDER)


_chat = Operation(n.OP_CHAT, _endpoint, read_request, read_response, chunks, content=CONTENT)
_embeddings = Operation(n.OP_EMBEDDINGS, _endpoint, read_request, read_response, chunks)
#: The request paths traced, each with its operation; the client's other requests pass through.
ROUTES: Mapping[str, Operation] = {
    "/api/chat": _chat,
    "/api/generate": replace(_chat, name=n.OP_TEXT_COMPLETION),
    "/api/embed": _embeddings,
    "/api/embeddings": _embeddings,
}


def _route(_client: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Operation, dict[str, Any]] | None:
    # _request(cls, method, url, *, json=..., stream=...)
    operation = ROUTES.get(args[2]) if len(args) > 2 else None
    if operation is None:
        return None
    body = kwargs.get("json")
    return operation, body if isinstance(body, dict) else {}


class OllamaInstrumentor(ProviderInstrumentor):
    """Traces and measures every Ollama chat, generate and embed call.

    Example::

        OllamaInstrumentor().instrument()
        ollama.chat(model="llama3.2", messages=[{"role": "user", "content": "Hi"}])
    """

    requirement = "ollama >= 0.4"
    root_modules = ("ollama",)

    def patches(self, config: dict[str, Any]) -> Iterable[Patch]:
        yield Patch("ollama._client", "Client._request", None, route=_route)
        yield Patch("ollama._client", "AsyncClient._request", None, is_async=True, route=_route)
