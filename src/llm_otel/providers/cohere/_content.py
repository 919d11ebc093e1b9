"""Cohere v2 chats in the conventions' message shape (capture on only).

The v2 request takes OpenAI's chat shapes (``system``/``user``/``assistant``/``tool`` messages
with string or typed content, ``tool_calls`` with JSON ``arguments``, function ``tools``), so
OpenAI's request reader serves it. A reply is one assistant message whose ``content`` is a list of
``text`` and ``thinking`` items, with ``tool_calls`` beside it; a stream sends them as indexed
``content-*`` and ``tool-call-*`` events.
"""

from __future__ import annotations

from typing import Any

from llm_otel.providers._read import field
from llm_otel.providers.openai._content import _arguments, chat_request
from llm_otel.telemetry._content import ContentReader, Message, Part

from ._read import finish_reason, unwrapped


def _tool_call(call: Any, arguments: str | None) -> Part:
    name = field(field(call, "function"), "name")
    return {"type": "tool_call", "id": field(call, "id"), "name": name, "arguments": _arguments(arguments)}


def _item(kind: Any, text: Any, thinking: Any) -> Part | None:
    if kind == "thinking" and isinstance(thinking, str):
        return {"type": "reasoning", "content": thinking}
    if isinstance(text, str):
        return {"type": "text", "content": text}
    return None


def chat_response(result: Any) -> list[Message]:
    """The reply's assistant message."""
    result = unwrapped(result)
    message = field(result, "message")
    parts: list[Part] = []
    for item in field(message, "content") or ():
        part = _item(field(item, "type"), field(item, "text"), field(item, "thinking"))
        if part is not None:
            parts.append(part)
    for call in field(message, "tool_calls") or ():
        parts.append(_tool_call(call, field(field(call, "function"), "arguments")))
    return [{"role": "assistant", "parts": parts, "finish_reason": finish_reason(field(result, "finish_reason"))}]


class StreamContent:
    """v2 stream events: content items and tool calls assembled by their index."""

    __slots__ = ("calls", "items", "reason")

    def __init__(self) -> None:
        self.items: dict[int, list[Any]] = {}  # index -> [type, text pieces, thinking pieces]
        self.calls: dict[int, list[Any]] = {}  # index -> [call, argument pieces]
        self.reason: Any = None

    def add(self, event: Any) -> None:
        kind = field(event, "type")
        message = field(field(event, "delta"), "message")
        index = field(event, "index") or 0
        if kind in ("content-start", "content-delta"):
            content = field(message, "content")
            item = self.items.setdefault(index, [None, [], []])
            item[0] = item[0] or field(content, "type")
            for slot, name in ((1, "text"), (2, "thinking")):
                piece = field(content, name)
                if isinstance(piece, str):
                    item[slot].append(piece)
        elif kind == "tool-call-start":
            call = field(message, "tool_calls")
            self.calls[index] = [call, [field(field(call, "function"), "arguments") or ""]]
        elif kind == "tool-call-delta" and index in self.calls:
            piece = field(field(field(message, "tool_calls"), "function"), "arguments")
            if isinstance(piece, str):
                self.calls[index][1].append(piece)
        elif kind == "message-end":
            self.reason = field(field(event, "delta"), "finish_reason")

    def messages(self) -> list[Message]:
        parts: list[Part] = []
        for kind, text, thinking in self.items.values():
            part = _item(kind, "".join(text), "".join(thinking))
            if part is not None:
                parts.append(part)
        parts.extend(_tool_call(call, "".join(pieces)) for call, pieces in self.calls.values())
        return [{"role": "assistant", "parts": parts, "finish_reason": finish_reason(self.reason)}]


CONTENT = ContentReader(chat_request, chat_response, StreamContent)
