"""Cohere instrumentor: the ``cohere`` SDK's v2 API (5.16+, httpx), sync and async, streams included.

``ClientV2`` and ``AsyncClientV2`` take ``chat``, ``chat_stream`` and ``embed`` from the generated
``V2Client`` / ``AsyncV2Client`` (as does ``Client().v2``), which only call the raw client layer
(``RawV2Client``, also reached through ``with_raw_response``) that sends the request. That layer
is patched: each call is traced once however it was reached, and clients made before
instrumenting are traced too (``Client.__init__`` binds ``chat`` and ``chat_stream`` into
per-instance wrappers, so patching ``V2Client`` would miss them). ``rerank`` is not traced: no
operation of the GenAI conventions describes it; neither is the v1 API (``Client.chat``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from llm_otel.providers._base import Patch, ProviderInstrumentor
from llm_otel.providers._endpoint import EndpointCache
from llm_otel.providers.mistral._read import streamed
from llm_otel.telemetry import Endpoint, Operation
from llm_otel.telemetry import _names as n

from ._content import CONTENT
from ._read import events, no_stream, read_chat, read_embed, read_response

__all__ = ["CohereInstrumentor"]

PROVIDER = "cohere"
_endpoints = EndpointCache(PROVIDER)


def _endpoint(client: Any) -> Endpoint:
    # The base URL the client was made with (``base_url``, CO_API_URL, else api.cohere.com).
    return _endpoints.lookup(client._client_wrapper.get_base_url())


CHAT = Operation(n.OP_CHAT, _endpoint, read_chat, read_response, no_stream, content=CONTENT)
# The raw chat_stream is a context manager sending its request on entry; the entered HttpResponse
# keeps the event iterator in ``_data``, which its ``data`` returns and V2Client's generator reads.
CHAT_STREAM = Operation(
    n.OP_CHAT, _endpoint, streamed(read_chat), read_response, events, entered="_data", content=CONTENT
)
EMBED = Operation(n.OP_EMBEDDINGS, _endpoint, read_embed, read_response, no_stream)


class CohereInstrumentor(ProviderInstrumentor):
    """Traces and measures every Cohere v2 chat, chat stream and embed call.

    Example::

        CohereInstrumentor().instrument()
        cohere.ClientV2(api_key=...).chat(model="command-a-03-2025", messages=[...])
    """

    requirement = "cohere >= 5.16"
    root_modules = ("cohere",)

    def patches(self, config: dict[str, Any]) -> Iterable[Patch]:
        for cls, is_async in (("RawV2Client", False), ("AsyncRawV2Client", True)):
            yield Patch("cohere.v2.raw_client", f"{cls}.chat", CHAT, is_async=is_async)
            yield Patch("cohere.v2.raw_client", f"{cls}.embed", EMBED, is_async=is_async)
            # A context manager either way, sending its request on entry (see CHAT_STREAM).
            yield Patch("cohere.v2.raw_client", f"{cls}.chat_stream", CHAT_STREAM)
