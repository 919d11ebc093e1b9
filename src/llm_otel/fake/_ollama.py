"""Ollama's wire format: ``/api/chat``, ``/api/generate``, ``/api/embed`` and the legacy ``/api/embeddings``.

Bodies follow Ollama's API field for field. Streams are NDJSON, as Ollama sends them: one JSON
object per line, ``done: false`` for each generated piece, then a ``done: true`` line with the
``done_reason``, the counts and the timings (nanoseconds); a request says ``"stream": false`` to
get one JSON body, and streams when it says nothing (Ollama's default). Errors are
``{"error": "..."}``, with the HTTP status, or as a line of a stream that already started.

Token counts follow `_model`: ``prompt_eval_count`` is the words of every message (or of the
prompt and system prompt), ``eval_count`` the pieces generated. ``options.num_predict`` caps the
reply (``done_reason`` ``length``). A prompt found whole in the cache is not evaluated again, and
Ollama then leaves ``prompt_eval_count`` out: a behaviour whose ``cached_tokens`` cover the whole
input answers without it. A chat without messages, or a generate without a prompt, only loads the
model (``done_reason`` ``load``), as it does for Ollama.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone
from typing import Any

from ._model import Draft, count_words, draft, embedding_vector, texts_of, tool_arguments
from ._schema import SchemaError
from ._wire import Handler, JSONReply, SSEEvent, SSEReply, WireError, WireRequest

# Builds a line's generated part: chat's ``message`` or generate's ``response``, from a piece of
# text and, for the line that carries it, the draft whose tool call it is.
Piece = Callable[[str, "Draft | None"], dict[str, Any]]
_EMBEDDING_DIMENSIONS = 8
_NS_PER_TOKEN = 1_000_000  # the reported timings: 1 ms per token evaluated, 2 ms to load


class OllamaWireFormat:
    """The Ollama API under ``/api``, on the same port as the others (``Client(host=provider.url)``)."""

    name = "ollama"

    @property
    def routes(self) -> Mapping[tuple[str, str], Handler]:
        """The served endpoints."""
        return {
            ("POST", "/api/chat"): chat,
            ("POST", "/api/generate"): generate,
            ("POST", "/api/embed"): embed,
            ("POST", "/api/embeddings"): embeddings,
        }

    def error_reply(self, req: WireRequest, error: WireError) -> JSONReply:
        """``{"error": "..."}``, worded as Ollama words its common errors."""
        return JSONReply({"error": error.message or _message(req, error.status)}, status=error.status)

    def response_headers(self, req: WireRequest, status: int) -> dict[str, str]:
        """Ollama sends no request ids or rate-limit headers."""
        return {}


OLLAMA = OllamaWireFormat()


def _message(req: WireRequest, status: int) -> str:
    if status == 404:
        model = req.body.get("model") if isinstance(req.body, dict) else None
        return f'model "{model}" not found, try pulling it first'
    return {400: "invalid request", 429: "server busy, please try again.  maximum pending requests exceeded"}.get(
        status, "an error was encountered while running the model"
    )


def _body(req: WireRequest) -> dict[str, Any]:
    body = req.body
    if not isinstance(body, dict):
        raise WireError(400, "invalid request body")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise WireError(400, "model is required")
    return body


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def _limit(body: Mapping[str, Any]) -> int | None:
    options = body.get("options")
    predict = options.get("num_predict") if isinstance(options, dict) else None
    return predict if isinstance(predict, int) and predict >= 0 else None  # -1: no limit


def _tool(body: Mapping[str, Any]) -> tuple[str, str]:
    for tool in body.get("tools") or []:
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            try:
                return function["name"], tool_arguments(function.get("parameters"))
            except SchemaError as exc:
                raise WireError(400, f"invalid tool parameters: {exc}") from None
    raise WireError(400, "Behavior.tool_call needs a function tool in the request's `tools`.")


def _final(req: WireRequest, input_tokens: int, d: Draft | None) -> dict[str, Any]:
    """The ``done: true`` fields: reason, counts and timings; ``d`` None for a load-only request."""
    if d is None:
        return {"done": True, "done_reason": "load"}
    final: dict[str, Any] = {
        "done": True,
        "done_reason": "length" if d.cut else "stop",
        "total_duration": (2 + input_tokens + d.tokens) * _NS_PER_TOKEN,
        "load_duration": 2 * _NS_PER_TOKEN,
    }
    if req.behavior.cached_tokens < input_tokens or not input_tokens:
        final["prompt_eval_count"] = input_tokens
        final["prompt_eval_duration"] = input_tokens * _NS_PER_TOKEN
    final["eval_count"] = d.tokens
    final["eval_duration"] = d.tokens * _NS_PER_TOKEN
    return final


def _reply(
    req: WireRequest, body: Mapping[str, Any], d: Draft | None, input_tokens: int, piece: Piece
) -> JSONReply | SSEReply:
    """One body, or an NDJSON stream of ``piece(text)`` lines then the final line."""
    head = {"model": body["model"], "created_at": _now()}
    final = _final(req, input_tokens, d)
    if body.get("stream", True) is False:
        text = "" if d is None or d.tool else d.text
        return JSONReply({**head, **piece(text, d), **final})
    return SSEReply(
        _lines(head, piece, d, final),
        error_events=lambda _sent: [SSEEvent({"error": "an error was encountered while running the model"})],
        framing="ndjson",
    )


def _lines(head: dict[str, Any], piece: Piece, d: Draft | None, final: dict[str, Any]) -> Iterator[SSEEvent]:
    if d is not None and d.tool:  # Ollama sends a tool call whole, in one line
        yield SSEEvent({**head, **piece("", d), "done": False})
    elif d is not None:
        for text in d.pieces:
            yield SSEEvent({**head, **piece(text, None), "done": False})
    yield SSEEvent({**head, **piece("", None), **final}, paced=False)


def chat(req: WireRequest) -> JSONReply | SSEReply:
    """``POST /api/chat``."""
    body = _body(req)
    messages = body.get("messages")
    if messages is not None and not isinstance(messages, list):
        raise WireError(400, "invalid messages")
    input_tokens = sum(count_words(texts_of(m.get("content"))) for m in messages or () if isinstance(m, dict))
    d = None
    if messages:
        tool = _tool(body) if req.behavior.tool_call else (None, "{}")
        d = draft(req.behavior, limit=_limit(body), tool_name=tool[0], arguments=tool[1])

    def message(text: str, with_tool: Draft | None) -> dict[str, Any]:
        reply: dict[str, Any] = {"role": "assistant", "content": text}
        if with_tool is not None and with_tool.tool:
            call = {"name": with_tool.tool.name, "arguments": json.loads(with_tool.tool.arguments)}
            reply["tool_calls"] = [{"function": call}]
        return {"message": reply}

    return _reply(req, body, d, input_tokens, message)


def generate(req: WireRequest) -> JSONReply | SSEReply:
    """``POST /api/generate``."""
    body = _body(req)
    prompt, system = body.get("prompt"), body.get("system")
    input_tokens = count_words([text for text in (prompt, system) if isinstance(text, str)])
    d = draft(req.behavior, limit=_limit(body)) if prompt else None
    return _reply(req, body, d, input_tokens, lambda text, _tool: {"response": text})


def _inputs(value: Any) -> list[str]:
    inputs = [value] if isinstance(value, str) else value
    if not isinstance(inputs, list) or not inputs or not all(isinstance(item, str) for item in inputs):
        raise WireError(400, "invalid input type")
    return inputs


def embed(req: WireRequest) -> JSONReply:
    """``POST /api/embed``: one deterministic unit vector per input."""
    body = _body(req)
    inputs = _inputs(body.get("input"))
    dimensions = body.get("dimensions", _EMBEDDING_DIMENSIONS)
    if not isinstance(dimensions, int) or dimensions < 1:
        raise WireError(400, "dimensions must be a positive integer")
    tokens = count_words(inputs)
    return JSONReply(
        {
            "model": body["model"],
            "embeddings": [embedding_vector(item, dimensions) for item in inputs],
            "total_duration": (2 + tokens) * _NS_PER_TOKEN,
            "load_duration": 2 * _NS_PER_TOKEN,
            "prompt_eval_count": tokens,
        }
    )


def embeddings(req: WireRequest) -> JSONReply:
    """``POST /api/embeddings`` (superseded by ``/api/embed``): one vector, no counts."""
    body = _body(req)
    prompt = body.get("prompt")
    return JSONReply({"embedding": embedding_vector(prompt if isinstance(prompt, str) else "", _EMBEDDING_DIMENSIONS)})
