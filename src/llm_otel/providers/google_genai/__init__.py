"""Google GenAI instrumentor: the ``google-genai`` SDK 1.8+ (``from google import genai``), sync and async.

One client speaks to the Gemini API or, with ``vertexai=True``, to Vertex AI; ``client.models``
(``Models``) and ``client.aio.models`` (``AsyncModels``) hold the inference methods. The public
``generate_content`` and ``generate_content_stream`` may send several requests for one call:
automatic function calling sends one per round of function calls, and automatic continuation (2.x
and later) one per continued reply. Their per-request methods, ``_generate_content`` and
``_generate_content_stream`` (present from the first release on, with the same keywords), are the ones patched, so
that each request has its span and its own usage. Chats (``client.chats.create(...).send_message``
and ``send_message_stream``) call ``generate_content`` and are traced there, once per request.
``embed_content`` sends one request and is patched itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from llm_otel.providers._base import Patch, ProviderInstrumentor
from llm_otel.providers._endpoint import EndpointCache
from llm_otel.providers._read import field
from llm_otel.telemetry import Endpoint, Operation
from llm_otel.telemetry import _names as n

from ._content import CONTENT
from ._read import chunks, model_name, read_embed, read_generate, read_response, read_stream

__all__ = ["GoogleGenAIInstrumentor"]

GEMINI = "gcp.gemini"
VERTEX_AI = "gcp.vertex_ai"
# One cache per provider name: a Gemini API and a Vertex AI client may share one base URL (a proxy's).
_endpoints = {False: EndpointCache(GEMINI), True: EndpointCache(VERTEX_AI)}


def _endpoint(models: Any) -> Endpoint:
    # The client's base URL, its http_options' base_url when given (a dict before 1.x's HttpOptions).
    client = models._api_client
    vertexai = bool(client.vertexai)
    return _endpoints[vertexai].lookup(field(client._http_options, "base_url"), VERTEX_AI if vertexai else GEMINI)


def _operation(name: str, read: Any, content: bool = True) -> Operation:
    return Operation(
        name, _endpoint, read, read_response, chunks, model=model_name, content=CONTENT if content else None
    )


#: ("Class.method", operation) of every traced method of ``Models``; ``AsyncModels`` has the same.
METHODS: tuple[tuple[str, Operation], ...] = (
    ("_generate_content", _operation(n.OP_CHAT, read_generate)),
    ("_generate_content_stream", _operation(n.OP_CHAT, read_stream)),
    ("embed_content", _operation(n.OP_EMBEDDINGS, read_embed, content=False)),
)


class GoogleGenAIInstrumentor(ProviderInstrumentor):
    """Traces and measures every Gemini generate and embed request, on the Gemini API and Vertex AI.

    Example::

        GoogleGenAIInstrumentor().instrument()
        genai.Client(api_key=...).models.generate_content(model="gemini-2.5-flash", contents="Hi")
    """

    requirement = "google-genai >= 1.8"
    root_modules = ("google.genai",)

    def patches(self, config: dict[str, Any]) -> Iterable[Patch]:
        for method, operation in METHODS:
            yield Patch("google.genai.models", f"Models.{method}", operation)
            yield Patch("google.genai.models", f"AsyncModels.{method}", operation, is_async=True)
