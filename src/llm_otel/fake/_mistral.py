"""Mistral's wire format: chat completions, FIM completions and embeddings, served under ``/mistral``.

Mistral's paths are OpenAI's (``/v1/chat/completions``, ``/v1/embeddings``), so they are served
under a prefix of their own: ``Mistral(server_url=provider.mistral_server_url)``. Bodies follow the
live API field for field (as the mistralai SDK's models describe them): chat and FIM answer the
same completion object; streams are SSE ``data:`` chunks ending with ``data: [DONE]``, the last
chunk carrying the finish reason and the usage (Mistral sends no ``stream_options``). Token counts
follow `_model`; the behaviour's ``cached_tokens`` are reported in ``prompt_tokens_details`` as
Mistral reports prompt caching. Errors are ``{"object": "error", "message", "type", "param",
"code"}``, and a 422 the ``{"detail": [...]}`` of a validation error; a stream that already started
sends an error object as a ``data:`` line.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ._model import Draft, Usage, count_words, draft, embedding_vector, random_id, texts_of, usage
from ._openai_common import choice_count, first_function_tool, limit_of, now, request_body, structured_output
from ._wire import Handler, JSONReply, SSEEvent, SSEReply, WireError, WireRequest

PREFIX = "/mistral"
_EMBEDDING_DIMENSIONS = 8
# type and default message per HTTP status, as the live API words them.
_STATUS_ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request"),
    401: ("authentication_error", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("invalid_model", "Invalid model"),
    429: ("rate_limited", "Requests rate limit exceeded"),
    500: ("internal_server_error", "Internal server error"),
    503: ("service_unavailable", "Service unavailable, please retry later"),
}  # fmt: skip


class MistralWireFormat:
    """The Mistral API under ``/mistral/v1``, on the same port as the others."""

    name = "mistral"

    @property
    def routes(self) -> Mapping[tuple[str, str], Handler]:
        """The served endpoints."""
        return {
            ("POST", PREFIX + "/v1/chat/completions"): chat,
            ("POST", PREFIX + "/v1/fim/completions"): fim,
            ("POST", PREFIX + "/v1/embeddings"): embeddings,
        }

    def error_reply(self, req: WireRequest, error: WireError) -> JSONReply:
        """Mistral's error object, or a validation error's ``detail`` for a 422."""
        if error.status == 422:
            detail = {"type": "value_error", "loc": ["body", error.param or "body"], "msg": error.message or "invalid"}
            return JSONReply({"detail": [detail]}, status=422)
        return JSONReply(error_object(error.status, error.message, error.code, error.param), status=error.status)

    def response_headers(self, req: WireRequest, status: int) -> dict[str, str]:
        """Request ids and the per-minute token limits Mistral reports."""
        limited = status == 429
        request_id = random_id(32)
        return {
            "mistral-correlation-id": request_id,
            "x-kong-request-id": request_id,
            "x-ratelimit-limit-tokens-minute": "500000",
            "x-ratelimit-remaining-tokens-minute": "0" if limited else "499000",
        }


MISTRAL = MistralWireFormat()


def error_object(status: int, message: str = "", code: str | None = None, param: str | None = None) -> dict[str, Any]:
    """The body of an error status, or of an error sent inside a stream."""
    fallback = ("internal_server_error" if status >= 500 else "invalid_request_error", "Request failed")
    kind, default = _STATUS_ERRORS.get(status, fallback)
    return {"object": "error", "message": message or default, "type": kind, "param": param, "code": code}


def _usage(u: Usage) -> dict[str, Any]:
    body: dict[str, Any] = {
        "prompt_tokens": u.input_tokens,
        "completion_tokens": u.output_tokens,
        "total_tokens": u.total_tokens,
    }
    if u.cached_tokens:
        body["prompt_tokens_details"] = {"cached_tokens": u.cached_tokens}
    return body


def _finish(d: Draft) -> str:
    return "tool_calls" if d.tool else "length" if d.cut else "stop"


def _message(d: Draft) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": "" if d.tool else d.text, "tool_calls": None}
    if d.tool:
        function = {"name": d.tool.name, "arguments": d.tool.arguments}
        message["tool_calls"] = [{"id": d.tool.call_id[:9], "type": "function", "function": function, "index": 0}]
    message["prefix"] = False
    return message


def _completion(req: WireRequest, body: Mapping[str, Any], input_tokens: int, tool: tuple[str | None, str]) -> Any:
    limit = limit_of(body, "max_tokens")
    # Mistral's response_format is OpenAI's chat one.
    structured = structured_output(body.get("response_format"), req.behavior, nested=True, param="response_format")
    drafts = [
        draft(req.behavior, limit=limit, variant=i, tool_name=tool[0], arguments=tool[1], structured=structured)
        for i in range(choice_count(body))
    ]
    u = usage(req.behavior, input_tokens, drafts)
    head = {"id": random_id(32), "object": "chat.completion", "model": body["model"], "created": now()}
    if body.get("stream") is True:
        return SSEReply(
            _chunks({**head, "object": "chat.completion.chunk"}, drafts, u),
            terminator=[SSEEvent("[DONE]", paced=False)],
            error_events=lambda _sent: [SSEEvent(error_object(500, code="3000"), paced=False)],
        )
    choices = [{"index": i, "message": _message(d), "finish_reason": _finish(d)} for i, d in enumerate(drafts)]
    return JSONReply({**head, "usage": _usage(u), "choices": choices})


def _chunks(head: dict[str, Any], drafts: list[Draft], u: Usage) -> Iterator[SSEEvent]:
    """A role chunk per choice, one chunk per piece, then each choice's finish; usage rides on the last."""

    def choice(index: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"index": index, "delta": delta, "finish_reason": finish}

    for i in range(len(drafts)):
        yield SSEEvent({**head, "choices": [choice(i, {"role": "assistant", "content": ""})]})
    for position in range(max(d.tokens for d in drafts)):
        for i, d in enumerate(drafts):
            if position < d.tokens and not d.tool:
                yield SSEEvent({**head, "choices": [choice(i, {"content": d.pieces[position]})]})
    for i, d in enumerate(drafts):
        # Mistral sends a tool call whole, with its arguments, in the finishing chunk.
        delta = {"content": "", "tool_calls": _message(d)["tool_calls"]} if d.tool else {"content": ""}
        last = i == len(drafts) - 1
        yield SSEEvent({**head, "choices": [choice(i, delta, _finish(d))], **({"usage": _usage(u)} if last else {})})


