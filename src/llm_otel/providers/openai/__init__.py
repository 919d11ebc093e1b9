"""OpenAI instrumentor: openai 1.66+ (httpx) through 3.x (httpx2), sync and async.

Also used for OpenAI-compatible services reached through the openai SDK (Azure OpenAI, Groq,
DeepSeek, xAI, Mistral, Ollama, OpenRouter ...): their provider name comes from the base URL.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from llm_otel.providers._base import Patch, ProviderInstrumentor
from llm_otel.providers._endpoint import EndpointCache
from llm_otel.providers._read import deferred, request_reader
from llm_otel.telemetry import Accumulator, Endpoint, Operation
from llm_otel.telemetry import _names as n

from ._content import CHAT_CONTENT, RESPONSES_CONTENT
from ._read import (
    CHAT_REQUEST,
    EMBEDDINGS_REQUEST,
    RESPONSES_REQUEST,
    ChunkAccumulator,
    ResponseEventAccumulator,
    read_completion,
    read_response,
)

__all__ = ["OpenAIInstrumentor"]

STREAM_USAGE_ENV = "LLM_OTEL_OPENAI_STREAM_USAGE"

_endpoints = EndpointCache("openai")


_azure_types: dict[type, bool] = {}


def _client_endpoint(client: Any) -> Endpoint:
    kind = type(client)
    azure = _azure_types.get(kind)
    if azure is None:
        azure = _azure_types[kind] = any(cls.__name__ == "BaseAzureClient" for cls in kind.__mro__)
    # The ``base_url`` property does work on every read in openai 3.x; the attribute behind it does not.
    url = getattr(client, "_base_url", None) or client.base_url
    return _endpoints.lookup(url, "azure.ai.openai" if azure else None)


def _endpoint(resource: Any) -> Endpoint:
    return _client_endpoint(resource._client)


def _inject_usage(kwargs: dict[str, Any]) -> bool:
    """Ask for the final usage chunk of a chat stream unless the caller chose for themselves."""
    if kwargs.get("stream") is not True:
        return False
    options = kwargs.get("stream_options")
    if isinstance(options, Mapping):
        if "include_usage" in options:
            return False
        kwargs["stream_options"] = {**options, "include_usage": True}
        return True
    if options is None or type(options).__name__ in ("NotGiven", "Omit"):
        kwargs["stream_options"] = {"include_usage": True}
        return True
    return False


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


class OpenAIInstrumentor(ProviderInstrumentor):
    """Traces and measures every OpenAI inference call.

    Example::

        OpenAIInstrumentor().instrument(stream_usage=True)

    ``stream_usage=True`` (or ``LLM_OTEL_OPENAI_STREAM_USAGE=true``) adds
    ``stream_options.include_usage`` to chat streams that did not set it, so token metrics exist
    for streams, and hides the extra usage-only chunk so the caller iterates the same chunks.
    Off by default: some OpenAI-compatible servers reject ``stream_options``.
    """

    requirement = "openai >= 1.66"
    root_modules = ("openai",)

    def patches(self, config: dict[str, Any]) -> Iterable[Patch]:
        import openai

        streams = (openai.Stream, openai.AsyncStream)
        stream_usage = config.get("stream_usage")
        if stream_usage is None:
            stream_usage = _truthy(os.environ.get(STREAM_USAGE_ENV))

        def chunks(result: Any, injected: bool) -> Accumulator | None:
            return ChunkAccumulator(injected) if isinstance(result, streams) else None

        def events(result: Any, _injected: bool) -> Accumulator | None:
            return ResponseEventAccumulator() if isinstance(result, streams) else None

        chat = Operation(
            n.OP_CHAT,
            _endpoint,
            request_reader(CHAT_REQUEST),
            read_completion,
            chunks,
            prepare=_inject_usage if stream_usage else None,
            raw=deferred,
            content=CHAT_CONTENT,
        )
        completion = Operation(
            n.OP_TEXT_COMPLETION,
            _endpoint,
            request_reader(CHAT_REQUEST),
            read_completion,
            chunks,
            raw=deferred,
            content=CHAT_CONTENT,
        )
        embeddings = Operation(
            n.OP_EMBEDDINGS, _endpoint, request_reader(EMBEDDINGS_REQUEST), read_completion, chunks, raw=deferred
        )
        responses = Operation(
            n.OP_CHAT,
            _endpoint,
            request_reader(RESPONSES_REQUEST),
            read_response,
            events,
            raw=deferred,
            content=RESPONSES_CONTENT,
        )
        # The same operations for a request sent through the client's ``post()`` directly (litellm
        # does): read from the JSON body, which is the caller's, so never edited.
        below = {
            path: replace(operation, endpoint=_client_endpoint, prepare=None)
            for path, operation in (
                ("/chat/completions", chat),
                ("/completions", completion),
                ("/embeddings", embeddings),
                ("/responses", responses),
            )
        }

        def route(
            _client: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]
        ) -> tuple[Operation, dict[str, Any]] | None:
            operation = below.get(args[0] if args else kwargs.get("path", ""))
            if operation is None:
                return None
            body = kwargs.get("body")
            return operation, body if isinstance(body, dict) else {}

        yield Patch("openai._base_client", "SyncAPIClient.post", None, route=route)
        yield Patch("openai._base_client", "AsyncAPIClient.post", None, is_async=True, route=route)

        # (module, class, methods and their operation); each class also has an Async twin.
        table: tuple[tuple[str, str, tuple[tuple[str, Operation | None], ...]], ...] = (
            ("openai.resources.chat", "Completions", (("create", chat), ("parse", chat), ("stream", None))),
            # openai 1.x kept parse/stream under beta; 3.x's beta.chat is the same class (patched once).
            ("openai.resources.beta.chat", "Completions", (("parse", chat), ("stream", None))),
            ("openai.resources.completions", "Completions", (("create", completion),)),
            ("openai.resources.embeddings", "Embeddings", (("create", embeddings),)),
            (
                "openai.resources.responses",
                "Responses",
                (("create", responses), ("parse", responses), ("stream", None)),
            ),
            ("openai.resources.beta.responses", "Responses", (("create", responses),)),
        )
        for module, cls, methods in table:
            for method, operation in methods:
                yield Patch(module, f"{cls}.{method}", operation)
                yield Patch(module, f"Async{cls}.{method}", operation, is_async=True)
