"""An ASGI app making one async OpenAI call per request, for uvicorn and gunicorn's Uvicorn workers."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

import openai

client = openai.AsyncOpenAI(base_url=os.environ["FAKE_OPENAI_URL"], api_key="test", max_retries=0)


async def app(
    scope: dict[str, Any], receive: Callable[[], Awaitable[Any]], send: Callable[[Any], Awaitable[None]]
) -> None:
    if scope["type"] != "http":
        return
    await client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    body = str(os.getpid()).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})
