"""Anthropic instrumentor: anthropic 0.40+ (httpx) through 2.x (httpx2), sync and async.

Also covers Claude through the SDK's clients for other clouds (``AnthropicBedrock``,
``AnthropicVertex``, and in 2.x ``AnthropicFoundry``, ``AnthropicAWS`` ...): the provider name is
the one the client declares, else the one its base URL implies.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import wrapt

from llm_otel.providers._base import Patch, ProviderInstrumentor, option
from llm_otel.providers._endpoint import EndpointCache
from llm_otel.providers._read import deferred
from llm_otel.telemetry import Accumulator, Endpoint, Operation, PassThroughTracerProvider
from llm_otel.telemetry import _names as n

from ._content import CONTENT
from ._native import NATIVE_FUNCTION, NATIVE_MODULE, native_span_wrapper
from ._read import MessageEventAccumulator, read_message, read_request

__all__ = ["AnthropicInstrumentor"]

NATIVE_SPANS_ENV = "LLM_OTEL_ANTHROPIC_NATIVE_SPANS"

_endpoints = EndpointCache("anthropic")
# Clients of anthropic releases that do not declare their provider (before native tracing).
_CLOUD_BASES = {"BaseBedrockClient": "aws.bedrock", "BaseVertexClient": "gcp.vertex_ai"}
_declared: dict[type, str | None] = {}


def _declared_provider(kind: type) -> str | None:
    declared = getattr(kind, "_gen_ai_provider_name", None)
    if isinstance(declared, str) and declared:
        return declared
    return next((_CLOUD_BASES[cls.__name__] for cls in kind.__mro__ if cls.__name__ in _CLOUD_BASES), None)


def _endpoint(resource: Any) -> Endpoint:
    client = resource._client
    kind = type(client)
    try:
        provider = _declared[kind]
    except KeyError:
        provider = _declared[kind] = _declared_provider(kind)
    url = getattr(client, "_base_url", None) or client.base_url
    return _endpoints.lookup(url, provider)


class AnthropicInstrumentor(ProviderInstrumentor):
    """Traces and measures every Anthropic Messages call.

    Example::

        AnthropicInstrumentor().instrument()

    anthropic 2.x traces its own calls. By default our span replaces the SDK's span for the calls
    we trace (one span per call, the SDK still propagates the trace context). ``native_spans=True``
    (or ``LLM_OTEL_ANTHROPIC_NATIVE_SPANS=true``) keeps the SDK's span instead and adds only our
    metrics; with an SDK that has no tracing of its own, our span is kept either way.
    """

    requirement = "anthropic >= 0.40"
    root_modules = ("anthropic",)

    def _patch_all(self) -> None:
        # Decided once the SDK is imported: only then is it known whether it traces by itself.
        import anthropic._base_client as base

        if self._telemetry is not None and hasattr(base, NATIVE_FUNCTION) and not self._patched:
            if option(self._config, "native_spans", NATIVE_SPANS_ENV):
                self._telemetry = self._make_telemetry(PassThroughTracerProvider())
            else:
                wrapt.wrap_function_wrapper(NATIVE_MODULE, NATIVE_FUNCTION, native_span_wrapper)
                self._patched = ((base, NATIVE_FUNCTION),)
        super()._patch_all()

    def patches(self, config: dict[str, Any]) -> Iterable[Patch]:
        import anthropic

        streams = (anthropic.Stream, anthropic.AsyncStream)

        def events(result: Any, _injected: bool) -> Accumulator | None:
            return MessageEventAccumulator() if isinstance(result, streams) else None

        chat = Operation(n.OP_CHAT, _endpoint, read_request, read_message, events, raw=deferred, content=CONTENT)
        # stream() calls no other wrapped method: its manager sends the request when entered.
        entered = Operation(
            n.OP_CHAT, _endpoint, read_request, read_message, events, entered="_raw_stream", content=CONTENT
        )
        # (module, class, methods); each class also has an Async twin. Modules an SDK release lacks
        # are skipped: 0.x kept messages in one module and prompt caching under beta.
        table: tuple[tuple[str, tuple[tuple[str, Operation], ...]], ...] = (
            ("anthropic.resources.messages", (("create", chat), ("parse", chat), ("stream", entered))),
            ("anthropic.resources.beta.messages", (("create", chat), ("parse", chat), ("stream", entered))),
            ("anthropic.resources.beta.prompt_caching.messages", (("create", chat), ("stream", entered))),
        )
        for module, methods in table:
            for method, operation in methods:
                yield Patch(module, f"Messages.{method}", operation)
                # AsyncMessages.stream is a plain method returning an async manager.
                yield Patch(module, f"AsyncMessages.{method}", operation, is_async=method != "stream")