def chat(req: WireRequest) -> JSONReply | SSEReply:
    """``POST /v1/chat/completions``."""
    body = request_body(req)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise WireError(422, "Field required", param="messages")
    prompt = count_words(t for m in messages if isinstance(m, dict) for t in texts_of(m.get("content")))
    tool = first_function_tool(body.get("tools"), nested=True) if req.behavior.tool_call else (None, "{}")
    result: JSONReply | SSEReply = _completion(req, body, prompt, tool)
    return result


def fim(req: WireRequest) -> JSONReply | SSEReply:
    """``POST /v1/fim/completions``: the code between ``prompt`` and ``suffix``, as a completion."""
    body = request_body(req)
    prompt = body.get("prompt")
    if not isinstance(prompt, str):
        raise WireError(422, "Field required", param="prompt")
    suffix = body.get("suffix")
    result: JSONReply | SSEReply = _completion(
        req, body, count_words([prompt, suffix if isinstance(suffix, str) else ""]), (None, "{}")
    )
    return result


def embeddings(req: WireRequest) -> JSONReply:
    """``POST /v1/embeddings``: one deterministic unit vector per input."""
    body = request_body(req)
    value = body.get("input")
    inputs = [value] if isinstance(value, str) else value
    if not isinstance(inputs, list) or not inputs or not all(isinstance(item, str) for item in inputs):
        raise WireError(422, "Input should be a valid string or list of strings", param="input")
    dimensions = body.get("output_dimension") or _EMBEDDING_DIMENSIONS
    if not isinstance(dimensions, int) or dimensions < 1:
        raise WireError(422, "Input should be a positive integer", param="output_dimension")
    tokens = count_words(inputs)
    data = [
        {"object": "embedding", "embedding": embedding_vector(item, dimensions), "index": i}
        for i, item in enumerate(inputs)
    ]
    return JSONReply(
        {
            "id": random_id(32),
            "object": "list",
            "data": data,
            "model": body["model"],
            "usage": {"prompt_tokens": tokens, "completion_tokens": 0, "total_tokens": tokens},
        }
    )
