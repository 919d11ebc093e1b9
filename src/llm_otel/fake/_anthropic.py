"""Anthropic's wire format: the Messages API (JSON and SSE), token counting, and Vertex AI's paths.

Bodies follow the live API field for field (as the anthropic SDK's models describe them). Token
counts follow `_model`: the input tokens are the words of the ``system`` prompt and of every
message's ``content``. Prompt caching is modelled deterministically: the words of content blocks
carrying ``cache_control`` are written to the cache (``cache_creation_input_tokens``), the
behaviour's ``cached_tokens`` are read from it (``cache_read_input_tokens``), and
``input_tokens`` is the rest, as Anthropic counts it (the cached tokens are not included).

A reply word equal to one of the request's ``stop_sequences`` ends the reply before it, with
``stop_reason`` ``stop_sequence``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from ._model import Draft, count_words, draft, fragments, random_id, texts_of, tool_arguments
from ._schema import SchemaError, instance_json
from ._wire import Handler, JSONReply, SSEEvent, SSEReply, WireError, WireRequest

# type and default message per HTTP status, as the live API words them.
_STATUS_ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "The requested resource could not be found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit."),
    500: ("api_error", "Internal server error"),
    529: ("overloaded_error", "Overloaded"),
}  # fmt: skip
_VERTEX = "/v1/projects/{project}/locations/{region}/publishers/anthropic/models/{target}"


class AnthropicWireFormat:
    """The Anthropic API under ``/v1``, and the same Messages endpoint at Vertex AI's paths.

    Vertex (``AnthropicVertex(base_url=provider.url + "/v1", ...)``) names the model in the path
    (``.../models/{model}:rawPredict`` or ``:streamRawPredict``) instead of the body.
    """

    name = "anthropic"

    @property
    def routes(self) -> Mapping[tuple[str, str], Handler]:
        """The served endpoints."""
        return {
            ("POST", "/v1/messages"): messages,
            ("POST", "/v1/messages/count_tokens"): count_tokens,
            ("POST", _VERTEX): vertex,
        }

    def error_reply(self, req: WireRequest, error: WireError) -> JSONReply:
        """``{"type": "error", "error": {"type", "message"}}`` with the type the live API uses."""
        return JSONReply(_error_body(error.status, error.message, error.code), status=error.status)

    def response_headers(self, req: WireRequest, status: int) -> dict[str, str]:
        """Request id and the ``anthropic-ratelimit-*`` family."""
        limited = status == 429
        return {
            "request-id": "req_" + random_id(24),
            "anthropic-organization-id": "llm-otel-fake",
            "anthropic-ratelimit-requests-limit": "4000",
            "anthropic-ratelimit-requests-remaining": "0" if limited else "3999",
            "anthropic-ratelimit-tokens-limit": "400000",
            "anthropic-ratelimit-tokens-remaining": "0" if limited else "399000",
        }


ANTHROPIC = AnthropicWireFormat()


def _error_body(status: int, message: str = "", kind: str | None = None) -> dict[str, Any]:
    default_kind, default_message = _STATUS_ERRORS.get(status, ("api_error", "Request failed."))
    error = {"type": kind or default_kind, "message": message or default_message}
    return {"type": "error", "error": error, "request_id": "req_" + random_id(24)}


def _body(req: WireRequest) -> dict[str, Any]:
    body = req.body
    if not isinstance(body, dict):
        raise WireError(400, "The request body must be a JSON object.")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise WireError(400, "model: Field required")
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        raise WireError(400, "messages: Field required")
    return body


def _blocks(content: Any) -> list[Any]:
    return content if isinstance(content, list) else [content]


def _input_tokens(body: Mapping[str, Any]) -> tuple[int, int]:
    """(all input tokens, those in blocks marked for caching)."""
    blocks = _blocks(body.get("system") or [])
    for message in body["messages"]:
        if isinstance(message, dict):
            blocks += _blocks(message.get("content"))
    total = marked = 0
    for block in blocks:
        words = count_words(texts_of([block] if isinstance(block, dict) else block))
        total += words
        if isinstance(block, dict) and block.get("cache_control"):
            marked += words
    return total, marked


def count_tokens(req: WireRequest) -> JSONReply:
    """``POST /v1/messages/count_tokens``."""
    return JSONReply({"input_tokens": _input_tokens(_body(req))[0]})


def vertex(req: WireRequest) -> JSONReply | SSEReply:
    """Vertex AI's ``:rawPredict`` / ``:streamRawPredict``: the model comes from the path."""
    model, _, method = req.params["target"].partition(":")
    if method not in ("rawPredict", "streamRawPredict"):
        raise WireError(404, f"Unknown method {method!r}")
    body = req.body if isinstance(req.body, dict) else {}
    return messages(WireRequest(req.method, req.path, req.headers, {**body, "model": model}, req.behavior))


