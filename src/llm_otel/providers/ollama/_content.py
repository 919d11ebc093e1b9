"""Ollama chat and generate bodies, responses and streams in the conventions' message shape.

Read only when content capture is on for the call. Chat keeps its system messages in the history,
as for OpenAI; generate's ``prompt`` is one user message and its ``system`` the system
instructions. Ollama's tool calls carry no id and their arguments are already an object; images
are kept by type only, never their data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llm_otel.providers._read import field
from llm_otel.providers.openai._content import tool_definitions
from llm_otel.telemetry._content import Content, ContentReader, Message, Part

from ._read import finish_reasons


def _text(content: str) -> Part:
    return {"type": "text", "content": content}


def _tool_call(call: Any) -> Part:
    function = field(call, "function")
    return {"type": "tool_call", "id": None, "name": field(function, "name"), "arguments": field(function, "arguments")}


def _parts(message: Any, text_key: str = "content") -> list[Part]:
    """A message's (or a generate response's) reasoning, text, images and tool calls."""
    parts: list[Part] = []
    thinking = field(message, "thinking")
    if isinstance(thinking, str) and thinking:
        parts.append({"type": "reasoning", "content": thinking})
    text = field(message, text_key)
    if isinstance(text, str) and text:
        parts.append(_text(text))
    parts.extend({"type": "image"} for _ in field(message, "images") or ())
    parts.extend(_tool_call(call) for call in field(message, "tool_calls") or ())
    return parts


def _message(message: Any) -> Message:
    role = field(message, "role")
    if role == "tool":
        # Ollama names the tool (``tool_name``) where other APIs give the call's id.
        response = {"type": "tool_call_response", "id": None, "response": field(message, "content")}
        name = field(message, "tool_name")
        if isinstance(name, str):
            response["name"] = name
        return {"role": "tool", "parts": [response]}
    return {"role": role, "parts": _parts(message)}


def request(body: Mapping[str, Any]) -> Content:
    """A chat body's messages and tools, or a generate body's prompt and system prompt."""
    messages = body.get("messages")
    if isinstance(messages, list):
        return Content([_message(m) for m in messages], tool_definitions=tool_definitions(body.get("tools")))
    prompt, system = body.get("prompt"), body.get("system")
    inputs = [{"role": "user", "parts": [_text(prompt)]}] if isinstance(prompt, str) and prompt else []
    return Content(inputs, system_instructions=[_text(system)] if isinstance(system, str) and system else [])


def _output(parts: list[Part], done_reason: Any) -> list[Message]:
    reasons = finish_reasons(done_reason, any(part["type"] == "tool_call" for part in parts))
    return [{"role": "assistant", "parts": parts, "finish_reason": reasons[0] if reasons else None}]


def response(result: Any) -> list[Message]:
    """A chat response's message, or a generate response's text, as one assistant message."""
    message = field(result, "message")
    parts = _parts(message) if message is not None else _parts(result, "response")
    return _output(parts, field(result, "done_reason"))


class StreamContent:
    """Stream chunks: text and reasoning pieces joined, tool calls kept, the done reason from the last."""

    __slots__ = ("done_reason", "text", "thinking", "tool_calls")

    def __init__(self) -> None:
        self.text: list[str] = []
        self.thinking: list[str] = []
        self.tool_calls: list[Any] = []
        self.done_reason: Any = None

    def add(self, chunk: Any) -> None:
        message = field(chunk, "message")
        source = message if message is not None else chunk
        text = field(source, "content" if message is not None else "response")
        if isinstance(text, str):
            self.text.append(text)
        thinking = field(source, "thinking")
        if isinstance(thinking, str):
            self.thinking.append(thinking)
        self.tool_calls.extend(field(message, "tool_calls") or ())
        if field(chunk, "done"):
            self.done_reason = field(chunk, "done_reason")

    def messages(self) -> list[Message]:
        whole = {"thinking": "".join(self.thinking), "content": "".join(self.text), "tool_calls": self.tool_calls}
        return _output(_parts(whole), self.done_reason)


CONTENT = ContentReader(request, response, StreamContent)
