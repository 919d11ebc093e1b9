"""A FastAPI app whose route makes one OpenAI call, for tests/test_service.py."""

from __future__ import annotations

import os

import openai
from fastapi import FastAPI

app = FastAPI()
client = openai.AsyncOpenAI(base_url=os.environ["FAKE_OPENAI_URL"], api_key="test", max_retries=0)


@app.get("/ask/{topic}")
async def ask(topic: str) -> dict[str, str]:
    answer = await client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": topic}])
    return {"answer": answer.choices[0].message.content or ""}