def _tool(body: Mapping[str, Any]) -> tuple[str, str]:
    for tool in body.get("tools") or []:
        if isinstance(tool, dict) and isinstance(tool.get("name"), str) and "input_schema" in tool:
            try:
                return tool["name"], tool_arguments(tool["input_schema"])
            except SchemaError as exc:
                raise WireError(400, f"tools.0.input_schema: {exc}") from None
    raise WireError(400, "Behavior.tool_call needs a custom tool in the request's `tools`.")


def _structured(body: Mapping[str, Any]) -> tuple[str, ...] | None:
    config = body.get("output_config")
    fmt = config.get("format") if isinstance(config, dict) else body.get("output_format")
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        return None
    try:
        return fragments(instance_json(fmt.get("schema")))
    except SchemaError as exc:
        raise WireError(400, f"output_config.format.schema: {exc}") from None


def _stop_at(d: Draft, stops: Any) -> tuple[Draft, str | None]:
    """The draft cut before the first word that is one of ``stops``, and that word."""
    if d.tool or not isinstance(stops, list):
        return d, None
    wanted = {stop.lower() for stop in stops if isinstance(stop, str)}
    for index, piece in enumerate(d.pieces):
        word = piece.strip().rstrip(".").lower()
        if word in wanted:
            return Draft(pieces=d.pieces[:index], cut=False), word
    return d, None


def messages(req: WireRequest) -> JSONReply | SSEReply:
    """``POST /v1/messages``."""
    body = _body(req)
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or max_tokens < 1:
        raise WireError(400, "max_tokens: Field required")
    behavior = req.behavior
    tool = _tool(body) if behavior.tool_call else (None, "{}")
    d = draft(behavior, limit=max_tokens, tool_name=tool[0], arguments=tool[1], structured=_structured(body))
    d, stop_sequence = _stop_at(d, body.get("stop_sequences"))
    total, marked = _input_tokens(body)
    read = min(behavior.cached_tokens, total - marked)
    usage: dict[str, Any] = {
        "input_tokens": total - marked - read,
        "cache_creation_input_tokens": marked,
        "cache_read_input_tokens": read,
        "output_tokens": d.tokens + behavior.reasoning_tokens,
        "service_tier": "standard",
    }
    if behavior.reasoning_tokens:
        usage["output_tokens_details"] = {"thinking_tokens": behavior.reasoning_tokens}
    stop_reason = "tool_use" if d.tool else "stop_sequence" if stop_sequence else "max_tokens" if d.cut else "end_turn"
    message = {
        "id": "msg_" + random_id(24),
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": [_block(d, full=True)],
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": usage,
    }
    if body.get("stream") is True:
        return SSEReply(
            _events(message, d),
            error_events=lambda _sent: [_event({"type": "error", "error": _error_body(529)["error"]}, paced=False)],
        )
    return JSONReply(message)


def _block(d: Draft, *, full: bool) -> dict[str, Any]:
    if d.tool:
        arguments = json.loads(d.tool.arguments) if full else {}
        return {"type": "tool_use", "id": "toolu_" + d.tool.call_id[5:], "name": d.tool.name, "input": arguments}
    return {"type": "text", "text": d.text if full else ""}


def _event(data: dict[str, Any], *, paced: bool) -> SSEEvent:
    return SSEEvent(data, event=data["type"], paced=paced)


def _events(message: dict[str, Any], d: Draft) -> Iterator[SSEEvent]:
    """message_start, one content block streamed in deltas (with a ping), message_delta, message_stop."""
    usage = message["usage"]
    # The start carries the input usage and a placeholder output count, as the live API's does.
    start_usage = {**usage, "output_tokens": 1}
    start_usage.pop("output_tokens_details", None)
    head = {**message, "content": [], "stop_reason": None, "stop_sequence": None, "usage": start_usage}
    yield _event({"type": "message_start", "message": head}, paced=False)
    yield _event({"type": "content_block_start", "index": 0, "content_block": _block(d, full=False)}, paced=False)
    yield _event({"type": "ping"}, paced=False)
    for piece in d.pieces:
        delta = {"type": "input_json_delta", "partial_json": piece} if d.tool else {"type": "text_delta", "text": piece}
        yield _event({"type": "content_block_delta", "index": 0, "delta": delta}, paced=True)
    yield _event({"type": "content_block_stop", "index": 0}, paced=False)
    final = {"stop_reason": message["stop_reason"], "stop_sequence": message["stop_sequence"]}
    yield _event({"type": "message_delta", "delta": final, "usage": usage}, paced=False)
    yield _event({"type": "message_stop"}, paced=False)
