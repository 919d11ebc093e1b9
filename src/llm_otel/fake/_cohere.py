"""Cohere's v2 wire format: chat (JSON and SSE), embed and rerank, on the server's root.

``cohere.ClientV2(base_url=provider.url)``. Bodies follow the live API field for field (as the
cohere SDK's models describe them): a chat reply is one assistant message whose ``content`` is a
list of text items (or, for a tool call, a ``tool_plan`` and ``tool_calls``), with an upper-case
``finish_reason`` and a ``usage`` of ``billed_units`` and counted ``tokens`` (the behaviour's
``cached_tokens`` in ``cached_tokens``). Streams are SSE events named by their ``type`` (an
``event:`` line before each ``data:`` line): ``message-start`` with the id, ``content-start``,
one ``content-delta`` per piece, ``content-end`` (or ``tool-plan-delta`` and ``tool-call-*`` for a
tool call), then ``message-end`` with the finish reason and the usage; no ``[DONE]``. The
behaviour's ``reasoning_tokens`` are a ``thinking`` item (streamed as content index 0) before the
text, counted in the output tokens. An error
inside a stream is a ``message-end`` whose finish reason is ``ERROR``. Error statuses answer
``{"id", "message"}``. Embeddings are reported by type with only ``billed_units`` in ``meta``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from ._behavior import Behavior
from ._model import (
    Draft,
    ToolCall,
    Usage,
    count_words,
    draft,
    embedding_vector,
    random_id,
    reply_words,
    texts_of,
    usage,
)
from ._openai_common import first_function_tool, limit_of, request_body
from ._wire import Handler, JSONReply, SSEEvent, SSEReply, WireError, WireRequest

_EMBEDDING_DIMENSIONS = 8
_EMBEDDING_TYPES = ("float", "int8", "uint8")
_API_VERSION = {"version": "2"}
# Default message per HTTP status, as the live API words them.
_STATUS_MESSAGES: dict[int, str] = {
    400: "invalid request",
    401: "invalid api token",
    404: "model not found, make sure the correct model ID was used and that you have access to the model.",
    422: "unprocessable entity",
    429: "You are using a Trial key, which is limited to 10 API calls / minute. Please try again later.",
    500: "internal server error, this has been reported to our developers.",
    503: "service unavailable",
}  # fmt: skip


class CohereWireFormat:
    """The Cohere v2 API under ``/v2``, on the same port as the others."""

    name = "cohere"

    @property
    def routes(self) -> Mapping[tuple[str, str], Handler]:
        """The served endpoints."""
        return {("POST", "/v2/chat"): chat, ("POST", "/v2/embed"): embed, ("POST", "/v2/rerank"): rerank}

    def error_reply(self, req: WireRequest, error: WireError) -> JSONReply:
        """Cohere's error object: the request's id and a message."""
        message = error.message or _STATUS_MESSAGES.get(error.status, "request failed")
        return JSONReply({"id": str(uuid.uuid4()), "message": message}, status=error.status)

    def response_headers(self, req: WireRequest, status: int) -> dict[str, str]:
        """The trace id and the trial key's call limits Cohere reports."""
        return {
            "x-debug-trace-id": random_id(32).lower(),
            "x-trial-endpoint-call-limit": "10",
            "x-trial-endpoint-call-remaining": "0" if status == 429 else "9",
        }


COHERE = CohereWireFormat()


def _usage(u: Usage) -> dict[str, Any]:
    tokens = {"input_tokens": u.input_tokens, "output_tokens": u.output_tokens}
    body: dict[str, Any] = {"billed_units": dict(tokens), "tokens": tokens}
    if u.cached_tokens:
        body["cached_tokens"] = u.cached_tokens
    return body


def _finish(d: Draft) -> str:
    return "TOOL_CALL" if d.tool else "MAX_TOKENS" if d.cut else "COMPLETE"


def _tool_plan(call: ToolCall) -> str:
    return f"I will use the {call.name} tool."


def _tool_call(call: ToolCall, arguments: str) -> dict[str, Any]:
    return {"id": call.call_id, "type": "function", "function": {"name": call.name, "arguments": arguments}}


def _thinking(behavior: Behavior) -> list[str]:
    """The reasoning words, one token each (a different sentence from the reply's)."""
    return reply_words(behavior.reasoning_tokens, variant=1)


def _message(d: Draft, thinking: list[str]) -> dict[str, Any]:
    if d.tool:
        return {"role": "assistant", "tool_plan": _tool_plan(d.tool), "tool_calls": [_tool_call(d.tool, d.text)]}
    content = [{"type": "thinking", "thinking": "".join(thinking)}] if thinking else []
    return {"role": "assistant", "content": [*content, {"type": "text", "text": d.text}]}


def _event(kind: str, body: dict[str, Any], paced: bool = True) -> SSEEvent:
    return SSEEvent({"type": kind, **body}, event=kind, paced=paced)


def _content_item(index: int, kind: str, pieces: list[str] | tuple[str, ...]) -> Iterator[SSEEvent]:
    start = {"index": index, "delta": {"message": {"content": {"type": kind, kind: ""}}}}
    yield _event("content-start", start, paced=False)
    for piece in pieces:
        yield _event("content-delta", {"index": index, "delta": {"message": {"content": {kind: piece}}}})
    yield _event("content-end", {"index": index}, paced=False)


