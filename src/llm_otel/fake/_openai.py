"""OpenAI's wire format: chat completions, legacy completions, embeddings, responses.

Bodies follow the live API field for field (as the openai SDK's models describe them).
Token counts follow `_model`; the input tokens of a request are the words of:

* chat: every message ``content`` (a string, or the ``text`` of each content part);
* legacy completions: the ``prompt`` (strings; token-id arrays count one per id);
* embeddings: each ``input`` (same rule);
* responses: ``instructions`` plus every input item's ``content`` / ``output`` text.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from typing import Any

from . import _openai_responses as responses
from ._model import (
    Draft,
    Usage,
    count_words,
    draft,
    embedding_vector,
    pack_float32,
    random_id,
    texts_of,
    usage,
)
from ._openai_common import (
    FINGERPRINT,
    choice_count,
    completion_usage,
    error_object,
    finish_reason,
    first_function_tool,
    include_usage,
    limit_of,
    now,
    request_body,
    stream_error,
    structured_output,
)
from ._wire import Handler, JSONReply, SSEEvent, SSEReply, WireError, WireRequest


class OpenAIWireFormat:
    """The OpenAI REST API under ``/v1``, and the same endpoints at Azure OpenAI's paths.

    Azure (``azure_endpoint`` = the provider's ``url``) is served by the same handlers:
    ``/openai/deployments/{deployment}/...`` for chat, completions and embeddings (the deployment
    is the model when the body names none), ``/openai/responses`` (``api-version`` style) and
    every endpoint under ``/openai/v1`` (Azure's v1 API). The ``api-version`` query is not checked.
    """

    name = "openai"

    @property
    def routes(self) -> Mapping[tuple[str, str], Handler]:
        """The served endpoints, with their Azure aliases."""
        endpoints: dict[str, Handler] = {
            "/chat/completions": chat_completions,
            "/completions": completions,
            "/embeddings": embeddings,
            "/responses": responses.create,
        }
        table = {("POST", prefix + path): h for prefix in ("/v1", "/openai/v1") for path, h in endpoints.items()}
        for path in ("/chat/completions", "/completions", "/embeddings"):
            table["POST", "/openai/deployments/{model}" + path] = endpoints[path]
        table["POST", "/openai/responses"] = responses.create
        return table

    def error_reply(self, req: WireRequest, error: WireError) -> JSONReply:
        """``{"error": {...}}`` with the type the live API uses for the status."""
        inner = error_object(error.status, error.code, error.message, error.param)
        model = req.body.get("model") if isinstance(req.body, dict) else None
        if inner["code"] == "model_not_found" and not error.message and isinstance(model, str):
            inner["message"] = f"The model `{model}` does not exist or you do not have access to it."
        body = {"error": inner}
        return JSONReply(body, status=error.status)

    def response_headers(self, req: WireRequest, status: int) -> dict[str, str]:
        """Request id, processing time and the ``x-ratelimit-*`` family."""
        limited = status == 429
        reset = f"{req.behavior.retry_after or 1:g}s" if limited else "6ms"
        return {
            "x-request-id": "req_" + random_id(32),
            "openai-version": "2020-10-01",
            "openai-organization": "llm-otel-fake",
            "openai-processing-ms": str(int(req.behavior.latency * 1000)),
            "x-ratelimit-limit-requests": "10000",
            "x-ratelimit-remaining-requests": "0" if limited else "9999",
            "x-ratelimit-reset-requests": reset,
            "x-ratelimit-limit-tokens": "30000000",
            "x-ratelimit-remaining-tokens": "0" if limited else "29999000",
            "x-ratelimit-reset-tokens": reset if limited else "2ms",
        }


OPENAI = OpenAIWireFormat()


# -- chat completions --------------------------------------------------------------------------


def chat_completions(req: WireRequest) -> JSONReply | SSEReply:
    """``POST /v1/chat/completions``."""
    body = request_body(req)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise WireError(400, "[] is too short - 'messages'", param="messages")
    prompt = count_words(t for m in messages if isinstance(m, dict) for t in texts_of(m.get("content")))
    tool: tuple[str | None, str] = (None, "{}")
    if req.behavior.tool_call:
        tool = first_function_tool(body.get("tools"), nested=True)
    structured = structured_output(body.get("response_format"), req.behavior, nested=True, param="response_format")
    limit = limit_of(body, "max_completion_tokens", "max_tokens")
    drafts = [
        draft(req.behavior, limit=limit, variant=i, tool_name=tool[0], arguments=tool[1], structured=structured)
        for i in range(choice_count(body))
    ]
    u = usage(req.behavior, prompt, drafts)
    head = {"id": "chatcmpl-" + random_id(29), "created": now(), "model": body["model"]}
    if body.get("stream") is True:
        return SSEReply(
            _chat_chunks(head, drafts, u if include_usage(body) else None),
            terminator=[SSEEvent("[DONE]", paced=False)],
            error_events=lambda _sent: stream_error(req),
        )
    choices = [
        {"index": i, "message": _chat_message(d), "logprobs": None, "finish_reason": finish_reason(d)}
        for i, d in enumerate(drafts)
    ]
    return JSONReply(
        {
            "id": head["id"],
            "object": "chat.completion",
            "created": head["created"],
            "model": head["model"],
            "choices": choices,
            "usage": completion_usage(u),
            "service_tier": "default",
            "system_fingerprint": FINGERPRINT,
        }
    )


def _chat_message(d: Draft) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": None if d.tool else d.text, "refusal": None}
    message["annotations"] = []
    if d.tool:
        function = {"name": d.tool.name, "arguments": d.tool.arguments}
        message["tool_calls"] = [{"id": d.tool.call_id, "type": "function", "function": function}]
    return message


def _chat_chunks(head: dict[str, Any], drafts: list[Draft], final_usage: Usage | None) -> Iterator[SSEEvent]:
    """Stream chunks; with ``final_usage`` every chunk has a ``usage`` key and a usage chunk ends it."""

    def chunk(choices: list[dict[str, Any]], usage_json: dict[str, Any] | None = None) -> SSEEvent:
        data = {**head, "object": "chat.completion.chunk", "service_tier": "default"}
        data.update(system_fingerprint=FINGERPRINT, choices=choices)
        if final_usage is not None:  # the key only exists when usage was asked for
            data["usage"] = usage_json
        return SSEEvent(data, paced=usage_json is None)

    def choice(index: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}

    for i, d in enumerate(drafts):
        first: dict[str, Any] = {
            "role": "assistant",
            "content": "" if d.tool is None else None,
            "refusal": None,
        }
        if d.tool:  # the id and name come first, the arguments follow in fragments
            function = {"name": d.tool.name, "arguments": ""}
            first["tool_calls"] = [{"index": 0, "id": d.tool.call_id, "type": "function", "function": function}]
        yield chunk([choice(i, first)])
    for position in range(max(d.tokens for d in drafts)):
        for i, d in enumerate(drafts):
            if position < d.tokens:
                piece = d.pieces[position]
                delta = {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]} if d.tool else {}
                yield chunk([choice(i, delta or {"content": piece})])
    for i, d in enumerate(drafts):
        yield chunk([choice(i, {}, finish_reason(d))])
    if final_usage is not None:
        yield chunk([], completion_usage(final_usage))


# -- legacy completions ------------------------------------------------------------------------


def _prompt_rows(value: object) -> list[int]:
    """Token count of each prompt: a string, a token array, or a list of either."""
    if isinstance(value, str):
        return [count_words([value])]
    if isinstance(value, list) and value and all(isinstance(x, int) for x in value):
        return [len(value)]
    if isinstance(value, list) and value:
        return [_prompt_rows(item)[0] for item in value if isinstance(item, str | list)]
    raise WireError(400, "'prompt' must be a string, an array of strings or an array of tokens", param="prompt")


def completions(req: WireRequest) -> JSONReply | SSEReply:
    """``POST /v1/completions`` (legacy text completions); ``n`` choices per prompt."""
    body = request_body(req)
    rows = _prompt_rows(body.get("prompt"))
    n = choice_count(body)
    limit = limit_of(body, "max_tokens")
    drafts = [draft(req.behavior, limit=limit, variant=i) for i in range(len(rows) * n)]
    u = usage(req.behavior, sum(rows), drafts)
    head = {
        "id": "cmpl-" + random_id(29),
        "object": "text_completion",
        "created": now(),
        "model": body["model"],
    }
    head["system_fingerprint"] = FINGERPRINT
    if body.get("stream") is True:
        return SSEReply(
            _completion_chunks(head, drafts, u if include_usage(body) else None),
            terminator=[SSEEvent("[DONE]", paced=False)],
            error_events=lambda _sent: stream_error(req),
        )
    choices = [
        {"text": d.text, "index": i, "logprobs": None, "finish_reason": finish_reason(d)} for i, d in enumerate(drafts)
    ]
    return JSONReply({**head, "choices": choices, "usage": completion_usage(u, details=False)})


def _completion_chunks(head: dict[str, Any], drafts: list[Draft], final_usage: Usage | None) -> Iterator[SSEEvent]:
    """Stream chunks; with ``final_usage`` every chunk has a ``usage`` key and a usage chunk ends it."""

    def chunk(choices: list[dict[str, Any]], usage_json: dict[str, Any] | None = None) -> SSEEvent:
        data = {**head, "choices": choices}
        if final_usage is not None:
            data["usage"] = usage_json
        return SSEEvent(data, paced=usage_json is None)

    for position in range(max(d.tokens for d in drafts)):
        for i, d in enumerate(drafts):
            if position < d.tokens:
                yield chunk([{"text": d.pieces[position], "index": i, "logprobs": None, "finish_reason": None}])
    for i, d in enumerate(drafts):
        yield chunk([{"text": "", "index": i, "logprobs": None, "finish_reason": finish_reason(d)}])
    if final_usage is not None:
        yield chunk([], completion_usage(final_usage, details=False))


# -- embeddings --------------------------------------------------------------------------------


def embeddings(req: WireRequest) -> JSONReply:
    """``POST /v1/embeddings``: one deterministic unit vector per input."""
    body = request_body(req)
    value = body.get("input")
    if isinstance(value, str) or (isinstance(value, list) and value and all(isinstance(x, int) for x in value)):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(x, str | list) for x in value):
        raise WireError(400, "'input' must be a string, an array of strings or an array of tokens", param="input")
    dimensions = body.get("dimensions", 8)
    if not isinstance(dimensions, int) or dimensions < 1:
        raise WireError(400, "'dimensions' must be a positive integer", param="dimensions")
    as_base64 = body.get("encoding_format") == "base64"
    data = []
    for index, item in enumerate(value):
        key = item if isinstance(item, str) else ",".join(map(str, item))
        vector = embedding_vector(key, dimensions)
        encoded: object = base64.b64encode(pack_float32(vector)).decode() if as_base64 else vector
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    tokens = sum(count_words([x]) if isinstance(x, str) else len(x) for x in value)
    return JSONReply(
        {
            "object": "list",
            "data": data,
            "model": body["model"],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )
