"""Amazon Bedrock Runtime's wire format: Converse and InvokeModel, streams in AWS's binary event stream.

botocore speaks REST-JSON to ``POST /model/{modelId}/converse``, ``/converse-stream``, ``/invoke``
and ``/invoke-with-response-stream`` (``boto3.client("bedrock-runtime", endpoint_url=provider.url,
region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")``; SigV4 signatures are
not checked). Converse answers ``output``/``stopReason``/``usage``/``metrics``; its stream is
``messageStart``, ``contentBlockStart`` (tool calls), ``contentBlockDelta``s, ``contentBlockStop``,
``messageStop`` and ``metadata`` events. InvokeModel's body is the model family's own JSON, chosen by
the model id (Anthropic's Messages API as ``_anthropic`` serves it, Amazon Nova, Meta Llama, Mistral,
Cohere chat and embed); the usage also rides in ``x-amzn-bedrock-*-token-count`` headers. Its stream
is ``chunk`` events of ``{"bytes": <base64 of the family's chunk JSON>}``, the last carrying
``amazon-bedrock-invocationMetrics``. Errors carry their code in ``x-amzn-ErrorType`` and
``{"message"}`` as body; an error inside a stream is an exception message
(``modelStreamErrorException``).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ._anthropic import messages as anthropic_messages
from ._model import Draft, Usage, count_words, draft, embedding_vector, texts_of, tool_arguments, usage
from ._wire import Handler, JSONReply, SSEEvent, SSEReply, WireError, WireRequest

_ROUTE = "/model/{model}/"
_EMBEDDING_DIMENSIONS = 8
_LATENCY_MS = 12
# The code Bedrock answers each status with (``Behavior.error_code`` names another).
_STATUS_CODES = {
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}
_STREAM_ERROR = "modelStreamErrorException"
_GEOGRAPHIES = ("us.", "eu.", "apac.", "global.")


class BedrockWireFormat:
    """The Bedrock Runtime API at the server's root, on the same port as the others."""

    name = "bedrock"

    @property
    def routes(self) -> Mapping[tuple[str, str], Handler]:
        """The served endpoints."""
        return {
            ("POST", _ROUTE + "converse"): converse,
            ("POST", _ROUTE + "converse-stream"): converse,
            ("POST", _ROUTE + "invoke"): invoke,
            ("POST", _ROUTE + "invoke-with-response-stream"): invoke,
        }

    def error_reply(self, req: WireRequest, error: WireError) -> JSONReply:
        """``{"message"}`` with the error's code in ``x-amzn-ErrorType``, as the REST-JSON protocol has it."""
        code = error.code or _STATUS_CODES.get(error.status, "InternalServerException")
        return JSONReply(
            {"message": error.message or code}, status=error.status, headers={"x-amzn-ErrorType": f"{code}:http://"}
        )

    def response_headers(self, req: WireRequest, status: int) -> dict[str, str]:
        """The request id every answer carries."""
        return {"x-amzn-RequestId": request_id()}


BEDROCK = BedrockWireFormat()


def request_id() -> str:
    """A request id, a UUID as AWS's are."""
    return str(uuid.uuid4())


def _body(req: WireRequest) -> dict[str, Any]:
    if not isinstance(req.body, dict):
        raise WireError(400, "Malformed input request, please reformat your input and try again.")
    return req.body


def _streaming(req: WireRequest) -> bool:
    return req.path.endswith("-stream")


def _stream(events: Iterator[SSEEvent]) -> SSEReply:
    error = SSEEvent({"message": "The model stream failed", "originalStatusCode": 500}, _STREAM_ERROR, paced=False)
    return SSEReply(events, error_events=lambda _sent: [error], framing="eventstream")


# --- Converse ------------------------------------------------------------------------------------


def _texts(blocks: Any) -> list[str]:
    return texts_of(blocks) if isinstance(blocks, list) else []


def _prompt_words(messages: Any, system: Any = None) -> int:
    if not isinstance(messages, list) or not messages:
        raise WireError(400, "A conversation must start with a user message.")
    words = count_words(_texts(system))
    return words + sum(count_words(_texts(m.get("content"))) for m in messages if isinstance(m, dict))


def _tool(tools: Any) -> tuple[str, str]:
    for tool in tools if isinstance(tools, list) else ():
        spec = tool.get("toolSpec") if isinstance(tool, dict) else None
        if isinstance(spec, dict) and isinstance(spec.get("name"), str):
            schema = spec.get("inputSchema")
            return spec["name"], tool_arguments(schema.get("json") if isinstance(schema, dict) else None)
    raise WireError(400, "Behavior.tool_call needs a tool in the request's toolConfig.")


def _stop_reason(d: Draft) -> str:
    return "tool_use" if d.tool else "max_tokens" if d.cut else "end_turn"