def _events(reply_id: str, d: Draft, u: Usage, thinking: list[str]) -> Iterator[SSEEvent]:
    start = {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}
    yield _event("message-start", {"id": reply_id, "delta": {"message": start}}, paced=False)
    if d.tool:
        yield _event("tool-plan-delta", {"delta": {"message": {"tool_plan": _tool_plan(d.tool)}}})
        yield _event("tool-call-start", {"index": 0, "delta": {"message": {"tool_calls": _tool_call(d.tool, "")}}})
        for piece in d.pieces:
            arguments = {"function": {"arguments": piece}}
            yield _event("tool-call-delta", {"index": 0, "delta": {"message": {"tool_calls": arguments}}})
        yield _event("tool-call-end", {"index": 0}, paced=False)
    else:
        if thinking:
            yield from _content_item(0, "thinking", thinking)
        yield from _content_item(1 if thinking else 0, "text", d.pieces)
    yield _event("message-end", {"delta": {"finish_reason": _finish(d), "usage": _usage(u)}}, paced=False)


def _stream_error(_sent: int) -> list[SSEEvent]:
    delta = {"error": _STATUS_MESSAGES[500], "finish_reason": "ERROR"}
    return [_event("message-end", {"delta": delta}, paced=False)]


def _message_texts(message: Any) -> list[str]:
    return texts_of(message.get("content")) if isinstance(message, dict) else []


def chat(req: WireRequest) -> JSONReply | SSEReply:
    """``POST /v2/chat``: JSON, or SSE events when ``stream`` is true."""
    body = request_body(req)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise WireError(400, "invalid request: messages must not be empty")
    prompt = count_words(text for message in messages for text in _message_texts(message))
    name, arguments = first_function_tool(body.get("tools"), nested=True) if req.behavior.tool_call else (None, "{}")
    d = draft(req.behavior, limit=limit_of(body, "max_tokens"), tool_name=name, arguments=arguments)
    u = usage(req.behavior, prompt, [d])
    reply_id = str(uuid.uuid4())
    thinking = [] if d.tool else _thinking(req.behavior)
    if body.get("stream") is True:
        return SSEReply(_events(reply_id, d, u, thinking), error_events=_stream_error)
    reply = {"id": reply_id, "message": _message(d, thinking), "finish_reason": _finish(d), "usage": _usage(u)}
    return JSONReply(reply)


def _vectors(kind: str, floats: list[list[float]]) -> list[list[float]] | list[list[int]]:
    if kind == "float":
        return floats
    offset = 128 if kind == "uint8" else 0
    return [[round(value * 127) + offset for value in vector] for vector in floats]


def embed(req: WireRequest) -> JSONReply:
    """``POST /v2/embed``: one deterministic unit vector per text, for each requested type."""
    body = request_body(req)
    texts = body.get("texts")
    if not isinstance(texts, list) or not texts or not all(isinstance(text, str) for text in texts):
        raise WireError(400, "invalid request: texts must be a non-empty list of strings")
    if not isinstance(body.get("input_type"), str):
        raise WireError(400, "invalid request: input_type is required for embed models v3 and higher")
    kinds = body.get("embedding_types") or ["float"]
    if not isinstance(kinds, list) or not all(kind in _EMBEDDING_TYPES for kind in kinds):
        raise WireError(400, f"invalid request: embedding_types must be among {', '.join(_EMBEDDING_TYPES)}")
    dimensions = body.get("output_dimension") or _EMBEDDING_DIMENSIONS
    if not isinstance(dimensions, int) or dimensions < 1:
        raise WireError(400, "invalid request: output_dimension must be a positive integer")
    floats = [embedding_vector(text, dimensions) for text in texts]
    meta = {"api_version": _API_VERSION, "billed_units": {"input_tokens": count_words(texts)}}
    return JSONReply(
        {
            "id": str(uuid.uuid4()),
            "embeddings": {kind: _vectors(kind, floats) for kind in kinds},
            "texts": texts,
            "meta": meta,
            "response_type": "embeddings_by_type",
        }
    )


def rerank(req: WireRequest) -> JSONReply:
    """``POST /v2/rerank``: documents by the share of the query's words they contain (ties by index)."""
    body = request_body(req)
    query, documents = body.get("query"), body.get("documents")
    if not isinstance(query, str) or not isinstance(documents, list) or not documents:
        raise WireError(400, "invalid request: query and a non-empty list of documents are required")
    words = set(query.lower().split())
    scores = [
        len(words & set(document.lower().split())) / (len(words) or 1) if isinstance(document, str) else 0.0
        for document in documents
    ]
    order = sorted(range(len(documents)), key=lambda i: (-scores[i], i))
    top_n = body.get("top_n")
    if isinstance(top_n, int) and top_n > 0:
        order = order[:top_n]
    return JSONReply(
        {
            "id": str(uuid.uuid4()),
            "results": [{"index": i, "relevance_score": scores[i]} for i in order],
            "meta": {"api_version": _API_VERSION, "billed_units": {"search_units": 1}},
        }
    )
