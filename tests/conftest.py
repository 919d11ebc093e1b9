"""Shared fixtures: the fake provider, real OTel SDK providers with in-memory readers, SDK clients.

Most tests are written once as ``async def`` and run for both the sync and the async client:
``api.call`` awaits only what the async client returns.
"""

from __future__ import annotations

import contextlib
import gc
import inspect
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import openai
import pytest
import wrapt
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, NumberDataPoint
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llm_otel.fake import Behavior, FakeProvider
from llm_otel.providers.openai import OpenAIInstrumentor

MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "say hello to the test suite"}]  # 6 input tokens
# One function tool, in the shape OpenAI, Mistral and Ollama share.
# Content capture: the conventions' content attributes, and the one-message exchange most tests make.
CONTENT_KEYS = (
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.tool.definitions",
)
HI = [{"role": "user", "content": "hi"}]
HI_IN = [{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]
REPLY = "This is a."  # what the fake provider answers with three output tokens
FULL_REPLY = "This is a deterministic reply from the fake provider with one token."  # its default answer
REPLY_OUT = [{"role": "assistant", "parts": [{"type": "text", "content": REPLY}], "finish_reason": "stop"}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather of a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }
]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Move what importing the SDKs and test modules created out of the collector's sight.

    Tests call gc.collect() to finalize abandoned streams; with both SDKs loaded a full collection
    scans ~1e6 long-lived objects (~125 ms), which was most of the suite's run time. Objects created
    later, the streams under test among them, are collected as before.
    """
    gc.collect()
    gc.freeze()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def fake() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider


@pytest.fixture(autouse=True)
def _fresh_fake(request: pytest.FixtureRequest) -> None:
    if "fake" in request.fixturenames:
        request.getfixturevalue("fake").reset()


@dataclass
class Recorded:
    """What the real OTel SDK received: finished spans and collected metric points."""

    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader
    tracer_provider: TracerProvider
    meter_provider: MeterProvider

    def spans(self) -> list[ReadableSpan]:
        gc.collect()  # abandoned streams end their spans when collected
        return list(self.exporter.get_finished_spans())

    def attributes(self) -> dict[str, Any]:
        """The one finished span's attributes."""
        return dict(self.span().attributes or {})

    def content(self, index: int | None = None) -> dict[str, Any]:
        """The content attributes of the one finished span (or of ``spans()[index]``), decoded."""
        span = self.span() if index is None else self.spans()[index]
        attrs = span.attributes or {}
        return {key: json.loads(str(attrs[key])) for key in CONTENT_KEYS if key in attrs}

    def span(self) -> ReadableSpan:
        spans = self.spans()
        assert len(spans) == 1, [s.name for s in spans]
        return spans[0]

    def points(self, name: str) -> list[HistogramDataPoint | NumberDataPoint]:
        data = self.reader.get_metrics_data()
        found: list[HistogramDataPoint | NumberDataPoint] = []
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        found.extend(metric.data.data_points)
        return found

    def point(self, name: str, **attrs: Any) -> HistogramDataPoint | NumberDataPoint:
        """The one point of ``name`` whose attributes include ``attrs`` (dots spelled ``__``)."""
        wanted = {key.replace("__", "."): value for key, value in attrs.items()}
        matches = [p for p in self.points(name) if wanted.items() <= dict(p.attributes or {}).items()]
        assert len(matches) == 1, (name, wanted, [dict(p.attributes or {}) for p in self.points(name)])
        return matches[0]


def make_recorded(**tracer_kwargs: Any) -> Recorded:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider(**tracer_kwargs)
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    return Recorded(exporter, reader, tracer_provider, MeterProvider(metric_readers=[reader]))


def instrumenting(instrumentor: Any) -> Iterator[Callable[..., Recorded]]:
    """Yield a function instrumenting with fresh (or given) providers and options; undo it afterwards."""

    def instrument(recorded: Recorded | None = None, **options: Any) -> Recorded:
        recorded = recorded or make_recorded()
        instrumentor.instrument(
            tracer_provider=recorded.tracer_provider, meter_provider=recorded.meter_provider, **options
        )
        return recorded

    yield instrument
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()


