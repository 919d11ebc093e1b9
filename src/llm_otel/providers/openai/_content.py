"""OpenAI requests, responses and streams in the conventions' message shape (capture on only).

Chat history keeps its system and developer messages in place, as the conventions ask when
instructions are part of the history; the Responses API's ``instructions`` are system instructions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from llm_otel.providers._read import field, parsed
from llm_otel.telemetry._content import Content, ContentReader, Message, Part

from ._read import _response_finish_reason

# Chat finish reasons -> the conventions' (stop, length, content_filter, tool_call, error).
_FINISH = {"tool_calls": "tool_call", "function_call": "tool_call"}


def _text(content: str) -> Part:
    return {"type": "text", "content": content}


def _arguments(raw: Any) -> Any:
    """Tool-call arguments as an object when they are the JSON the API promises, else as sent."""
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def _tool_call(call_id: Any, name: Any, arguments: Any) -> Part:
    return {"type": "tool_call", "id": call_id, "name": name, "arguments": _arguments(arguments)}


def _parts(content: Any) -> list[Part]:
    """A message's ``content``: a string, or a list of typed parts (text kept, others by type)."""
    if isinstance(content, str):
        return [_text(content)]
    parts: list[Part] = []
    for item in content if isinstance(content, list) else ():
        kind = field(item, "type")
        text = field(item, "text")
        if isinstance(text, str) and kind in ("text", "input_text", "output_text"):
            parts.append(_text(text))
        elif isinstance(kind, str):
            parts.append({"type": kind})  # media: the kind is kept, never the payload
    return parts


def _chat_message(message: Any) -> Message:
    role = field(message, "role")
    if role == "tool":
        response = {"type": "tool_call_response", "id": field(message, "tool_call_id")}
        response["response"] = field(message, "content")
        return {"role": "tool", "parts": [response]}
    parts = _parts(field(message, "content"))
    for call in field(message, "tool_calls") or ():
        function = field(call, "function")
        parts.append(_tool_call(field(call, "id"), field(function, "name"), field(function, "arguments")))
    return {"role": role, "parts": parts}


def tool_definitions(tools: Any) -> list[dict[str, Any]]:
    """Function tools as the conventions define them; Ollama's and Mistral's use this shape too."""
    definitions = []
    for tool in tools if isinstance(tools, list) else ():
        function = field(tool, "function") or tool  # chat nests the function; Responses does not
        kind = field(tool, "type") or "function"
        definition: dict[str, Any] = {"type": kind, "name": field(function, "name") or kind}
        for key in ("description", "parameters"):
            value = field(function, key)
            if value is not None:
                definition[key] = value
        definitions.append(definition)
    return definitions


def chat_request(kwargs: Mapping[str, Any]) -> Content:
    """Chat messages and tools; the legacy completions ``prompt`` as one user message."""
    prompt = kwargs.get("prompt")
    if prompt is not None:
        prompts = [prompt] if isinstance(prompt, str) else prompt if isinstance(prompt, list) else []
        parts = [_text(text) for text in prompts if isinstance(text, str)]
        return Content(input_messages=[{"role": "user", "parts": parts}])
    messages = kwargs.get("messages")
    inputs = [_chat_message(message) for message in messages] if isinstance(messages, list) else []
    return Content(input_messages=inputs, tool_definitions=tool_definitions(kwargs.get("tools")))


def _finish(reason: Any) -> Any:
    return _FINISH.get(reason, reason) if isinstance(reason, str) else None


def chat_response(result: Any) -> list[Message]:
    """One assistant message per choice of a chat or legacy completion."""
    outputs = []
    for choice in field(parsed(result), "choices") or ():
        message = field(choice, "message")
        text = field(choice, "text")
        if message is not None:
            output = _chat_message(message)
            output["role"] = "assistant"
        else:
            output = {"role": "assistant", "parts": [_text(text)] if isinstance(text, str) else []}
        output["finish_reason"] = _finish(field(choice, "finish_reason"))
        outputs.append(output)
    return outputs


