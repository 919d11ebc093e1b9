"""openai-agents: an agent on the Responses model (which streams through with_streaming_response)
and on the Chat Completions model, run to completion and streamed."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from conftest import MODEL

from .conftest import Traced

agents = pytest.importorskip("agents")

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def _no_agents_tracing() -> None:
    agents.set_tracing_disabled(True)  # its own trace processor would export to the network


@pytest.mark.parametrize("model_class", ["OpenAIResponsesModel", "OpenAIChatCompletionsModel"])
async def test_agent_run_and_streamed(traced: Traced, model_class: str) -> None:
    client = openai.AsyncOpenAI(base_url=traced.fake.openai_base_url, api_key="k", max_retries=0)
    model: Any = getattr(agents, model_class)(MODEL, client)
    agent = agents.Agent(name="greeter", instructions="be brief", model=model)
    ran = await agents.Runner.run(agent, "say hello")
    streamed = agents.Runner.run_streamed(agent, "say hello")
    events = [event async for event in streamed.stream_events()]
    assert ran.final_output and streamed.final_output and events
    traced.check(calls=2)
    await client.close()
