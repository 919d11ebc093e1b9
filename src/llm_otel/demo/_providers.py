"""The providers the demo drives, as one table: how to reach each on the embedded fake provider, how to
make one call of each of its kinds, and how often. A provider whose SDK is not installed is left out.

The fake reads a call's `Behavior` from a request header. Most SDKs take headers per call; the ollama
and botocore clients do not, so theirs is added by a request hook from a context variable set around
the call.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from opentelemetry.instrumentation.dependencies import get_dependency_conflicts

from llm_otel.fake import Behavior, FakeProvider
from llm_otel.providers._base import ProviderInstrumentor
from llm_otel.providers.anthropic import AnthropicInstrumentor
from llm_otel.providers.bedrock import BedrockInstrumentor
from llm_otel.providers.cohere import CohereInstrumentor
from llm_otel.providers.google_genai import GoogleGenAIInstrumentor
from llm_otel.providers.mistral import MistralInstrumentor
from llm_otel.providers.ollama import OllamaInstrumentor
from llm_otel.providers.openai import OpenAIInstrumentor

# Short enough that a hanging call (Behavior(hang=5)) fails fast, as a service's client would give up.
TIMEOUT = 1.0
PROMPTS = (
    "Summarise the incident report in two sentences",
    "Translate good morning into French",
    "Write a haiku about observability and traces",
    "List three risks of shipping on a Friday afternoon",
)
# Each priced in the shipped table, so that the cost series has every provider; Ollama's run locally (0).
MODELS = ("gpt-4o-mini", "gpt-4o")
EMBEDDING_MODEL = "text-embedding-3-small"
CLAUDE_MODELS = ("claude-haiku-4-5", "claude-opus-4-1")
OLLAMA_MODELS = ("llama3.2", "qwen2.5:7b")
MISTRAL_MODEL = "mistral-small-latest"
COHERE_MODEL = "command-a-03-2025"
NOVA_MODEL = "amazon.nova-lite-v1:0"
GEMINI_MODEL = "gemini-2.5-flash"

Call = Callable[[Any, str, Behavior, random.Random], None]
"""``call(client, kind, behavior, rng)``: one call of ``kind``, its stream read to the end."""


def _close(client: Any) -> None:
    client.close()


@dataclass(frozen=True)
class DemoProvider:
    """One provider of the demo.

    ``connect`` builds its client on the fake (its SDK is installed when called); ``kinds``
    are the calls it makes with their weights in the traffic mix (a kind ending in " stream" streams);
    ``faults`` are failures only this provider has, beside the workload's common ones.
    """

    name: str  # its gen_ai.provider.name
    title: str
    instrumentor: type[ProviderInstrumentor]
    connect: Callable[[FakeProvider], Any]
    call: Call
    kinds: tuple[tuple[str, float], ...]
    close: Callable[[Any], None] = _close
    faults: tuple[tuple[Behavior, float], ...] = ()

    @property
    def installed(self) -> bool:
        """Whether its SDK is installed, in the range the instrumentation supports."""
        return get_dependency_conflicts([self.instrumentor.requirement]) is None


@dataclass(frozen=True)
class Connected:
    """A provider of the demo with its client."""

    provider: DemoProvider
    client: Any


def streams(kind: str) -> bool:
    return kind.endswith(" stream")


def _read(reply: Any, kind: str) -> None:
    if streams(kind):
        for _ in reply:
            pass


def _messages(rng: random.Random) -> list[dict[str, Any]]:
    return [{"role": "user", "content": rng.choice(PROMPTS)}]


# The current call's behaviour header, for the clients that take no per-call headers.
_headers: ContextVar[dict[str, str] | None] = ContextVar("llm_otel_demo_headers", default=None)


@contextmanager
def _carrying(behavior: Behavior) -> Iterator[None]:
    token = _headers.set(behavior.header())
    try:  # a stream may send its request when first read: the caller reads it inside
        yield
    finally:
        _headers.reset(token)


def _add_headers(request: Any, **_: Any) -> None:
    """An httpx request hook (ollama) and botocore ``before-sign`` handler: the current call's header."""
    for name, value in (_headers.get() or {}).items():
        request.headers[name] = value


