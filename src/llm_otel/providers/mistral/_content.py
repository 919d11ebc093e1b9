"""Mistral requests, responses and streams in the conventions' message shape (capture on only).

Mistral's chat and FIM APIs take and return OpenAI's chat shapes (messages with string or typed
content parts and ``tool_calls``; ``prompt`` for FIM), so OpenAI's readers serve them; a stream's
events carry the chunk in ``data``.
"""

from __future__ import annotations

from typing import Any

from llm_otel.providers._read import field
from llm_otel.providers.openai._content import ChatStreamContent, chat_request, chat_response
from llm_otel.telemetry._content import ContentReader


class StreamContent(ChatStreamContent):
    """``CompletionEvent``s: their chunks joined as OpenAI's are."""

    __slots__ = ()

    def add(self, chunk: Any) -> None:
        super().add(field(chunk, "data"))


CONTENT = ContentReader(chat_request, chat_response, StreamContent)