def _content(d: Draft) -> dict[str, Any]:
    if d.tool:
        return {
            "toolUse": {"toolUseId": "tooluse_" + d.tool.call_id[5:], "name": d.tool.name, "input": json.loads(d.text)}
        }
    return {"text": d.text}


def _converse_usage(u: Usage) -> dict[str, Any]:
    # The input tokens Bedrock counts are those not read from the cache.
    usage_body = {"inputTokens": u.input_tokens - u.cached_tokens, "outputTokens": u.output_tokens}
    usage_body["totalTokens"] = u.total_tokens
    if u.cached_tokens:
        usage_body.update(cacheReadInputTokens=u.cached_tokens, cacheWriteInputTokens=0)
    return usage_body


def _draft(req: WireRequest, limit: Any, tools: Any = None) -> Draft:
    tool = _tool(tools) if req.behavior.tool_call else (None, "{}")
    return draft(req.behavior, limit=limit if isinstance(limit, int) else None, tool_name=tool[0], arguments=tool[1])


def converse(req: WireRequest) -> JSONReply | SSEReply:
    """``POST /model/{modelId}/converse`` and ``/converse-stream``."""
    body = _body(req)
    config = body.get("inferenceConfig") or {}
    tools = (body.get("toolConfig") or {}).get("tools")
    d = _draft(req, config.get("maxTokens"), tools)
    u = usage(req.behavior, _prompt_words(body.get("messages"), body.get("system")), [d])
    if _streaming(req):
        return _stream(SSEEvent(data, name, paced=name == "contentBlockDelta") for name, data in _converse_events(d, u))
    return JSONReply(
        {
            "output": {"message": {"role": "assistant", "content": [_content(d)]}},
            "stopReason": _stop_reason(d),
            "usage": _converse_usage(u),
            "metrics": {"latencyMs": _LATENCY_MS},
        }
    )


def _converse_events(d: Draft, u: Usage) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event type, payload) of a Converse stream, as Nova's invoke stream also sends them."""
    yield "messageStart", {"role": "assistant"}
    if d.tool:
        use = _content(d)["toolUse"]
        yield (
            "contentBlockStart",
            {"start": {"toolUse": {"toolUseId": use["toolUseId"], "name": d.tool.name}}, "contentBlockIndex": 0},
        )
    for piece in d.pieces:
        delta = {"toolUse": {"input": piece}} if d.tool else {"text": piece}
        yield "contentBlockDelta", {"delta": delta, "contentBlockIndex": 0}
    yield "contentBlockStop", {"contentBlockIndex": 0}
    yield "messageStop", {"stopReason": _stop_reason(d)}
    yield "metadata", {"usage": _converse_usage(u), "metrics": {"latencyMs": _LATENCY_MS}}


# --- InvokeModel ---------------------------------------------------------------------------------

#: A family's reply: (the whole body, the stream's chunk bodies, usage).
Reply = tuple[dict[str, Any], list[dict[str, Any]], Usage]


def _anthropic(req: WireRequest, body: dict[str, Any], model: str) -> Reply:
    # The Messages API, with the model in the path and ``anthropic_version`` in the body.
    streaming = {"stream": True} if _streaming(req) else {}
    forwarded = WireRequest(req.method, req.path, req.headers, {**body, "model": model, **streaming}, req.behavior)
    reply = anthropic_messages(forwarded)
    if isinstance(reply, SSEReply):
        chunks = [event.data for event in reply.events if event.data.get("type") != "ping"]
        whole = {**chunks[0]["message"], "usage": chunks[-2]["usage"]}  # message_start + message_delta's usage
    else:
        whole = reply.body
        chunks = []
    counts = whole["usage"]
    cached = counts["cache_read_input_tokens"]
    u = Usage(
        counts["input_tokens"] + cached + counts["cache_creation_input_tokens"], counts["output_tokens"], cached, 0
    )
    return whole, chunks, u


def _nova(req: WireRequest, body: dict[str, Any], _model: str) -> Reply:
    config = body.get("inferenceConfig") or {}
    d = _draft(req, config.get("max_new_tokens"), (body.get("toolConfig") or {}).get("tools"))
    u = usage(req.behavior, _prompt_words(body.get("messages"), body.get("system")), [d])
    counts = _converse_usage(u)
    nova_usage = {"inputTokens": counts["inputTokens"], "outputTokens": u.output_tokens, "totalTokens": u.total_tokens}
    if u.cached_tokens:
        nova_usage.update(cacheReadInputTokenCount=u.cached_tokens, cacheWriteInputTokenCount=0)
    whole = {
        "output": {"message": {"role": "assistant", "content": [_content(d)]}},
        "stopReason": _stop_reason(d),
        "usage": nova_usage,
    }
    chunks = [{name: data} for name, data in _converse_events(d, u)]
    chunks[-1] = {"metadata": {"usage": nova_usage}}
    return whole, chunks, u