# --- OpenAI ---------------------------------------------------------------------------------------


def _openai(fake: FakeProvider) -> Any:
    import openai

    return openai.OpenAI(base_url=fake.openai_base_url, api_key="demo", max_retries=0, timeout=TIMEOUT)


def _openai_call(client: Any, kind: str, behavior: Behavior, rng: random.Random) -> None:
    headers = behavior.header()
    if kind == "embeddings":
        client.embeddings.create(model=EMBEDDING_MODEL, input=rng.choice(PROMPTS), extra_headers=headers)
    elif kind == "responses":
        client.responses.create(model=rng.choice(MODELS), input=rng.choice(PROMPTS), extra_headers=headers)
    else:
        reply = client.chat.completions.create(
            model=rng.choice(MODELS), messages=_messages(rng), stream=streams(kind), extra_headers=headers
        )
        _read(reply, kind)


# --- Anthropic ------------------------------------------------------------------------------------


def _anthropic(fake: FakeProvider) -> Any:
    import anthropic

    return anthropic.Anthropic(base_url=fake.url, api_key="demo", max_retries=0, timeout=TIMEOUT)


def _anthropic_call(client: Any, kind: str, behavior: Behavior, rng: random.Random) -> None:
    reply = client.messages.create(
        model=rng.choice(CLAUDE_MODELS),
        max_tokens=256,
        messages=_messages(rng),
        stream=streams(kind),
        extra_headers=behavior.header(),
    )
    _read(reply, kind)


# --- Ollama ---------------------------------------------------------------------------------------


def _ollama(fake: FakeProvider) -> Any:
    import ollama

    return ollama.Client(host=fake.url, timeout=TIMEOUT, event_hooks={"request": [_add_headers]})


def _ollama_call(client: Any, kind: str, behavior: Behavior, rng: random.Random) -> None:
    with _carrying(behavior):
        _read(client.chat(model=rng.choice(OLLAMA_MODELS), messages=_messages(rng), stream=streams(kind)), kind)


def _ollama_close(client: Any) -> None:
    client._client.close()  # ollama 0.4 has no close() of its own


# --- Mistral --------------------------------------------------------------------------------------


def _mistral(fake: FakeProvider) -> Any:
    try:
        from mistralai.client import Mistral
    except ImportError:  # 1.x
        from mistralai import Mistral  # type: ignore[attr-defined,no-redef]

    return Mistral(api_key="demo", server_url=fake.mistral_server_url, timeout_ms=int(TIMEOUT * 1000))


def _mistral_call(client: Any, kind: str, behavior: Behavior, rng: random.Random) -> None:
    send = client.chat.stream if streams(kind) else client.chat.complete
    _read(send(model=MISTRAL_MODEL, messages=_messages(rng), http_headers=behavior.header()), kind)


def _mistral_close(client: Any) -> None:
    client.__exit__(None, None, None)  # closes the HTTP client it made


# --- Cohere ---------------------------------------------------------------------------------------


def _cohere(fake: FakeProvider) -> Any:
    import cohere

    return cohere.ClientV2(api_key="demo", base_url=fake.url, timeout=TIMEOUT)


def _cohere_call(client: Any, kind: str, behavior: Behavior, rng: random.Random) -> None:
    send = client.chat_stream if streams(kind) else client.chat
    # The SDK retries 429s and 5xx on its own: the demo shows each failure as it happens.
    options = {"max_retries": 0, "additional_headers": behavior.header()}
    _read(send(model=COHERE_MODEL, messages=_messages(rng), request_options=options), kind)


def _cohere_close(client: Any) -> None:
    client._client_wrapper.httpx_client.httpx_client.close()  # 5.x has no close() of its own


# --- Amazon Bedrock -------------------------------------------------------------------------------


