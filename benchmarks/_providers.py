"""What differs between the measured providers: the request, the canned response bytes, the clients.

Everything else (the timed loops, the OTel set-up, the statistics) is the same for every provider.
The response bytes are built once, valid as the provider's API sends them (JSON, and SSE, NDJSON or
AWS's event stream for streams), and served by an in-process ``MockTransport`` of the SDK's HTTP
library (``httpx2``, ``httpx`` for ollama), or by botocore's ``before-send`` event, which answers a
request before it is sent: no sockets, no network noise.
Standard library only at import time: ``run.py`` reads the constants with any interpreter.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

LONG_STREAM = 201  # content chunks of the long stream; the short one has 1


@dataclass(frozen=True)
class Provider:
    """One provider SDK as the benchmark drives it."""

    name: str  # also the SDK's distribution and import name
    title: str
    base_url: str
    address: str  # server.address of base_url (port: ``port``)
    model: str
    response_model: str
    request: dict[str, Any]  # keyword arguments of every call
    clients: tuple[str, str]  # the SDK's sync and async client classes
    method: str  # the client attribute path of the measured call, e.g. "messages.create"
    # (module, sync class, async class) of the measured method, for the variants that patch it.
    target: tuple[str, str, str]
    completion_body: Callable[[], bytes]
    stream_body: Callable[[int], bytes]
    request_id_header: str | None
    # The client's constructor arguments, given the base URL, the HTTP module, a mock transport and
    # whether the client is the async one.
    client_options: Callable[[str, Any, Any, bool], dict[str, Any]]
    http: str = "httpx2"  # the HTTP library the SDK speaks through
    stream_type: str = "text/event-stream"
    port: int = 443
    module: str = ""  # where the clients are, when not the SDK's top-level module
    provider_name: str = ""  # gen_ai.provider.name, when not ``name``
    # The async client's method: ``method`` + this (mistralai's one client has ``complete_async``).
    async_suffix: str = ""
    # The method a stream is opened with, when not ``method`` with ``stream=True`` (mistralai's ``chat.stream``).
    stream_method: str = ""
    # The key of the result dict holding the stream, when the result is not the stream (botocore's "stream").
    stream_key: str = ""
    # No async client (botocore): the async scenario repeats the sync call, so that every table has its rows.
    sync_only: bool = False
    # The attribute of the async client class's instance that holds the async methods (google-genai's ``aio``).
    async_attribute: str = ""

    def metric_attributes(self) -> dict[str, Any]:
        """The attribute set a per-chunk histogram record carries (the call's metric attributes)."""
        return {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": self.provider_name or self.name,
            "gen_ai.request.model": self.model,
            "server.address": self.address,
            "server.port": self.port,
            **({"gen_ai.response.model": self.response_model} if self.response_model else {}),
        }

    def make_clients(self) -> dict[str, Any]:
        """One sync and one async client per canned body: routing costs nothing at call time."""
        http = importlib.import_module(self.http)
        sdk = importlib.import_module(self.module or self.name)
        sync_class, async_class = (getattr(sdk, name) for name in self.clients)
        headers = {self.request_id_header: "req_bench"} if self.request_id_header else {}

        def transport(body: bytes, content_type: str) -> Any:
            reply = {**headers, "content-type": content_type}
            return http.MockTransport(lambda _request: http.Response(200, headers=reply, content=body))

        bodies = {
            "call": (self.completion_body(), "application/json"),
            "stream_1": (self.stream_body(1), self.stream_type),
            "stream_201": (self.stream_body(LONG_STREAM), self.stream_type),
        }
        clients: dict[str, Any] = {}
        for name, (body, content_type) in bodies.items():
            mock = transport(body, content_type)
            clients[name] = sync_class(**self.client_options(self.base_url, http, mock, False))
            async_client = async_class(**self.client_options(self.base_url, http, mock, True))
            clients[f"{name}_async"] = (
                getattr(async_client, self.async_attribute) if self.async_attribute else async_client
            )
        return clients


def _api_client(base_url: str, http: Any, transport: Any, is_async: bool) -> dict[str, Any]:
    """openai's and anthropic's constructor arguments: an API key, no retries, an HTTP client on the mock."""
    client = (http.AsyncClient if is_async else http.Client)(transport=transport)
    return {"api_key": "sk-bench", "base_url": base_url, "max_retries": 0, "http_client": client}


def _ollama_client(base_url: str, _http: Any, transport: Any, _is_async: bool) -> dict[str, Any]:
    """ollama's: the host, and the transport for the httpx client it builds (keyword arguments pass through)."""
    return {"host": base_url, "transport": transport}


def _sse(data: dict[str, Any], event: str | None = None) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + json.dumps(data).encode() + b"\n\n"


# --- OpenAI: chat.completions ---------------------------------------------------------------------

_OPENAI_MODEL = "gpt-4o-mini-2024-07-18"
_OPENAI_HEAD = {"id": "chatcmpl-bench0001", "created": 1_700_000_000, "model": _OPENAI_MODEL}
_OPENAI_USAGE = {
    "prompt_tokens": 21,
    "completion_tokens": 3,
    "total_tokens": 24,
    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 0,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}


def _openai_completion() -> bytes:
    message: dict[str, Any] = {"role": "assistant", "content": "Hello there.", "refusal": None, "annotations": []}
    body = {
        **_OPENAI_HEAD,
        "object": "chat.completion",
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
        "usage": _OPENAI_USAGE,
        "service_tier": "default",
        "system_fingerprint": "fp_bench",
    }
    return json.dumps(body).encode()


def _openai_stream(content_chunks: int) -> bytes:
    """A role chunk carrying the first token, more tokens, a finish chunk, [DONE]."""

    def chunk(delta: dict[str, Any], finish: str | None) -> bytes:
        return _sse(
            {
                **_OPENAI_HEAD,
                "object": "chat.completion.chunk",
                "service_tier": "default",
                "system_fingerprint": "fp_bench",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            }
        )

    parts = [chunk({"role": "assistant", "content": "Hello", "refusal": None}, None)]
    parts += [chunk({"content": " there"}, None) for _ in range(content_chunks - 1)]
    parts += [chunk({}, "stop"), b"data: [DONE]\n\n"]
    return b"".join(parts)


# The chat request every OpenAI-shaped provider is benchmarked with.
_MESSAGES = [
    {"role": "system", "content": "You are a terse assistant."},
    {"role": "user", "content": "Say hello."},
]
_SAMPLING = {"temperature": 0.2, "top_p": 0.9, "max_tokens": 64}

OPENAI = Provider(
    name="openai",
    title="OpenAI",
    base_url="https://api.openai.com/v1",
    address="api.openai.com",
    model="gpt-4o-mini",
    response_model=_OPENAI_MODEL,
    # A typical small chat request; the sampling parameters give every instrumentation request attributes to read.
    request={"model": "gpt-4o-mini", "messages": _MESSAGES, **_SAMPLING},
    clients=("OpenAI", "AsyncOpenAI"),
    method="chat.completions.create",
    target=("openai.resources.chat.completions", "Completions", "AsyncCompletions"),
    completion_body=_openai_completion,
    stream_body=_openai_stream,
    request_id_header="x-request-id",
    client_options=_api_client,
)


# --- Anthropic: messages --------------------------------------------------------------------------

_ANTHROPIC_MESSAGE = {
    "id": "msg_bench0001",
    "type": "message",
    "role": "assistant",
    "model": "claude-haiku-4-5-20251001",
}
_ANTHROPIC_USAGE = {
    "input_tokens": 21,
    "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": 0,
    "output_tokens": 3,
    "service_tier": "standard",
}


def _anthropic_message() -> bytes:
    body = {
        **_ANTHROPIC_MESSAGE,
        "content": [{"type": "text", "text": "Hello there."}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": _ANTHROPIC_USAGE,
    }
    return json.dumps(body).encode()


def _anthropic_stream(content_chunks: int) -> bytes:
    """message_start, a text block (start, ping, deltas, stop), message_delta with the usage, message_stop."""
    start: dict[str, Any] = {
        **_ANTHROPIC_MESSAGE,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**_ANTHROPIC_USAGE, "output_tokens": 1},
    }
    delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": " there"}}
    parts = [
        _sse({"type": "message_start", "message": start}, "message_start"),
        _sse(
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            "content_block_start",
        ),
        _sse({"type": "ping"}, "ping"),
        *(_sse(delta, "content_block_delta") for _ in range(content_chunks)),
        _sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
        _sse(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {key: value for key, value in _ANTHROPIC_USAGE.items() if key != "service_tier"},
            },
            "message_delta",
        ),
        _sse({"type": "message_stop"}, "message_stop"),
    ]
    return b"".join(parts)


ANTHROPIC = Provider(
    name="anthropic",
    title="Anthropic",
    base_url="https://api.anthropic.com",
    address="api.anthropic.com",
    model="claude-haiku-4-5",
    response_model=_ANTHROPIC_MESSAGE["model"],
    # anthropic 2.x takes no sampling parameters: max_tokens and stop_sequences are the request attributes.
    request={
        "model": "claude-haiku-4-5",
        "system": "You are a terse assistant.",
        "messages": [{"role": "user", "content": "Say hello."}],
        "max_tokens": 64,
        "stop_sequences": ["###"],
    },
    clients=("Anthropic", "AsyncAnthropic"),
    method="messages.create",
    target=("anthropic.resources.messages", "Messages", "AsyncMessages"),
    completion_body=_anthropic_message,
    stream_body=_anthropic_stream,
    request_id_header="request-id",
    client_options=_api_client,
)


# --- Ollama: chat -----------------------------------------------------------------------------------

_OLLAMA_HEAD = {"model": "llama3.2", "created_at": "2026-01-01T00:00:00.000000Z"}
_OLLAMA_DONE = {
    "done": True,
    "done_reason": "stop",
    "total_duration": 250_000_000,
    "load_duration": 2_000_000,
    "prompt_eval_count": 21,
    "prompt_eval_duration": 20_000_000,
    "eval_count": 3,
    "eval_duration": 30_000_000,
}


def _ollama_line(content: str, done: dict[str, Any] | None = None) -> bytes:
    body = {**_OLLAMA_HEAD, "message": {"role": "assistant", "content": content}, **(done or {"done": False})}
    return json.dumps(body).encode() + b"\n"


def _ollama_stream(content_chunks: int) -> bytes:
    """One NDJSON line per token, then the done line with the counts (Ollama's stream)."""
    parts = [_ollama_line("Hello"), *(_ollama_line(" there") for _ in range(content_chunks - 1))]
    return b"".join([*parts, _ollama_line("", _OLLAMA_DONE)])


OLLAMA = Provider(
    name="ollama",
    title="Ollama",
    base_url="http://localhost:11434",
    address="localhost",
    port=11434,
    model="llama3.2",
    response_model="llama3.2",
    request={
        "model": "llama3.2",
        "messages": _MESSAGES,
        "options": {"temperature": 0.2, "top_p": 0.9, "num_predict": 64},
    },
    clients=("Client", "AsyncClient"),
    method="chat",
    target=("ollama._client", "Client", "AsyncClient"),
    completion_body=lambda: _ollama_line("Hello there.", _OLLAMA_DONE).strip(),
    stream_body=_ollama_stream,
    request_id_header=None,  # Ollama sends none
    client_options=_ollama_client,
    http="httpx",
    stream_type="application/x-ndjson",
)


# --- Mistral: chat --------------------------------------------------------------------------------

