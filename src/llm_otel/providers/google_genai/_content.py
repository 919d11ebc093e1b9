"""google-genai requests, responses and streams in the conventions' message shape (capture on only).

``contents`` takes many shapes (a string, a ``Content`` or its dict, a part, or a list of them);
loose parts make one user message, as the SDK groups them. The ``model`` role is the conventions'
``assistant``, and a message of function responses the ``tool`` role. The config's
``system_instruction`` is the system instructions, its ``tools`` the tool definitions (function
declarations, and the Python functions automatic function calling runs). Parts map to text,
reasoning (a ``thought`` text), tool_call (``function_call``) and tool_call_response
(``function_response``); media and code parts keep their kind, never their payload.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llm_otel.providers._read import field
from llm_otel.telemetry._content import Content, ContentReader, Message, Part

from ._read import config_fields, finish_reason

_ROLES = {"model": "assistant", None: "user"}
# Part fields other than text and function calls, by the kind a captured part keeps.
_KINDS = (
    ("inline_data", "blob"),
    ("file_data", "uri"),
    ("executable_code", "executable_code"),
    ("code_execution_result", "code_execution_result"),
)


def _plain(value: Any) -> Any:
    """A pydantic value (a ``Schema``) as JSON-ready data."""
    dump = getattr(value, "model_dump", None)
    return dump(mode="json", exclude_none=True) if callable(dump) else value


def _part(part: Any) -> Part:
    if isinstance(part, str):
        return {"type": "text", "content": part}
    text = field(part, "text")
    if isinstance(text, str):
        return {"type": "reasoning" if field(part, "thought") else "text", "content": text}
    call = field(part, "function_call")
    if call is not None:
        name, arguments = field(call, "name"), field(call, "args")
        return {"type": "tool_call", "id": field(call, "id"), "name": name, "arguments": arguments}
    response = field(part, "function_response")
    if response is not None:
        return {
            "type": "tool_call_response",
            "id": field(response, "id"),
            "name": field(response, "name"),
            "response": field(response, "response"),
        }
    kind = next((kind for name, kind in _KINDS if field(part, name) is not None), None)
    return {"type": kind or type(part).__name__.lower()}  # an image, a file: its kind only


def _message(role: Any, parts: list[Part]) -> Message:
    if parts and all(part["type"] == "tool_call_response" for part in parts):
        return {"role": "tool", "parts": parts}
    return {"role": _ROLES.get(role, role), "parts": parts}


def _is_content(item: Any) -> bool:
    # A Content or its subclasses (UserContent, ModelContent), or its dict.
    return (isinstance(item, Mapping) and "parts" in item) or any(c.__name__ == "Content" for c in type(item).__mro__)


def messages(contents: Any) -> list[Message]:
    """``contents`` as messages: each ``Content`` one, each run of loose parts one user message."""
    found: list[Message] = []
    loose: list[Part] = []
    for item in contents if isinstance(contents, list) else [contents] if contents is not None else []:
        if _is_content(item):
            if loose:
                found.append(_message("user", loose))
                loose = []
            found.append(_message(field(item, "role"), [_part(part) for part in field(item, "parts") or ()]))
        else:
            loose.append(_part(item))
    if loose:
        found.append(_message("user", loose))
    return found


def _instructions(value: Any) -> list[Part]:
    return [part for message in messages(value) for part in message["parts"]]


def _tools(tools: Any) -> list[dict[str, Any]]:
    definitions: list[dict[str, Any]] = []
    for tool in tools if isinstance(tools, list) else ():
        if callable(tool):  # a Python function, called by automatic function calling
            definition = {"type": "function", "name": getattr(tool, "__name__", "function")}
            if getattr(tool, "__doc__", None):
                definition["description"] = tool.__doc__
            definitions.append(definition)
            continue
        declarations = field(tool, "function_declarations")
        for declaration in declarations or ():
            definition = {"type": "function", "name": field(declaration, "name")}
            for key, source in (
                ("description", "description"),
                ("parameters", "parameters"),
                ("parameters", "parameters_json_schema"),
            ):
                value = field(declaration, source)
                if value is not None:
                    definition[key] = _plain(value)
            definitions.append(definition)
        if not declarations:  # a built-in tool: google_search, code_execution ...
            fields = tool if isinstance(tool, Mapping) else vars(tool)
            definitions.extend({"type": name} for name, value in fields.items() if value is not None)
    return definitions


def request(kwargs: Mapping[str, Any]) -> Content:
    """``contents``, and the config's system instruction and tools."""
    config = config_fields(kwargs)
    return Content(
        messages(kwargs.get("contents")),
        [],
        _instructions(config.get("system_instruction")),
        _tools(config.get("tools")),
    )


def _output(parts: list[Part], reason: Any) -> Message:
    called = any(part["type"] == "tool_call" for part in parts)
    return {"role": "assistant", "parts": parts, "finish_reason": finish_reason(reason, called)}


def response(result: Any) -> list[Message]:
    """Each candidate as one assistant message."""
    found = []
    for candidate in field(result, "candidates") or ():
        parts = [_part(part) for part in field(field(candidate, "content"), "parts") or ()]
        found.append(_output(parts, field(candidate, "finish_reason")))
    return found


class StreamContent:
    """Stream chunks: per candidate, text and thought pieces joined, function calls kept, the finish reason."""

    __slots__ = ("candidates",)

    def __init__(self) -> None:
        # candidate index -> (its parts so far, its finish reason)
        self.candidates: dict[Any, tuple[list[Part], list[Any]]] = {}

    def add(self, chunk: Any) -> None:
        for candidate in field(chunk, "candidates") or ():
            parts, reason = self.candidates.setdefault(field(candidate, "index"), ([], [None]))
            for part in field(field(candidate, "content"), "parts") or ():
                piece = _part(part)
                last = parts[-1] if parts else None
                if last is not None and piece["type"] in ("text", "reasoning") and last["type"] == piece["type"]:
                    last["content"] += piece["content"]
                else:
                    parts.append(piece)
            if field(candidate, "finish_reason") is not None:
                reason[0] = field(candidate, "finish_reason")

    def messages(self) -> list[Message]:
        ordered = sorted(self.candidates.items(), key=lambda item: item[0] or 0)
        return [_output(parts, reason[0]) for _, (parts, reason) in ordered]


CONTENT = ContentReader(request, response, StreamContent)
