"""Tracer and metric instruments, created once per provider pair and shared by every instrumentor."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from opentelemetry import metrics, trace
from opentelemetry.metrics import Histogram, MeterProvider
from opentelemetry.trace import TracerProvider

from llm_otel._version import __version__

from . import _names as n
from ._ledger import Ledger

if TYPE_CHECKING:
    from ._record import Attributes, Outcome

_SCHEMA_URL = "https://opentelemetry.io/schemas/1.37.0"


class Instruments:
    """The metric instruments of one MeterProvider, in the naming chosen by ``_names``."""

    __slots__ = (
        "_duration",
        "_embeddings_duration",
        "_embeddings_input_tokens",
        "_input_tokens",
        "_output_tokens",
        "_usage",
        "ledger",
        "time_per_chunk",
        "time_to_first_chunk",
        "token_usage",
    )

    def __init__(self, meter_provider: MeterProvider) -> None:
        meter = metrics.get_meter(n.INSTRUMENTATION_SCOPE, __version__, meter_provider, _SCHEMA_URL)

        def histogram(name: str, unit: str, description: str, buckets: tuple[float, ...]) -> Histogram:
            return meter.create_histogram(
                name, unit=unit, description=description, explicit_bucket_boundaries_advisory=buckets
            )

        duration = histogram(n.CLIENT_OPERATION_DURATION, "s", "GenAI operation duration.", n.DURATION_BUCKETS)
        embeddings = (
            histogram(n.CLIENT_EMBEDDINGS_DURATION, "s", "GenAI embeddings duration.", n.DURATION_BUCKETS)
            if n.CLIENT_EMBEDDINGS_DURATION != n.CLIENT_OPERATION_DURATION
            else duration
        )
        self._duration = duration
        self._embeddings_duration = embeddings
        self.time_to_first_chunk = histogram(
            n.CLIENT_TIME_TO_FIRST_CHUNK,
            "s",
            "Time from issuing the request to receiving the first chunk of the response stream.",
            n.TIME_TO_FIRST_CHUNK_BUCKETS,
        )
        self.time_per_chunk = histogram(
            n.CLIENT_TIME_PER_OUTPUT_CHUNK,
            "s",
            "Time between consecutive chunks of a response stream, after the first.",
            n.TIME_PER_OUTPUT_CHUNK_BUCKETS,
        )
        tokens = "{token}"
        if n.EXPERIMENTAL:
            self._embeddings_input_tokens = histogram(
                n.CLIENT_EMBEDDINGS_INPUT_TOKENS, tokens, "Input tokens per embeddings call.", n.TOKEN_BUCKETS
            )
            self._input_tokens = histogram(
                n.CLIENT_INPUT_TOKENS, tokens, "Input tokens per inference call.", n.TOKEN_BUCKETS
            )
            self._output_tokens = histogram(
                n.CLIENT_OUTPUT_TOKENS, tokens, "Output tokens per inference call.", n.TOKEN_BUCKETS
            )
            self._usage = tuple(
                (field, meter.create_counter(name, unit=tokens, description=description))
                for field, name, description in _USAGE_COUNTERS
            )
        else:
            self.token_usage = histogram(
                n.CLIENT_TOKEN_USAGE, tokens, "Number of input and output tokens used.", n.TOKEN_BUCKETS
            )
        self.ledger = Ledger(meter)

    def duration(self, operation: str) -> Histogram:
        return self._embeddings_duration if operation == n.OP_EMBEDDINGS else self._duration

    def record_tokens(self, operation: str, attrs: Attributes, outcome: Outcome | None) -> None:
        """Token metrics of one finished call; ``attrs`` carries error.type when it failed."""
        input_tokens = None if outcome is None else outcome.input_tokens
        output_tokens = None if outcome is None else outcome.output_tokens
        if not n.EXPERIMENTAL:
            if input_tokens is not None:
                self.token_usage.record(input_tokens, {**attrs, n.TOKEN_TYPE: n.TOKEN_INPUT})
            if output_tokens is not None:
                self.token_usage.record(output_tokens, {**attrs, n.TOKEN_TYPE: n.TOKEN_OUTPUT})
            return
        # Experimental: every call is counted, with 0 (modality unknown) where no usage arrived.
        embeddings = operation == n.OP_EMBEDDINGS
        (self._embeddings_input_tokens if embeddings else self._input_tokens).record(input_tokens or 0, attrs)
        if not embeddings:
            self._output_tokens.record(output_tokens or 0, attrs)
        if outcome is None or input_tokens is None:
            self._usage[0][1].add(0, {**attrs, n.TOKEN_MODALITY: n.MODALITY_UNKNOWN})
            return
        text = {**attrs, n.TOKEN_MODALITY: n.MODALITY_TEXT}
        for field, counter in self._usage:
            value = getattr(outcome, field)
            if value is not None:
                counter.add(value, text)


_USAGE_COUNTERS = (
    ("input_tokens", n.CLIENT_USAGE_INPUT_TOKENS, "Input tokens used, cached ones included."),
    ("output_tokens", n.CLIENT_USAGE_OUTPUT_TOKENS, "Output tokens used, reasoning ones included."),
    ("cache_read_tokens", n.CLIENT_USAGE_CACHE_READ_TOKENS, "Input tokens read from the provider's cache."),
    (
        "cache_creation_tokens",
        n.CLIENT_USAGE_CACHE_WRITE_TOKENS,
        "Input tokens written to the provider's cache.",
    ),
    ("reasoning_tokens", n.CLIENT_USAGE_REASONING_TOKENS, "Output tokens spent on reasoning."),
)


T = TypeVar("T")


class PerMeterProvider(Generic[T]):
    """One set of instruments per MeterProvider, created on first use and shared afterwards.

    Registering instruments twice would duplicate observable callbacks and make the SDK warn
    about conflicting instruments; providers that are dropped take their instruments with them.
    """

    def __init__(self, factory: Callable[[MeterProvider], T]) -> None:
        self._factory = factory
        self._made: weakref.WeakKeyDictionary[Any, T] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def __call__(self, meter_provider: MeterProvider | None = None) -> T:
        provider = meter_provider or metrics.get_meter_provider()
        with self._lock:
            found = self._made.get(provider)
            if found is None:
                found = self._made[provider] = self._factory(provider)
            return found

    def made(self) -> list[T]:
        """Every set created so far, for events that every MeterProvider should see."""
        with self._lock:
            return list(self._made.values())


#: The instruments of this MeterProvider, shared by every instrumentor.
instruments_for = PerMeterProvider(Instruments)


class Telemetry:
    """What a wrapper records into: a tracer and the instruments, from the given or global providers."""

    __slots__ = ("frameworks", "instruments", "tracer")

    def __init__(
        self, tracer_provider: TracerProvider | None = None, meter_provider: MeterProvider | None = None
    ) -> None:
        self.tracer = trace.get_tracer(n.INSTRUMENTATION_SCOPE, __version__, tracer_provider, _SCHEMA_URL)
        self.instruments = instruments_for(meter_provider)
        # Framework scope -> what a call records under that framework's inference span; None: no
        # deferring (see _frameworks).
        self.frameworks: dict[str, Telemetry] | None = None