def _prompt(body: dict[str, Any], key: str = "prompt") -> int:
    prompt = body.get(key)
    if not isinstance(prompt, str):
        raise WireError(400, f"Malformed input request: required key [{key}] not found")
    return count_words([prompt])


def _llama(req: WireRequest, body: dict[str, Any], _model: str) -> Reply:
    d = _draft(req, body.get("max_gen_len"))
    u = usage(req.behavior, _prompt(body), [d])
    reason = "length" if d.cut else "stop"
    whole = {"generation": d.text, "prompt_token_count": u.input_tokens, "generation_token_count": u.output_tokens}
    chunks = [
        {
            "generation": piece,
            "prompt_token_count": u.input_tokens if i == 0 else None,
            "generation_token_count": i + 1,
            "stop_reason": reason if i == d.tokens - 1 else None,
        }
        for i, piece in enumerate(d.pieces)
    ]
    return {**whole, "stop_reason": reason}, chunks, u


def _mistral(req: WireRequest, body: dict[str, Any], _model: str) -> Reply:
    d = _draft(req, body.get("max_tokens"))
    u = usage(req.behavior, _prompt(body), [d])
    reason = "length" if d.cut else "stop"
    chunks = [
        {"outputs": [{"text": piece, "stop_reason": reason if i == d.tokens - 1 else None}]}
        for i, piece in enumerate(d.pieces)
    ]
    return {"outputs": [{"text": d.text, "stop_reason": reason}]}, chunks, u


def _cohere(req: WireRequest, body: dict[str, Any], _model: str) -> Reply:
    if "texts" in body:
        texts = body["texts"]
        if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
            raise WireError(400, "Malformed input request: texts must be a list of strings")
        vectors = [embedding_vector(text, _EMBEDDING_DIMENSIONS) for text in texts]
        whole = {"id": request_id(), "embeddings": vectors, "response_type": "embeddings_floats", "texts": texts}
        return whole, [], Usage(count_words(texts), 0, 0, 0)
    d = _draft(req, body.get("max_tokens"))
    u = usage(req.behavior, _prompt(body, "message"), [d])
    reason = "MAX_TOKENS" if d.cut else "COMPLETE"
    whole = {"response_id": request_id(), "text": d.text, "generation_id": request_id(), "finish_reason": reason}
    chunks: list[dict[str, Any]] = [
        {"is_finished": False, "event_type": "text-generation", "text": piece} for piece in d.pieces
    ]
    chunks.append({"is_finished": True, "event_type": "stream-end", "finish_reason": reason, "response": whole})
    return {**whole, "chat_history": []}, chunks, u


_FAMILIES: dict[str, Callable[[WireRequest, dict[str, Any], str], Reply]] = {
    "anthropic": _anthropic,
    "amazon": _nova,
    "meta": _llama,
    "mistral": _mistral,
    "cohere": _cohere,
}


def invoke(req: WireRequest) -> JSONReply | SSEReply:
    """``POST /model/{modelId}/invoke`` and ``/invoke-with-response-stream``: the family's own body."""
    model = req.params["model"].rpartition("/")[2]
    for geography in _GEOGRAPHIES:
        model = model.removeprefix(geography)
    answer = _FAMILIES.get(model.partition(".")[0])
    if answer is None or (model.startswith("amazon.") and not model.startswith("amazon.nova")):
        raise WireError(400, f"The provided model identifier is invalid: {req.params['model']}")
    whole, chunks, u = answer(req, _body(req), model)
    if _streaming(req):
        metrics = {
            "inputTokenCount": u.input_tokens - u.cached_tokens,
            "outputTokenCount": u.output_tokens,
            "invocationLatency": _LATENCY_MS,
            "firstByteLatency": _LATENCY_MS,
        }
        if u.cached_tokens:
            metrics.update(cacheReadInputTokenCount=u.cached_tokens, cacheWriteInputTokenCount=0)
        chunks[-1] = {**chunks[-1], "amazon-bedrock-invocationMetrics": metrics}
        return _stream(
            SSEEvent({"bytes": base64.b64encode(json.dumps(chunk).encode()).decode()}, "chunk") for chunk in chunks
        )
    headers = {
        "x-amzn-bedrock-input-token-count": str(u.input_tokens - u.cached_tokens),
        "x-amzn-bedrock-output-token-count": str(u.output_tokens),
        "x-amzn-bedrock-invocation-latency": str(_LATENCY_MS),
    }
    if u.cached_tokens:
        headers["x-amzn-bedrock-cache-read-input-token-count"] = str(u.cached_tokens)
    return JSONReply(whole, headers=headers)
