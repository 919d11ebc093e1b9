"""OpenAI's Responses API (``POST /v1/responses``), JSON and streamed.

The stream is the live event sequence: ``response.created``, ``response.in_progress``,
``response.output_item.added``, then for a message ``response.content_part.added``,
``response.output_text.delta`` per word, ``response.output_text.done``,
``response.content_part.done`` (for a function call: ``response.function_call_arguments.delta``
per fragment, ``.done``), ``response.output_item.done`` and finally ``response.completed``
(``response.incomplete`` when ``max_output_tokens`` cut the reply). Every event carries an
increasing ``sequence_number``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ._model import Draft, Usage, count_words, draft, random_id, texts_of, usage
from ._openai_common import error_object, first_function_tool, limit_of, now, request_body, structured_output
from ._wire import JSONReply, SSEEvent, SSEReply, WireRequest


def create(req: WireRequest) -> JSONReply | SSEReply:
    """``POST /v1/responses``."""
    body = request_body(req)
    tool: tuple[str | None, str] = (None, "{}")
    if req.behavior.tool_call:
        tool = first_function_tool(body.get("tools"), nested=False)
    text = body.get("text")
    fmt = text.get("format") if isinstance(text, dict) else None
    structured = structured_output(fmt, req.behavior, nested=False, param="text.format")
    limit = limit_of(body, "max_output_tokens")
    d = draft(req.behavior, limit=limit, tool_name=tool[0], arguments=tool[1], structured=structured)
    u = usage(req.behavior, count_words(_input_texts(body)), [d])
    skeleton = _skeleton(body)
    item = _output_item(d, "incomplete" if d.cut else "completed")
    if body.get("stream") is True:
        return SSEReply(
            _events(skeleton, d, item, u),
            error_events=lambda sent: _error_events(skeleton, req, sent),
        )
    return JSONReply(_finished(skeleton, d, item, u))


def _input_texts(body: dict[str, Any]) -> list[str]:
    texts = [body["instructions"]] if isinstance(body.get("instructions"), str) else []
    items = body.get("input")
    if isinstance(items, str):
        return [*texts, items]
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            texts += texts_of(item.get("content")) + texts_of(item.get("output"))
    return texts


def _skeleton(body: dict[str, Any]) -> dict[str, Any]:
    """The response object while in progress; the request's settings echoed as the API does."""
    return {
        "id": "resp_" + random_id(48),
        "object": "response",
        "created_at": now(),
        "status": "in_progress",
        "background": False,
        "completed_at": None,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": body.get("max_tool_calls"),
        "model": body["model"],
        "output": [],
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "prompt_cache_key": body.get("prompt_cache_key"),
        "reasoning": {"effort": None, "summary": None},
        "safety_identifier": body.get("safety_identifier"),
        "service_tier": "default",
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": body.get("text") or {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": [_echoed_tool(tool) for tool in body.get("tools") or []],
        "top_logprobs": body.get("top_logprobs", 0),
        "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation", "disabled"),
        "usage": None,
        "user": body.get("user"),
        "metadata": body.get("metadata") or {},
    }


def _echoed_tool(tool: object) -> object:
    """A tool as the response echoes it; a function tool with every field, ``strict`` included.

    A function tool that omits ``strict`` is in strict mode: the live API echoes ``strict: true``
    and the schema normalized as its function-calling guide documents (every property required,
    no additional properties). Other tools are echoed as sent.
    """
    if not isinstance(tool, dict) or tool.get("type") != "function":
        return tool
    strict, parameters = tool.get("strict"), tool.get("parameters")
    if strict is None:
        strict, parameters = True, _strict_schema(parameters)
    fields = {"description": tool.get("description"), "name": tool.get("name"), "parameters": parameters}
    return {"type": "function", **fields, "strict": strict}


def _strict_schema(schema: object) -> object:
    """``schema`` with each object schema closed and all its properties required."""
    if not isinstance(schema, dict):
        return schema
    strict = dict(schema)
    for key in ("properties", "$defs", "definitions"):
        if isinstance(strict.get(key), dict):
            strict[key] = {name: _strict_schema(sub) for name, sub in strict[key].items()}
    for key in ("anyOf", "allOf", "prefixItems"):
        if isinstance(strict.get(key), list):
            strict[key] = [_strict_schema(sub) for sub in strict[key]]
    if isinstance(strict.get("items"), dict):
        strict["items"] = _strict_schema(strict["items"])
    if strict.get("type") == "object":
        strict["required"] = list(strict.get("properties") or {})
        strict["additionalProperties"] = False
    return strict


