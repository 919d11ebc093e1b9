"""A WSGI app making one OpenAI call per request, for the pre-fork server tests (gunicorn)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

import openai

client = openai.OpenAI(base_url=os.environ["FAKE_OPENAI_URL"], api_key="test", max_retries=0)


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