_MISTRAL_HEAD = {"id": "cmpl-bench0001", "created": 1_700_000_000, "model": "mistral-small-2506"}
_MISTRAL_USAGE = {"prompt_tokens": 21, "completion_tokens": 3, "total_tokens": 24}


def _mistral_completion() -> bytes:
    message = {"role": "assistant", "content": "Hello there.", "tool_calls": None, "prefix": False}
    choices = [{"index": 0, "message": message, "finish_reason": "stop"}]
    return json.dumps(
        {**_MISTRAL_HEAD, "object": "chat.completion", "usage": _MISTRAL_USAGE, "choices": choices}
    ).encode()


def _mistral_stream(content_chunks: int) -> bytes:
    """A role chunk carrying the first token, more tokens, a finish chunk with the usage, [DONE]."""

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        body = {**_MISTRAL_HEAD, "object": "chat.completion.chunk"}
        body["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}]
        return _sse({**body, "usage": _MISTRAL_USAGE} if finish else body)

    parts = [chunk({"role": "assistant", "content": "Hello"})]
    parts += [chunk({"content": " there"}) for _ in range(content_chunks - 1)]
    parts += [chunk({"content": ""}, "stop"), b"data: [DONE]\n\n"]
    return b"".join(parts)


def _mistral_client(base_url: str, http: Any, transport: Any, is_async: bool) -> dict[str, Any]:
    """mistralai's: one client class taking a sync and an async HTTP client; no retries by default."""
    client = (http.AsyncClient if is_async else http.Client)(transport=transport)
    return {"api_key": "bench", "server_url": base_url, "async_client" if is_async else "client": client}


MISTRAL = Provider(
    name="mistralai",
    title="Mistral",
    base_url="https://api.mistral.ai",
    address="api.mistral.ai",
    model="mistral-small-latest",
    response_model=_MISTRAL_HEAD["model"],
    request={"model": "mistral-small-latest", "messages": _MESSAGES, **_SAMPLING},
    clients=("Mistral", "Mistral"),
    method="chat.complete",
    target=("mistralai.client.chat", "Chat", "Chat"),
    completion_body=_mistral_completion,
    stream_body=_mistral_stream,
    request_id_header="mistral-correlation-id",
    client_options=_mistral_client,
    module="mistralai.client",
    provider_name="mistral_ai",
    async_suffix="_async",
    stream_method="chat.stream",
)


# --- Cohere: v2 chat ------------------------------------------------------------------------------

_COHERE_TOKENS = {"input_tokens": 21, "output_tokens": 3}
_COHERE_USAGE = {"billed_units": _COHERE_TOKENS, "tokens": {"input_tokens": 33, "output_tokens": 3}}


def _cohere_completion() -> bytes:
    message = {"role": "assistant", "content": [{"type": "text", "text": "Hello there."}]}
    body = {"id": "bench-0001", "message": message, "finish_reason": "COMPLETE", "usage": _COHERE_USAGE}
    return json.dumps(body).encode()


def _cohere_stream(content_chunks: int) -> bytes:
    """message-start, a text item (start, deltas, end), message-end with the finish reason and usage."""

    def event(kind: str, body: dict[str, Any]) -> bytes:
        return _sse({"type": kind, **body}, kind)

    start = {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}
    delta = {"index": 0, "delta": {"message": {"content": {"text": " there"}}}}
    parts = [
        event("message-start", {"id": "bench-0001", "delta": {"message": start}}),
        event("content-start", {"index": 0, "delta": {"message": {"content": {"type": "text", "text": ""}}}}),
        *(event("content-delta", delta) for _ in range(content_chunks)),
        event("content-end", {"index": 0}),
        event("message-end", {"delta": {"finish_reason": "COMPLETE", "usage": _COHERE_USAGE}}),
    ]
    return b"".join(parts)


def _cohere_client(base_url: str, http: Any, transport: Any, is_async: bool) -> dict[str, Any]:
    """cohere's: an API key, the base URL and an httpx client on the mock (whose 200s it never retries)."""
    client = (http.AsyncClient if is_async else http.Client)(transport=transport)
    return {"api_key": "bench", "base_url": base_url, "httpx_client": client}


COHERE = Provider(
    name="cohere",
    title="Cohere",
    base_url="https://api.cohere.com",
    address="api.cohere.com",
    model="command-a-03-2025",
    response_model="",  # Cohere's replies name no model
    request={
        "model": "command-a-03-2025",
        "messages": _MESSAGES,
        "temperature": 0.2,
        "p": 0.9,
        "max_tokens": 64,
    },
    clients=("ClientV2", "AsyncClientV2"),
    method="chat",
    target=("cohere.v2.raw_client", "RawV2Client", "AsyncRawV2Client"),
    completion_body=_cohere_completion,
    stream_body=_cohere_stream,
    request_id_header="x-debug-trace-id",
    client_options=_cohere_client,
    http="httpx",
    stream_method="chat_stream",
)

# --- Bedrock: converse ----------------------------------------------------------------------------

_BEDROCK_MODEL = "us.amazon.nova-lite-v1:0"
_BEDROCK_USAGE = {"inputTokens": 21, "outputTokens": 3, "totalTokens": 24}


def _bedrock_completion() -> bytes:
    message = {"role": "assistant", "content": [{"text": "Hello there."}]}
    body = {"output": {"message": message}, "stopReason": "end_turn", "usage": _BEDROCK_USAGE}
    return json.dumps({**body, "metrics": {"latencyMs": 250}}).encode()


def _bedrock_stream(content_chunks: int) -> bytes:
    """messageStart, one delta per token, contentBlockStop, messageStop, metadata with the usage."""
    from llm_otel.fake._eventstream import event

    def frame(name: str, payload: dict[str, Any]) -> bytes:
        return event(name, json.dumps(payload).encode())

    delta = frame("contentBlockDelta", {"delta": {"text": " there"}, "contentBlockIndex": 0})
    parts = [frame("messageStart", {"role": "assistant"}), *(delta for _ in range(content_chunks))]
    parts += [frame("contentBlockStop", {"contentBlockIndex": 0}), frame("messageStop", {"stopReason": "end_turn"})]
    parts.append(frame("metadata", {"usage": _BEDROCK_USAGE, "metrics": {"latencyMs": 250}}))
    return b"".join(parts)


class _CannedRaw:
    """What botocore reads a response from (urllib3's response, in its place): the canned bytes."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_kwargs: Any) -> Any:
        yield self.body

    def read(self, amount: int | None = None) -> bytes:
        body, self.body = self.body, b""
        return body

    def close(self) -> None:
        """Nothing to release."""


@dataclass(frozen=True)
class BotocoreProvider(Provider):
    """A botocore client per canned body, answered by its ``before-send`` event (no urllib3, no socket)."""

    def make_clients(self) -> dict[str, Any]:
        import botocore.session
        from botocore.awsrequest import AWSResponse

        session = botocore.session.get_session()
        bodies = {
            "call": (self.completion_body(), "application/json"),
            "stream_1": (self.stream_body(1), self.stream_type),
            "stream_201": (self.stream_body(LONG_STREAM), self.stream_type),
        }
        clients: dict[str, Any] = {}
        for name, (body, content_type) in bodies.items():
            client = session.create_client(
                "bedrock-runtime", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
            )
            headers = {"content-type": content_type, "x-amzn-RequestId": "req-bench"}

            def answer(request: Any, body: bytes = body, headers: dict[str, str] = headers, **_kwargs: Any) -> Any:
                return AWSResponse(request.url, 200, headers, _CannedRaw(body))

            client.meta.events.register("before-send.bedrock-runtime", answer)
            clients[name] = clients[f"{name}_async"] = client
        return clients


BEDROCK = BotocoreProvider(
    name="botocore",
    title="Bedrock (botocore)",
    base_url="https://bedrock-runtime.us-east-1.amazonaws.com",
    address="bedrock-runtime.us-east-1.amazonaws.com",
    model=_BEDROCK_MODEL,
    response_model="",
    request={
        "modelId": _BEDROCK_MODEL,
        "system": [{"text": "You are a terse assistant."}],
        "messages": [{"role": "user", "content": [{"text": "Say hello."}]}],
        "inferenceConfig": {"temperature": 0.2, "topP": 0.9, "maxTokens": 64},
    },
    clients=("", ""),
    method="converse",
    target=("botocore.client", "BaseClient", "BaseClient"),
    completion_body=_bedrock_completion,
    stream_body=_bedrock_stream,
    request_id_header="x-amzn-RequestId",
    client_options=_api_client,  # unused: make_clients builds botocore clients
    stream_type="application/vnd.amazon.eventstream",
    provider_name="aws.bedrock",
    stream_method="converse_stream",
    stream_key="stream",
    sync_only=True,
)

# --- Google GenAI: models.generate_content ----------------------------------------------------------

_GEMINI_HEAD = {"modelVersion": "gemini-2.5-flash", "responseId": "bench0001"}


def _gemini_usage(candidates: int) -> dict[str, Any]:
    details = [{"modality": "TEXT", "tokenCount": 21}]
    return {
        "promptTokenCount": 21,
        "candidatesTokenCount": candidates,
        "totalTokenCount": 21 + candidates,
        "promptTokensDetails": details,
    }


def _gemini_chunk(text: str, finish: str | None, candidates: int) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return {"candidates": [candidate], "usageMetadata": _gemini_usage(candidates), **_GEMINI_HEAD}


def _gemini_stream(content_chunks: int) -> bytes:
    """A chunk per token, each with the usage so far, the last with the finish reason; no terminator."""
    texts = ["Hello", *([" there"] * (content_chunks - 1))]
    last = len(texts) - 1
    return b"".join(
        b"data: " + json.dumps(_gemini_chunk(text, "STOP" if i == last else None, i + 1)).encode() + b"\r\n\r\n"
        for i, text in enumerate(texts)
    )


def _gemini_client(base_url: str, http: Any, transport: Any, is_async: bool) -> dict[str, Any]:
    """google-genai's: an API key and http_options naming the base URL and an HTTP client on the mock."""
    client = (http.AsyncClient if is_async else http.Client)(transport=transport)
    option = "httpx_async_client" if is_async else "httpx_client"
    return {"api_key": "bench", "http_options": {"base_url": base_url, option: client}}


GEMINI = Provider(
    name="google-genai",
    title="Google GenAI",
    base_url="https://generativelanguage.googleapis.com/",
    address="generativelanguage.googleapis.com",
    model="gemini-2.5-flash",
    response_model=_GEMINI_HEAD["modelVersion"],
    request={
        "model": "gemini-2.5-flash",
        "contents": "Say hello.",
        "config": {
            "system_instruction": "You are a terse assistant.",
            "temperature": 0.2,
            "top_p": 0.9,
            "max_output_tokens": 64,
        },
    },
    clients=("Client", "Client"),
    method="models.generate_content",
    target=("google.genai.models", "Models", "AsyncModels"),
    completion_body=lambda: json.dumps(_gemini_chunk("Hello there.", "STOP", 3)).encode(),
    stream_body=_gemini_stream,
    request_id_header=None,  # Google's front ends send none
    client_options=_gemini_client,
    http="httpx",
    module="google.genai",
    provider_name="gcp.gemini",
    stream_method="models.generate_content_stream",
    async_attribute="aio",
)

PROVIDERS = {provider.name: provider for provider in (OPENAI, ANTHROPIC, OLLAMA, MISTRAL, COHERE, BEDROCK, GEMINI)}