def _response_usage(u: Usage) -> dict[str, Any]:
    return {
        "input_tokens": u.input_tokens,
        # The SDK's model requires cache_write_tokens next to cached_tokens.
        "input_tokens_details": {"cached_tokens": u.cached_tokens, "cache_write_tokens": 0},
        "output_tokens": u.output_tokens,
        "output_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
        "total_tokens": u.total_tokens,
    }


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}


def _output_item(d: Draft, status: str) -> dict[str, Any]:
    if d.tool:
        return {
            "id": "fc_" + random_id(48),
            "type": "function_call",
            "status": status,
            "arguments": d.tool.arguments,
            "call_id": d.tool.call_id,
            "name": d.tool.name,
        }
    return {
        "id": "msg_" + random_id(48),
        "type": "message",
        "status": status,
        "content": [_text_part(d.text)],
        "role": "assistant",
    }


def _started(item: dict[str, Any]) -> dict[str, Any]:
    """The item as ``response.output_item.added`` shows it: same ids, nothing generated yet."""
    empty: dict[str, Any] = {"arguments": ""} if item["type"] == "function_call" else {"content": []}
    return {**item, "status": "in_progress", **empty}


def _finished(skeleton: dict[str, Any], d: Draft, item: dict[str, Any], u: Usage) -> dict[str, Any]:
    done = {**skeleton, "output": [item], "usage": _response_usage(u)}
    if d.cut:
        done.update(status="incomplete", incomplete_details={"reason": "max_output_tokens"})
    else:
        done.update(status="completed", completed_at=now())
    return done


def _events(skeleton: dict[str, Any], d: Draft, item: dict[str, Any], u: Usage) -> Iterator[SSEEvent]:
    sequence = 0

    def event(kind: str, paced: bool = False, **fields: Any) -> SSEEvent:
        nonlocal sequence
        data = {"type": kind, "sequence_number": sequence, **fields}
        sequence += 1
        return SSEEvent(data, event=kind, paced=paced)

    where = {"item_id": item["id"], "output_index": 0}
    yield event("response.created", response=skeleton)
    yield event("response.in_progress", response=skeleton)
    yield event("response.output_item.added", output_index=0, item=_started(item))
    if d.tool:
        for piece in d.pieces:
            yield event("response.function_call_arguments.delta", paced=True, **where, delta=piece)
        yield event("response.function_call_arguments.done", **where, arguments=d.text)
    else:
        part = {**where, "content_index": 0}
        yield event("response.content_part.added", **part, part=_text_part(""))
        for piece in d.pieces:
            yield event("response.output_text.delta", paced=True, **part, delta=piece, logprobs=[])
        yield event("response.output_text.done", **part, text=d.text, logprobs=[])
        yield event("response.content_part.done", **part, part=_text_part(d.text))
    yield event("response.output_item.done", output_index=0, item=item)
    finished = _finished(skeleton, d, item, u)
    yield event("response.incomplete" if d.cut else "response.completed", response=finished)


def _error_events(skeleton: dict[str, Any], req: WireRequest, sent: int) -> list[SSEEvent]:
    """An ``error`` event, then ``response.failed``.

    The ``error`` event nests the usual error object under ``error`` as the live API sends it
    (its documented schema is flat); the openai SDK raises `openai.APIError` on it. Clients
    reading past it get ``response.failed`` with ``response.error`` set.
    """
    inner = error_object(500, req.behavior.error_code)
    failed = {**skeleton, "status": "failed"}
    failed["error"] = {"code": inner["code"] or "server_error", "message": inner["message"]}
    return [
        SSEEvent({"type": "error", "error": inner, "sequence_number": sent}, event="error", paced=False),
        SSEEvent(
            {"type": "response.failed", "response": failed, "sequence_number": sent + 1},
            event="response.failed",
            paced=False,
        ),
    ]