class Spy:
    """Records what the SDK's own request method returned or raised, beneath our wrapper."""

    def __init__(self) -> None:
        self.returned: Any = None
        self.raised: BaseException | None = None

    def sync(self, wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        try:
            self.returned = wrapped(*args, **kwargs)
        except BaseException as exc:
            self.raised = exc
            raise
        return self.returned

    async def asynchronous(self, wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        try:
            self.returned = await wrapped(*args, **kwargs)
        except BaseException as exc:
            self.raised = exc
            raise
        return self.returned


def spying(base_client: Any) -> Iterator[Spy]:
    """Spy on the request method of a generated SDK's ``_base_client`` module, then restore it."""
    spy = Spy()
    wrapt.wrap_function_wrapper(base_client, "SyncAPIClient.request", spy.sync)
    wrapt.wrap_function_wrapper(base_client, "AsyncAPIClient.request", spy.asynchronous)
    yield spy
    for name in ("SyncAPIClient", "AsyncAPIClient"):
        cls = getattr(base_client, name)
        cls.request = cls.request.__wrapped__


@pytest.fixture
def otel_with() -> Iterator[Callable[..., Recorded]]:
    """Instrument OpenAI with fresh providers and the given instrumentor options."""
    yield from instrumenting(OpenAIInstrumentor())


@pytest.fixture
def otel(otel_with: Callable[..., Recorded]) -> Recorded:
    return otel_with()


@pytest.fixture(autouse=True)
def _spans_end_once(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail any test in which a span was ended twice or our code reported an internal error."""
    with caplog.at_level(logging.WARNING):
        yield
    gc.collect()
    records = [r for when in ("setup", "call", "teardown") for r in caplog.get_records(when)]  # type: ignore[arg-type]
    bad = [
        r.getMessage() for r in records if "on an ended span" in r.getMessage() or "internal error" in r.getMessage()
    ]
    assert not bad, bad


class Api:
    """A sync or async openai client on the fake provider, driven through one interface."""

    def __init__(self, mode: str, base_url: str, **client_kwargs: Any) -> None:
        self.mode = mode
        cls = openai.AsyncOpenAI if mode == "async" else openai.OpenAI
        self.client: Any = cls(base_url=base_url, api_key="test-key", max_retries=0, **client_kwargs)

    def method(self, path: str) -> Any:
        target: Any = self.client
        for part in path.split("."):
            target = getattr(target, part)
        return target

    async def call(self, path: str, *args: Any, **kwargs: Any) -> Any:
        result = self.method(path)(*args, **kwargs)
        return await result if inspect.isawaitable(result) else result

    @contextlib.asynccontextmanager
    async def call_manager(self, path: str, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        """Enter the (sync or async) context manager a method returns, e.g. ``with_streaming_response``."""
        manager = self.method(path)(*args, **kwargs)
        if hasattr(manager, "__aenter__"):
            async with manager as entered:
                yield entered
        else:
            with manager as entered:
                yield entered

    async def chat(self, behavior: Behavior | None = None, **kwargs: Any) -> Any:
        kwargs.setdefault("model", MODEL)
        kwargs.setdefault("messages", MESSAGES)
        if behavior is not None:
            kwargs["extra_headers"] = behavior.header()
        return await self.call("chat.completions.create", **kwargs)


def http_module() -> Any:
    """The HTTP library this openai release speaks through (httpx2 for 3.x, httpx before)."""
    url_type = type(openai.OpenAI(api_key="k").base_url)
    return __import__(url_type.__module__.partition(".")[0])


def chat_helpers(client: Any) -> Any:
    """Where ``parse``/``stream`` live: ``chat.completions`` today, ``beta.chat.completions`` in openai 1.x."""
    completions = client.chat.completions
    return completions if hasattr(completions, "stream") else client.beta.chat.completions


async def drain(stream: Any) -> list[Any]:
    """Iterate a sync or async stream to its end."""
    if hasattr(stream, "__aiter__"):
        return [chunk async for chunk in stream]
    return list(stream)


async def first(stream: Any) -> Any:
    if hasattr(stream, "__aiter__"):
        return await stream.__anext__()
    return next(stream)


async def maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


@pytest.fixture(params=["sync", "async"])
async def api(request: pytest.FixtureRequest, fake: FakeProvider) -> AsyncIterator[Api]:
    built = Api(request.param, fake.openai_base_url)
    yield built
    await maybe_await(built.client.close())  # inside the test's event loop, which closes next


# --- Anthropic ------------------------------------------------------------------------------------

CLAUDE = "claude-fake-1"


@pytest.fixture
def anthropic_otel_with() -> Iterator[Callable[..., Recorded]]:
    """Instrument Anthropic with fresh providers and the given instrumentor options."""
    from llm_otel.providers.anthropic import AnthropicInstrumentor

    yield from instrumenting(AnthropicInstrumentor())


@pytest.fixture
def anthropic_otel(anthropic_otel_with: Callable[..., Recorded]) -> Recorded:
    return anthropic_otel_with()


class Claude(Api):
    """A sync or async anthropic client on the fake provider, driven through one interface."""

    def __init__(self, mode: str, base_url: str, **client_kwargs: Any) -> None:
        import anthropic

        self.mode = mode
        cls = anthropic.AsyncAnthropic if mode == "async" else anthropic.Anthropic
        self.client = cls(base_url=base_url, api_key="test-key", max_retries=0, **client_kwargs)

    async def chat(self, behavior: Behavior | None = None, **kwargs: Any) -> Any:
        return await self.call("messages.create", **claude_kwargs(behavior, **kwargs))


def claude_kwargs(behavior: Behavior | None = None, **kwargs: Any) -> dict[str, Any]:
    """A Messages request with the suite's defaults (6 input tokens) and an optional behaviour."""
    kwargs.setdefault("model", CLAUDE)
    kwargs.setdefault("max_tokens", 100)
    kwargs.setdefault("messages", MESSAGES)
    if behavior is not None:
        kwargs["extra_headers"] = behavior.header()
    return kwargs


@pytest.fixture(params=["sync", "async"])
async def claude(request: pytest.FixtureRequest, fake: FakeProvider) -> AsyncIterator[Claude]:
    built = Claude(request.param, fake.url)
    yield built
    await maybe_await(built.client.close())


# --- resilience ---------------------------------------------------------------------------------
class ManualClock:
    """Monotonic time that moves only when a test advances it or the code under test sleeps."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def fresh_breakers() -> Iterator[None]:
    """No breaker or resilient call count carried over from another test."""
    from llm_otel.resilience import clear_breakers

    clear_breakers()
    yield
    clear_breakers()


# --- cardinality guard ----------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _fresh_attribute_bounds() -> Iterator[None]:
    """Every test starts with the default cap and no values seen (the bounds are process-wide)."""
    from llm_otel.telemetry._cardinality import DEFAULT_LIMIT, set_attribute_value_limit

    set_attribute_value_limit(DEFAULT_LIMIT)
    yield
    set_attribute_value_limit(DEFAULT_LIMIT)


# --- message content ------------------------------------------------------------------------------
@dataclass
class ContentCapture:
    """Turns content capture on for a test, with its events sent to an in-memory log exporter."""

    exporter: Any
    provider: Any

    def __call__(self, mode: str, **options: Any) -> None:
        from llm_otel import set_content_capture

        set_content_capture(mode, logger_provider=self.provider, **options)

    def events(self) -> list[Any]:
        gc.collect()  # abandoned streams emit their event when collected
        return [data.log_record for data in self.exporter.get_finished_logs()]


@pytest.fixture
def capture() -> Iterator[ContentCapture]:
    """Content capture as a test sets it (off until called); back to off afterwards."""
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

    from llm_otel import set_content_capture

    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    set_content_capture("NO_CONTENT", logger_provider=provider)
    yield ContentCapture(exporter, provider)
    set_content_capture("NO_CONTENT")
    provider.shutdown()


# --- Ollama ---------------------------------------------------------------------------------------

LLAMA = "llama3.2"


@pytest.fixture
def ollama_otel_with() -> Iterator[Callable[..., Recorded]]:
    """Instrument Ollama with fresh providers and the given instrumentor options."""
    from llm_otel.providers.ollama import OllamaInstrumentor

    yield from instrumenting(OllamaInstrumentor())


@pytest.fixture
def ollama_otel(ollama_otel_with: Callable[..., Recorded]) -> Recorded:
    return ollama_otel_with()


class Llama(Api):
    """A sync or async ollama client on the fake provider, driven through one interface.

    The ollama client takes no per-call headers: a test scripts a behaviour with ``fake.push``.
    """

    def __init__(self, mode: str, host: str, **client_kwargs: Any) -> None:
        import ollama

        self.mode = mode
        cls = ollama.AsyncClient if mode == "async" else ollama.Client
        self.client = cls(host=host, **client_kwargs)

    async def chat(self, behavior: Behavior | None = None, **kwargs: Any) -> Any:
        assert behavior is None, "push behaviours to the fake provider"
        kwargs.setdefault("model", LLAMA)
        kwargs.setdefault("messages", MESSAGES)
        return await self.call("chat", **kwargs)


@pytest.fixture(params=["sync", "async"])
async def llama(request: pytest.FixtureRequest, fake: FakeProvider) -> AsyncIterator[Llama]:
    built = Llama(request.param, fake.url)
    yield built
    await maybe_await(built.client._client.aclose() if built.mode == "async" else built.client._client.close())


# --- Mistral --------------------------------------------------------------------------------------

MISTRAL_MODEL = "mistral-small-latest"


@pytest.fixture
def mistral_otel_with() -> Iterator[Callable[..., Recorded]]:
    """Instrument Mistral with fresh providers and the given instrumentor options."""
    from llm_otel.providers.mistral import MistralInstrumentor

    yield from instrumenting(MistralInstrumentor())


@pytest.fixture
def mistral_otel(mistral_otel_with: Callable[..., Recorded]) -> Recorded:
    return mistral_otel_with()


class MistralApi(Api):
    """A mistralai client on the fake provider, driven through its sync or its ``_async`` methods."""

    def __init__(self, mode: str, server_url: str, **client_kwargs: Any) -> None:
        try:
            from mistralai.client import Mistral
        except ImportError:  # 1.x
            from mistralai import Mistral

        self.mode = mode
        self.client = Mistral(api_key="test-key", server_url=server_url, **client_kwargs)

    def method(self, path: str) -> Any:
        return super().method(path + "_async" if self.mode == "async" else path)

    async def chat(self, behavior: Behavior | None = None, *, method: str = "chat.complete", **kwargs: Any) -> Any:
        kwargs.setdefault("model", MISTRAL_MODEL)
        kwargs.setdefault("messages", MESSAGES)
        if behavior is not None:
            kwargs["http_headers"] = behavior.header()
        return await self.call(method, **kwargs)

    async def stream(self, behavior: Behavior | None = None, **kwargs: Any) -> Any:
        return await self.chat(behavior, method="chat.stream", **kwargs)


@pytest.fixture(params=["sync", "async"])
def mistral(request: pytest.FixtureRequest, fake: FakeProvider) -> MistralApi:
    return MistralApi(request.param, fake.mistral_server_url)


# --- Cohere ---------------------------------------------------------------------------------------

COHERE_MODEL = "command-a-03-2025"


@pytest.fixture
def cohere_otel_with() -> Iterator[Callable[..., Recorded]]:
    """Instrument Cohere with fresh providers and the given instrumentor options."""
    from llm_otel.providers.cohere import CohereInstrumentor

    yield from instrumenting(CohereInstrumentor())


@pytest.fixture
def cohere_otel(cohere_otel_with: Callable[..., Recorded]) -> Recorded:
    return cohere_otel_with()


class CohereApi(Api):
    """A cohere ``ClientV2`` or ``AsyncClientV2`` on the fake provider, driven through one interface.

    The SDK retries 429s and 5xx on its own (twice by default in recent releases): every call here asks for no retries.
    """

    def __init__(self, mode: str, base_url: str, **client_kwargs: Any) -> None:
        import cohere

        self.mode = mode
        cls = cohere.AsyncClientV2 if mode == "async" else cohere.ClientV2
        self.client = cls(api_key="test-key", base_url=base_url, **client_kwargs)

    async def chat(self, behavior: Behavior | None = None, *, method: str = "chat", **kwargs: Any) -> Any:
        kwargs.setdefault("model", COHERE_MODEL)
        kwargs.setdefault("messages", MESSAGES)
        return await self.call(method, **cohere_options(behavior, **kwargs))

    async def stream(self, behavior: Behavior | None = None, **kwargs: Any) -> Any:
        """``chat_stream``'s (async) generator, which sends its request only when first read."""
        return await self.chat(behavior, method="chat_stream", **kwargs)

    async def embed(self, behavior: Behavior | None = None, **kwargs: Any) -> Any:
        kwargs.setdefault("model", "embed-v4.0")
        kwargs.setdefault("input_type", "search_document")
        kwargs.setdefault("embedding_types", ["float"])
        return await self.call("embed", **cohere_options(behavior, **kwargs))

    async def aclose(self) -> None:
        http = self.client._client_wrapper.httpx_client.httpx_client
        await maybe_await(http.aclose() if self.mode == "async" else http.close())


def cohere_options(behavior: Behavior | None = None, **kwargs: Any) -> dict[str, Any]:
    """A call's keywords with ``request_options``: no retries, and the behaviour's header if any."""
    options: dict[str, Any] = {"max_retries": 0}
    if behavior is not None:
        options["additional_headers"] = behavior.header()
    return {**kwargs, "request_options": options}


@pytest.fixture(params=["sync", "async"])
async def co(request: pytest.FixtureRequest, fake: FakeProvider) -> AsyncIterator[CohereApi]:
    built = CohereApi(request.param, fake.url)
    yield built
    await built.aclose()


# --- Bedrock --------------------------------------------------------------------------------------

NOVA = "amazon.nova-lite-v1:0"
CONVERSE_MESSAGES = [{"role": "user", "content": [{"text": "say hello to the test suite"}]}]  # 6 input tokens


@pytest.fixture
def bedrock_otel_with() -> Iterator[Callable[..., Recorded]]:
    """Instrument Bedrock with fresh providers and the given instrumentor options."""
    from llm_otel.providers.bedrock import BedrockInstrumentor

    yield from instrumenting(BedrockInstrumentor())


@pytest.fixture
def bedrock_otel(bedrock_otel_with: Callable[..., Recorded]) -> Recorded:
    return bedrock_otel_with()


def bedrock_client(url: str, service: str = "bedrock-runtime", **config: Any) -> Any:
    """A botocore client on the fake provider: dummy credentials sign offline; no retries, so that an
    injected error reaches the caller at once; ``config``: more of botocore's ``Config``."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="test-key",
        aws_secret_access_key="test-secret",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}, **config),
    )


@pytest.fixture
def bedrock(fake: FakeProvider) -> Any:
    return bedrock_client(fake.url)


# --- Google GenAI ---------------------------------------------------------------------------------

GEMINI_MODEL = "gemini-2.5-flash"
PROMPT = "say hello to the test suite"  # 6 input tokens
# The suite's function tool, as a Gemini function declaration.
GEMINI_TOOLS = [{"function_declarations": [dict(TOOLS[0]["function"])]}]


@pytest.fixture
def gemini_otel_with() -> Iterator[Callable[..., Recorded]]:
    """Instrument google-genai with fresh providers and the given instrumentor options."""
    from llm_otel.providers.google_genai import GoogleGenAIInstrumentor

    yield from instrumenting(GoogleGenAIInstrumentor())


@pytest.fixture
def gemini_otel(gemini_otel_with: Callable[..., Recorded]) -> Recorded:
    return gemini_otel_with()


class GeminiApi(Api):
    """A google-genai client on the fake provider, driven through ``client.models`` or ``client.aio.models``.

    A behaviour rides on the call's ``config.http_options`` headers, as a caller's own headers would.
    """

    def __init__(self, mode: str, base_url: str, **client_kwargs: Any) -> None:
        from google import genai
        from google.genai import _api_client

        # "async" speaks through httpx, "aiohttp" through aiohttp, which the SDK prefers when installed.
        aiohttp = getattr(_api_client, "has_aiohttp", False)
        if mode == "aiohttp" and not aiohttp:
            pytest.skip("this release's async client speaks through httpx only")
        options: dict[str, Any] = {"base_url": base_url}
        if mode == "async" and aiohttp:  # a transport of one's own makes the SDK keep to httpx
            options["async_client_args"] = {"transport": httpx.AsyncHTTPTransport()}
        self.mode = "sync" if mode == "sync" else "async"
        client_kwargs.setdefault("api_key", "test-key")
        self.sync_client = genai.Client(http_options=options, **client_kwargs)
        self.client = self.sync_client if mode == "sync" else self.sync_client.aio

    async def close(self) -> None:
        """Close the async HTTP client (releases before ``aio.aclose()`` hold only httpx's)."""
        aclose = getattr(self.sync_client.aio, "aclose", None)
        if aclose is not None:
            await aclose()
        else:
            await self.sync_client._api_client._async_httpx_client.aclose()

    async def generate(
        self, behavior: Behavior | None = None, *, method: str = "models.generate_content", **kwargs: Any
    ) -> Any:
        kwargs.setdefault("model", GEMINI_MODEL)
        kwargs.setdefault("contents", PROMPT)
        if behavior is not None:
            kwargs["config"] = {**(kwargs.get("config") or {}), "http_options": {"headers": behavior.header()}}
        return await self.call(method, **kwargs)

    async def stream(self, behavior: Behavior | None = None, **kwargs: Any) -> Any:
        return await self.generate(behavior, method="models.generate_content_stream", **kwargs)


@pytest.fixture
async def make_gemini() -> AsyncIterator[Callable[..., GeminiApi]]:
    """Make google-genai clients; their async HTTP clients are closed in the test's event loop.

    Every client opens one at construction, and releases before ``aclose()`` close it from
    ``__del__``, on whatever loop runs then: a later test's, where it fails.
    """
    made: list[GeminiApi] = []

    def make(mode: str, base_url: str, **client_kwargs: Any) -> GeminiApi:
        made.append(GeminiApi(mode, base_url, **client_kwargs))
        return made[-1]

    yield make
    for api in made:
        await api.close()


@pytest.fixture(params=["sync", "async", "aiohttp"])
def gemini(request: pytest.FixtureRequest, fake: FakeProvider, make_gemini: Callable[..., GeminiApi]) -> GeminiApi:
    return make_gemini(request.param, fake.url)