def _bedrock(fake: FakeProvider) -> Any:
    # botocore's own session, as boto3.client() uses: the instrumentation requires botocore only.
    from botocore.config import Config  # type: ignore[import-untyped]
    from botocore.session import get_session  # type: ignore[import-untyped]

    client = get_session().create_client(
        "bedrock-runtime",
        endpoint_url=fake.url,
        region_name="us-east-1",
        aws_access_key_id="demo",  # dummy credentials: the request is signed offline, the fake ignores it
        aws_secret_access_key="demo",
        config=Config(
            retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=TIMEOUT, read_timeout=TIMEOUT
        ),
    )
    client.meta.events.register("before-sign.bedrock-runtime", _add_headers)
    return client


def _bedrock_call(client: Any, kind: str, behavior: Behavior, rng: random.Random) -> None:
    messages = [{"role": "user", "content": [{"text": rng.choice(PROMPTS)}]}]
    config = {"maxTokens": 256}
    with _carrying(behavior):
        if streams(kind):
            _read(client.converse_stream(modelId=NOVA_MODEL, messages=messages, inferenceConfig=config)["stream"], kind)
        else:
            client.converse(modelId=NOVA_MODEL, messages=messages, inferenceConfig=config)


# --- Google GenAI ---------------------------------------------------------------------------------


def _gemini(fake: FakeProvider) -> Any:
    from google import genai

    return genai.Client(api_key="demo", http_options={"base_url": fake.url, "timeout": int(TIMEOUT * 1000)})


def _gemini_call(client: Any, kind: str, behavior: Behavior, rng: random.Random) -> None:
    send = client.models.generate_content_stream if streams(kind) else client.models.generate_content
    config = {"http_options": {"headers": behavior.header()}}
    _read(send(model=GEMINI_MODEL, contents=rng.choice(PROMPTS), config=config), kind)


def _gemini_close(client: Any) -> None:
    close = getattr(client, "close", None)  # older releases have none: close their httpx client
    if close is not None:
        close()
    else:
        client._api_client._httpx_client.close()


# OpenAI first: the resilience and agent phases call it. Its share is the largest, as in most services;
# each other provider has a few per cent, chat and stream alike.
PROVIDERS = (
    DemoProvider(
        "openai",
        "OpenAI",
        OpenAIInstrumentor,
        _openai,
        _openai_call,
        (("chat", 0.22), ("chat stream", 0.14), ("embeddings", 0.08), ("responses", 0.06)),
    ),
    DemoProvider(
        "anthropic",
        "Anthropic",
        AnthropicInstrumentor,
        _anthropic,
        _anthropic_call,
        (("claude", 0.09), ("claude stream", 0.09)),
        faults=((Behavior(status=529), 0.01),),  # overloaded
    ),
    DemoProvider(
        "ollama",
        "Ollama",
        OllamaInstrumentor,
        _ollama,
        _ollama_call,
        (("ollama", 0.04), ("ollama stream", 0.04)),
        close=_ollama_close,
    ),
    DemoProvider(
        "mistral_ai",
        "Mistral",
        MistralInstrumentor,
        _mistral,
        _mistral_call,
        (("mistral", 0.03), ("mistral stream", 0.03)),
        close=_mistral_close,
    ),
    DemoProvider(
        "cohere",
        "Cohere",
        CohereInstrumentor,
        _cohere,
        _cohere_call,
        (("cohere", 0.03), ("cohere stream", 0.03)),
        close=_cohere_close,
    ),
    DemoProvider(
        "aws.bedrock",
        "Amazon Bedrock",
        BedrockInstrumentor,
        _bedrock,
        _bedrock_call,
        (("bedrock", 0.03), ("bedrock stream", 0.03)),
    ),
    DemoProvider(
        "gcp.gemini",
        "Google GenAI",
        GoogleGenAIInstrumentor,
        _gemini,
        _gemini_call,
        (("gemini", 0.03), ("gemini stream", 0.03)),
        close=_gemini_close,
    ),
)


def installed(providers: Sequence[DemoProvider] = PROVIDERS) -> list[DemoProvider]:
    """The providers whose SDK is installed: those the demo drives."""
    return [provider for provider in providers if provider.installed]


def connect(fake: FakeProvider, providers: Sequence[DemoProvider] = PROVIDERS) -> list[Connected]:
    """A client on ``fake`` for each installed provider."""
    return [Connected(provider, provider.connect(fake)) for provider in installed(providers)]
