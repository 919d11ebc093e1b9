"""Converse requests, responses and streams in the conventions' message shape (capture on only).

Converse messages are ``{"role", "content": [block, ...]}`` whose blocks each hold one key:
``text``, ``toolUse`` (tool_call), ``toolResult`` (tool_call_response), ``reasoningContent``
(reasoning); other blocks (image, document, video, cachePoint, guardContent ...) keep their kind,
never their payload. ``system`` is the conventions' system instructions, ``toolConfig.tools`` their
tool definitions. InvokeModel's bodies are each family's own and record no content.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from llm_otel.telemetry._content import Content, ContentReader, Message, Part

from ._read import finish_reason


def _block(block: Any) -> Part:
    if type(block) is not dict or not block:
        return {"type": "unknown"}
    text = block.get("text")
    if isinstance(text, str):
        return {"type": "text", "content": text}
    use = block.get("toolUse")
    if type(use) is dict:
        return {"type": "tool_call", "id": use.get("toolUseId"), "name": use.get("name"), "arguments": use.get("input")}
    result = block.get("toolResult")
    if type(result) is dict:
        response = result.get("content")
        if isinstance(response, list):  # blocks of text or json
            response = [item.get("json", item.get("text")) if type(item) is dict else item for item in response]
        return {"type": "tool_call_response", "id": result.get("toolUseId"), "response": response}
    reasoning = block.get("reasoningContent")
    if type(reasoning) is dict:
        return {"type": "reasoning", "content": (reasoning.get("reasoningText") or {}).get("text")}
    return {"type": next(iter(block))}


def _parts(content: Any) -> list[Part]:
    return [_block(block) for block in content] if isinstance(content, list) else []


def _tools(config: Any) -> list[dict[str, Any]]:
    tools = config.get("tools") if type(config) is dict else None
    definitions = []
    for tool in tools if isinstance(tools, list) else ():
        spec = tool.get("toolSpec") if type(tool) is dict else None
        if type(spec) is not dict:
            continue
        definition: dict[str, Any] = {"type": "function", "name": spec.get("name")}
        if spec.get("description") is not None:
            definition["description"] = spec["description"]
        schema = spec.get("inputSchema")
        if type(schema) is dict and "json" in schema:
            definition["parameters"] = schema["json"]
        definitions.append(definition)
    return definitions


def request(params: Mapping[str, Any]) -> Content:
    """``messages``, ``system`` and ``toolConfig`` of a Converse call."""
    messages = params.get("messages")
    given = messages if isinstance(messages, list) else ()
    inputs: list[Message] = [
        {"role": m.get("role"), "parts": _parts(m.get("content"))} for m in given if type(m) is dict
    ]
    return Content(inputs, [], _parts(params.get("system")), _tools(params.get("toolConfig")))


def response(result: Any) -> list[Message]:
    """``output.message`` with the stop reason."""
    output = result.get("output") if type(result) is dict else None
    message = output.get("message") if type(output) is dict else None
    if type(message) is not dict:
        return []
    parts = _parts(message.get("content"))
    return [{"role": "assistant", "parts": parts, "finish_reason": finish_reason(result.get("stopReason"))}]


class StreamContent:
    """Converse stream events: each content block started (or begun by its first delta), then grown."""

    __slots__ = ("blocks", "stop_reason")

    def __init__(self) -> None:
        self.blocks: dict[int, tuple[Part, list[str]]] = {}  # index -> (part, text or JSON pieces)
        self.stop_reason: Any = None

    def add(self, event: Any) -> None:
        delta = event.get("contentBlockDelta")
        if delta is not None:
            self._delta(delta.get("contentBlockIndex") or 0, delta.get("delta") or {})
            return
        start = event.get("contentBlockStart")
        if start is not None:
            use = (start.get("start") or {}).get("toolUse") or {}
            part = {"type": "tool_call", "id": use.get("toolUseId"), "name": use.get("name"), "arguments": None}
            self.blocks[start.get("contentBlockIndex") or 0] = (part, [])
            return
        stop = event.get("messageStop")
        if stop is not None:
            self.stop_reason = stop.get("stopReason")

    def _delta(self, index: int, delta: dict[str, Any]) -> None:
        found = self.blocks.get(index)
        if found is None:  # a text or reasoning block starts with its first delta
            kind = "reasoning" if "reasoningContent" in delta else "text"
            found = self.blocks[index] = ({"type": kind, "content": ""}, [])
        piece = delta.get("text")
        if piece is None:
            piece = (delta.get("toolUse") or {}).get("input")
        if piece is None:
            piece = (delta.get("reasoningContent") or {}).get("text")
        if isinstance(piece, str):
            found[1].append(piece)

    def messages(self) -> list[Message]:
        parts = [_joined(part, pieces) for _, (part, pieces) in sorted(self.blocks.items())]
        return [{"role": "assistant", "parts": parts, "finish_reason": finish_reason(self.stop_reason)}]


def _joined(part: Part, pieces: list[str]) -> Part:
    joined = "".join(pieces)
    if part["type"] != "tool_call":
        return {**part, "content": joined}
    try:
        return {**part, "arguments": json.loads(joined) if joined else {}}
    except ValueError:
        return {**part, "arguments": joined}


CONTENT = ContentReader(request, response, StreamContent)