class _Choice:
    __slots__ = ("calls", "reason", "text")

    def __init__(self) -> None:
        self.text: list[str] = []
        self.calls: dict[int, list[Any]] = {}  # index -> [id, name, argument pieces]
        self.reason: Any = None


class ChatStreamContent:
    """Chat and legacy completion chunks: text and tool-call deltas joined per choice."""

    __slots__ = ("choices",)

    def __init__(self) -> None:
        self.choices: dict[int, _Choice] = {}

    def add(self, chunk: Any) -> None:
        for choice in field(chunk, "choices") or ():
            index = field(choice, "index") or 0
            state = self.choices.get(index)
            if state is None:
                state = self.choices[index] = _Choice()
            delta = field(choice, "delta")
            text = field(delta, "content") if delta is not None else field(choice, "text")
            if isinstance(text, str):
                state.text.append(text)
            for call in field(delta, "tool_calls") or ():
                slot = state.calls.setdefault(field(call, "index") or 0, [None, None, []])
                function = field(call, "function")
                slot[0] = field(call, "id") or slot[0]
                slot[1] = field(function, "name") or slot[1]
                slot[2].append(field(function, "arguments") or "")
            if field(choice, "finish_reason") is not None:
                state.reason = field(choice, "finish_reason")

    def messages(self) -> list[Message]:
        outputs = []
        for _, state in sorted(self.choices.items()):
            parts = [_text("".join(state.text))] if state.text else []
            parts += [_tool_call(i, name, "".join(args)) for _, (i, name, args) in sorted(state.calls.items())]
            outputs.append({"role": "assistant", "parts": parts, "finish_reason": _finish(state.reason)})
        return outputs


# --- Responses API ------------------------------------------------------------------------------


def _item(item: Any) -> Message:
    kind = field(item, "type")
    if kind == "function_call":
        call = _tool_call(field(item, "call_id"), field(item, "name"), field(item, "arguments"))
        return {"role": "assistant", "parts": [call]}
    if kind == "function_call_output":
        output = {"type": "tool_call_response", "id": field(item, "call_id"), "response": field(item, "output")}
        return {"role": "tool", "parts": [output]}
    if kind == "reasoning":
        summary = [field(part, "text") for part in field(item, "summary") or ()]
        return {"role": "assistant", "parts": [{"type": "reasoning", "content": "".join(filter(None, summary))}]}
    return {"role": field(item, "role") or "user", "parts": _parts(field(item, "content"))}


def responses_request(kwargs: Mapping[str, Any]) -> Content:
    """``input`` (a string or items), ``instructions`` and ``tools`` of a Responses API call."""
    given = kwargs.get("input")
    if isinstance(given, str):
        inputs = [{"role": "user", "parts": [_text(given)]}]
    else:
        inputs = [_item(item) for item in given] if isinstance(given, list) else []
    instructions = kwargs.get("instructions")
    system = [_text(instructions)] if isinstance(instructions, str) else []
    return Content(inputs, [], system, tool_definitions(kwargs.get("tools")))


def responses_response(result: Any) -> list[Message]:
    """A ``Response``'s output items as one assistant message."""
    response = parsed(result)
    parts: list[Part] = []
    for item in field(response, "output") or ():
        parts += _item(item)["parts"]
    reasons = _response_finish_reason(response) if response is not None else None
    return [{"role": "assistant", "parts": parts, "finish_reason": _finish(reasons[0] if reasons else None)}]


class ResponsesStreamContent:
    """Responses API events: the final response carries every output item, so no delta is joined."""

    __slots__ = ("response",)

    def __init__(self) -> None:
        self.response: Any = None

    def add(self, event: Any) -> None:
        if field(event, "type") in ("response.completed", "response.incomplete", "response.failed"):
            self.response = field(event, "response")

    def messages(self) -> list[Message]:
        return responses_response(self.response) if self.response is not None else []


CHAT_CONTENT = ContentReader(chat_request, chat_response, ChatStreamContent)
RESPONSES_CONTENT = ContentReader(responses_request, responses_response, ResponsesStreamContent)
