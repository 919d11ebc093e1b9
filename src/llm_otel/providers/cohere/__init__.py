"""Cohere instrumentor: the ``cohere`` SDK's v2 API (5.10+, httpx), sync and async, streams included.

``ClientV2`` and ``AsyncClientV2`` take ``chat``, ``chat_stream`` and ``embed`` from the generated
``V2Client`` / ``AsyncV2Client`` (as does ``Client().v2``). Since 5.16 those methods only call the
raw client layer (``RawV2Client``, also reached through ``with_raw_response``), which sends the
request: that layer is patched, so each call is traced once however it was reached, and clients
made before instrumenting are traced too (``Client.__init__`` binds ``chat`` and ``chat_stream``
into per-instance wrappers). Before 5.16 the ``V2Client`` methods send the request themselves and
are patched instead. ``rerank`` is not traced: no operation of the GenAI conventions describes it.
The v1 API (``Client.chat``, its stream events and ``meta``) is not traced either.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from dataclasses import replace
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
CHAT_STREAM = Operation(n.OP_CHAT, _endpoint, streamed(read_chat), read_response, events, content=CONTENT)
EMBED = Operation(n.OP_EMBEDDINGS, _endpoint, read_embed, read_response, no_stream)
# The raw chat_stream is a context manager sending its request on entry; the entered HttpResponse
# keeps the event iterator in ``_data``, which its ``data`` returns.
RAW_CHAT_STREAM = replace(CHAT_STREAM, entered="_data")

RAW_MODULE = "cohere.v2.raw_client"  # 5.16 and later
DIRECT_MODULE = "cohere.v2.client"


class CohereInstrumentor(ProviderInstrumentor):
    """Traces and measures every Cohere v2 chat, chat stream and embed call.

    Example::

        CohereInstrumentor().instrument()
        cohere.ClientV2(api_key=...).chat(model="command-a-03-2025", messages=[...])
    """

    requirement = "cohere >= 5.10"
    root_modules = ("cohere",)

    def patches(self, config: dict[str, Any]) -> Iterable[Patch]:
        if importlib.util.find_spec(RAW_MODULE) is not None:
            module, classes, stream = RAW_MODULE, ("RawV2Client", "AsyncRawV2Client"), RAW_CHAT_STREAM
        else:
            module, classes, stream = DIRECT_MODULE, ("V2Client", "AsyncV2Client"), CHAT_STREAM
        for cls, is_async in zip(classes, (False, True), strict=True):
            yield Patch(module, f"{cls}.chat", CHAT, is_async=is_async)
            yield Patch(module, f"{cls}.embed", EMBED, is_async=is_async)
            # Never a coroutine: a generator (or async generator) or a context manager.
            yield Patch(module, f"{cls}.chat_stream", stream)
