"""Anthropic Messages requests, messages and stream events in the conventions' message shape.

Read only when content capture is on for the call. ``system`` is the conventions' system
instructions; content blocks map to parts: text, tool_use (tool_call), tool_result
(tool_call_response) and thinking (reasoning); other blocks keep their type, never their payload.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from llm_otel.providers._read import field, parsed
from llm_otel.telemetry._content import Content, ContentReader, Message, Part

from ._read import FINISH_REASONS


def _text(content: str) -> Part:
    return {"type": "text", "content": content}


def _block(block: Any) -> Part:
    kind = field(block, "type")
    if kind == "text":
        return _text(field(block, "text"))
    if kind in ("tool_use", "server_tool_use"):
        return {
            "type": "tool_call",
            "id": field(block, "id"),
            "name": field(block, "name"),
            "arguments": field(block, "input"),
        }
    if kind == "tool_result":
        response = field(block, "content")
        if isinstance(response, list):
            response = [_block(item) for item in response]
        return {"type": "tool_call_response", "id": field(block, "tool_use_id"), "response": response}
    if kind == "thinking":
        return {"type": "reasoning", "content": field(block, "thinking")}
    return {"type": kind}


def _parts(content: Any) -> list[Part]:
    if isinstance(content, str):
        return [_text(content)]
    return [_block(block) for block in content] if isinstance(content, list) else []


def _tools(tools: Any) -> list[dict[str, Any]]:
    definitions = []
    for tool in tools if isinstance(tools, list) else ():
        name = field(tool, "name")
        schema = field(tool, "input_schema")
        # Client tools have an input schema; server tools (web search ...) a versioned type.
        definition: dict[str, Any] = {"type": "function" if schema is not None else field(tool, "type"), "name": name}
        description = field(tool, "description")
        if description is not None:
            definition["description"] = description
        if schema is not None:
            definition["parameters"] = schema
        definitions.append(definition)
    return definitions


def request(kwargs: Mapping[str, Any]) -> Content:
    """``messages``, ``system`` and ``tools`` of a Messages call."""
    messages = kwargs.get("messages")
    inputs = [{"role": field(m, "role"), "parts": _parts(field(m, "content"))} for m in messages or ()]
    return Content(inputs, [], _parts(kwargs.get("system")), _tools(kwargs.get("tools")))


def _finish(stop_reason: Any) -> Any:
    return FINISH_REASONS.get(stop_reason, stop_reason) if isinstance(stop_reason, str) else None


def response(result: Any) -> list[Message]:
    """A ``Message``'s content blocks as one assistant message."""
    message = parsed(result)
    if message is None:
        return []
    parts = _parts(field(message, "content"))
    return [{"role": "assistant", "parts": parts, "finish_reason": _finish(field(message, "stop_reason"))}]


class StreamContent:
    """Raw stream events: each content block started, then grown by its deltas."""

    __slots__ = ("blocks", "stop_reason")

    def __init__(self) -> None:
        self.blocks: dict[int, tuple[Part, list[str]]] = {}  # index -> (part, text or JSON pieces)
        self.stop_reason: Any = None

    def add(self, event: Any) -> None:
        kind = field(event, "type")
        if kind == "content_block_start":
            part = _block(field(event, "content_block"))
            self.blocks[field(event, "index") or 0] = (part, [])
        elif kind == "content_block_delta":
            found = self.blocks.get(field(event, "index") or 0)
            delta = field(event, "delta")
            piece = field(delta, "text") or field(delta, "partial_json") or field(delta, "thinking")
            if found is not None and isinstance(piece, str):
                found[1].append(piece)
        elif kind == "message_delta":
            self.stop_reason = field(field(event, "delta"), "stop_reason")

    def messages(self) -> list[Message]:
        parts = [_joined(part, pieces) for _, (part, pieces) in sorted(self.blocks.items())]
        return [{"role": "assistant", "parts": parts, "finish_reason": _finish(self.stop_reason)}]


def _joined(part: Part, pieces: list[str]) -> Part:
    if not pieces:
        return part
    joined = "".join(pieces)
    if part["type"] == "tool_call":
        try:
            return {**part, "arguments": json.loads(joined)}
        except ValueError:
            return {**part, "arguments": joined}
    return {**part, "content": (part.get("content") or "") + joined}


CONTENT = ContentReader(request, response, StreamContent)
