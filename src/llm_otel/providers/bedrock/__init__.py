"""AWS Bedrock instrumentor: ``bedrock-runtime`` clients of botocore 1.34.116+ (and boto3 on it).

botocore generates its clients at runtime: ``client.converse(...)`` is a method of a class made per
client, which sends every operation of every service through one method, ``BaseClient._make_api_call
(operation_name, api_params)``. That method is the one patched, routed by the client's service and
the operation's name (``Converse``, ``ConverseStream``, ``InvokeModel``,
``InvokeModelWithResponseStream``); every other call passes through after one lookup. For
``invoke_model`` the model id's family picks the body readers (see ``_invoke``). botocore is
synchronous; aiobotocore's client is not traced.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from typing import Any

import wrapt

from llm_otel.providers._base import Patch, ProviderInstrumentor
from llm_otel.providers._endpoint import EndpointCache
from llm_otel.telemetry import Endpoint, Operation
from llm_otel.telemetry import _names as n

from ._content import CONTENT
from ._contrib import CONTRIB_MODULE, CONTRIB_TARGET, contrib_wrapper
from ._invoke import (
    ANTHROPIC,
    COHERE,
    EMBEDDINGS,
    LLAMA,
    MISTRAL,
    NOVA,
    OTHER,
    Family,
    InvokeChunks,
    family,
    invoke_response,
    read_invoke_request,
)
from ._read import ConverseEvents, model_id, read_converse, read_converse_response, stream_of, streamed

__all__ = ["BedrockInstrumentor"]

PROVIDER = "aws.bedrock"
SERVICE = "bedrock-runtime"
_endpoints = EndpointCache(PROVIDER)


def _endpoint(client: Any) -> Endpoint:
    # The regional endpoint (bedrock-runtime.<region>.amazonaws.com) or the client's endpoint_url.
    return _endpoints.lookup(client.meta.endpoint_url, PROVIDER)


def _no_stream(_result: Any, _injected: bool) -> None:
    return None


def _converse(stream: bool) -> Operation:
    if not stream:
        return Operation(
            n.OP_CHAT, _endpoint, read_converse, read_converse_response, _no_stream, model_id, content=CONTENT
        )
    events = stream_of("stream", ConverseEvents)
    read = streamed(read_converse)
    return Operation(
        n.OP_CHAT, _endpoint, read, read_converse_response, events, model_id, content=CONTENT, stream_key="stream"
    )


def _invoke(kind: Family, stream: bool) -> Operation:
    read = read_invoke_request(kind.request)
    if not stream:
        return Operation(kind.operation, _endpoint, read, invoke_response(kind), _no_stream, model=model_id)
    events = stream_of("body", lambda request: InvokeChunks(kind, request))
    return Operation(
        kind.operation, _endpoint, streamed(read), invoke_response(kind), events, model_id, stream_key="body"
    )


_FAMILIES = (ANTHROPIC, NOVA, LLAMA, MISTRAL, COHERE, EMBEDDINGS, OTHER)
_CONVERSE = {"Converse": _converse(stream=False), "ConverseStream": _converse(stream=True)}
#: operation name -> family -> operation, for the operations whose body is the model's own.
_INVOKE: Mapping[str, Mapping[Family, Operation]] = {
    "InvokeModel": {kind: _invoke(kind, stream=False) for kind in _FAMILIES},
    "InvokeModelWithResponseStream": {kind: _invoke(kind, stream=True) for kind in _FAMILIES},
}
OPERATIONS = frozenset((*_CONVERSE, *_INVOKE))


def _route(client: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Operation, dict[str, Any]] | None:
    # _make_api_call(self, operation_name, api_params)
    name = args[0] if args else kwargs.get("operation_name")
    if name not in OPERATIONS or client.meta.service_model.service_name != SERVICE:
        return None
    params = args[1] if len(args) > 1 else kwargs.get("api_params")
    params = params if isinstance(params, dict) else {}
    operation = _CONVERSE.get(name)
    if operation is None:
        operation = _INVOKE[name][family(model_id(params))]
    return operation, params


class BedrockInstrumentor(ProviderInstrumentor):
    """Traces and measures every Bedrock Runtime Converse and InvokeModel call, streams included.

    Example::

        BedrockInstrumentor().instrument()
        boto3.client("bedrock-runtime").converse(modelId="amazon.nova-lite-v1:0", messages=[...])
    """

    requirement = "botocore >= 1.34.116"
    # The contrib instrumentation's Bedrock extension is imported on its first Bedrock call.
    root_modules = ("botocore", CONTRIB_MODULE)
    # The contrib's botocore instrumentation traces no call we trace (see _contrib); aiobotocore's
    # traces calls we do not.
    coexisting = ("botocore", "aiobotocore")

    def _patch_all(self) -> None:
        contrib = sys.modules.get(CONTRIB_MODULE)
        owner_name, _, method = CONTRIB_TARGET.rpartition(".")
        owner = getattr(contrib, owner_name, None)
        if self._telemetry is not None and hasattr(owner, method) and (owner, method) not in self._patched:
            wrapt.wrap_function_wrapper(owner, method, contrib_wrapper(OPERATIONS))
            self._patched = (*self._patched, (owner, method))
        super()._patch_all()

    def patches(self, config: dict[str, Any]) -> Iterable[Patch]:
        yield Patch("botocore.client", "BaseClient._make_api_call", None, route=_route)
