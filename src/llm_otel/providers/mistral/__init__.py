"""Mistral instrumentor: the ``mistralai`` SDK 1.5+ (httpx) through 3.x (httpx2), sync and async.

The SDK is generated: every operation is its own resource method (``chat.complete``,
``chat.stream``, ``embeddings.create``, ``fim.complete`` ... and their ``_async`` twins), which
builds its request and sends it through the shared ``BaseSDK.do_request``. The resource methods are
patched, not that request layer: it returns the raw HTTP response before the method turns it into
a model or a stream of events, so only the method sees what the caller gets, and each call goes
through exactly one of them (``chat.parse`` and its twins call ``complete`` or ``stream``, and are
traced there). 2.x moved the SDK under ``mistralai.client``; both layouts are listed.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

import wrapt

from llm_otel.providers._base import Patch, ProviderInstrumentor
from llm_otel.providers._endpoint import EndpointCache
from llm_otel.telemetry import Endpoint, Operation
from llm_otel.telemetry import _names as n

from ._content import CONTENT
from ._native import NATIVE_FUNCTION, NATIVE_MODULE, native_span_wrapper
from ._read import RequestReader, events, read_chat, read_embeddings, read_fim, read_response, streamed

__all__ = ["MistralInstrumentor"]

PROVIDER = "mistral_ai"
_endpoints = EndpointCache(PROVIDER)


def _endpoint(resource: Any) -> Endpoint:
    # The client's ``server_url``, else the URL of its named server (api.mistral.ai).
    return _endpoints.lookup(resource.sdk_configuration.get_server_details()[0])


def _operation(name: str, read: RequestReader, stream: bool, content: bool = True) -> Operation:
    return Operation(
        name,
        _endpoint,
        streamed(read) if stream else read,
        read_response,
        events,
        content=CONTENT if content else None,
    )


#: (module, "Class.method", operation) of every traced method; each also has an ``_async`` twin.
METHODS: tuple[tuple[str, str, Operation], ...] = (
    ("chat", "Chat.complete", _operation(n.OP_CHAT, read_chat, stream=False)),
    ("chat", "Chat.stream", _operation(n.OP_CHAT, read_chat, stream=True)),
    ("fim", "Fim.complete", _operation(n.OP_TEXT_COMPLETION, read_fim, stream=False)),
    ("fim", "Fim.stream", _operation(n.OP_TEXT_COMPLETION, read_fim, stream=True)),
    ("embeddings", "Embeddings.create", _operation(n.OP_EMBEDDINGS, read_embeddings, stream=False, content=False)),
)
_PACKAGES = ("mistralai.client", "mistralai")  # 2.x and later, 1.x


class MistralInstrumentor(ProviderInstrumentor):
    """Traces and measures every Mistral chat, FIM and embeddings call.

    Example::

        MistralInstrumentor().instrument()
        Mistral(api_key=...).chat.complete(model="mistral-small-latest", messages=[...])
    """

    requirement = "mistralai >= 1.5"
    root_modules = ("mistralai", "mistralai.client")

    def _patch_all(self) -> None:
        # 2.x and later trace by themselves (see _native): our span stays the call's one span.
        if self._telemetry is not None and not self._patched:
            try:
                native = importlib.import_module(NATIVE_MODULE)
            except ImportError:
                native = None  # 1.x
            if hasattr(native, NATIVE_FUNCTION):
                wrapt.wrap_function_wrapper(native, NATIVE_FUNCTION, native_span_wrapper)
                self._patched = ((native, NATIVE_FUNCTION),)
        super()._patch_all()

    def patches(self, config: dict[str, Any]) -> Iterable[Patch]:
        for package in _PACKAGES:
            for module, target, operation in METHODS:
                yield Patch(f"{package}.{module}", target, operation)
                yield Patch(f"{package}.{module}", f"{target}_async", operation, is_async=True)
