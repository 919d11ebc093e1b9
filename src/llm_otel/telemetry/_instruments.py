"""Tracer and metric instruments, created once per provider pair and shared by every instrumentor."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, Meter, MeterProvider, Observation
from opentelemetry.trace import TracerProvider

from llm_otel._version import __version__

from . import _names as n

_SCHEMA_URL = "https://opentelemetry.io/schemas/1.37.0"
# Distinct in-flight keys kept before new ones fold into one overflow series.
_IN_FLIGHT_MAX_KEYS = 1000


class InFlight:
    """Requests in flight, as plain integers exported through an observable up-down counter.

    A synchronous ``UpDownCounter.add`` costs as much as a histogram record; two of them per call
    would be a third of the whole per-call budget. Incrementing an int under a lock costs ~0.1 µs.
    """

    def __init__(self, meter: Meter) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str, str], int] = {}
        self._attrs: dict[tuple[str, str, str], dict[str, str]] = {}
        meter.create_observable_up_down_counter(
            n.LLM_OTEL_REQUESTS_IN_FLIGHT,
            callbacks=[self._observe],
            unit="{request}",
            description="GenAI client requests started and not yet finished (streams until they end).",
        )

    def enter(self, operation: str, provider: str, model: str) -> tuple[str, str, str]:
        key = (operation, provider, model)
        with self._lock:
            count = self._counts.get(key)
            if count is None and len(self._counts) >= _IN_FLIGHT_MAX_KEYS:
                key = (operation, provider, n.ERROR_OTHER)
                count = self._counts.get(key)
            self._counts[key] = (count or 0) + 1
        return key

    def leave(self, key: tuple[str, str, str]) -> None:
        with self._lock:
            self._counts[key] -= 1

    def _observe(self, _options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            items = list(self._counts.items())
        for key, count in items:
            attrs = self._attrs.get(key)
            if attrs is None:
                attrs = self._attrs[key] = {
                    n.OPERATION_NAME: key[0],
                    n.PROVIDER_NAME: key[1],
                    n.REQUEST_MODEL: key[2],
                }
            yield Observation(count, attrs)


class Instruments:
    """The metric instruments of one MeterProvider."""

    __slots__ = ("duration", "in_flight", "time_per_chunk", "time_to_first_chunk", "token_usage")

    def __init__(self, meter_provider: MeterProvider) -> None:
        meter = metrics.get_meter(n.INSTRUMENTATION_SCOPE, __version__, meter_provider, _SCHEMA_URL)
        self.duration = meter.create_histogram(
            n.CLIENT_OPERATION_DURATION,
            unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=n.DURATION_BUCKETS,
        )
        self.token_usage = meter.create_histogram(
            n.CLIENT_TOKEN_USAGE,
            unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=n.TOKEN_BUCKETS,
        )
        self.time_to_first_chunk = meter.create_histogram(
            n.CLIENT_TIME_TO_FIRST_CHUNK,
            unit="s",
            description="Time from issuing the request to receiving the first chunk of the response stream.",
            explicit_bucket_boundaries_advisory=n.TIME_TO_FIRST_CHUNK_BUCKETS,
        )
        self.time_per_chunk = meter.create_histogram(
            n.CLIENT_TIME_PER_OUTPUT_CHUNK,
            unit="s",
            description="Time between consecutive chunks of a response stream, after the first.",
            explicit_bucket_boundaries_advisory=n.TIME_PER_OUTPUT_CHUNK_BUCKETS,
        )
        self.in_flight = InFlight(meter)


_instruments: weakref.WeakKeyDictionary[Any, Instruments] = weakref.WeakKeyDictionary()
_instruments_lock = threading.Lock()


def instruments_for(meter_provider: MeterProvider) -> Instruments:
    """The instruments of this MeterProvider, created on first use and shared by every instrumentor.

    Registering them twice would duplicate the in-flight callback and make the SDK warn about
    conflicting instruments.
    """
    with _instruments_lock:
        found = _instruments.get(meter_provider)
        if found is None:
            found = _instruments[meter_provider] = Instruments(meter_provider)
        return found


class Telemetry:
    """What a wrapper records into: a tracer and the instruments, from the given or global providers."""

    __slots__ = ("instruments", "tracer")

    def __init__(
        self, tracer_provider: TracerProvider | None = None, meter_provider: MeterProvider | None = None
    ) -> None:
        self.tracer = trace.get_tracer(n.INSTRUMENTATION_SCOPE, __version__, tracer_provider, _SCHEMA_URL)
        self.instruments = instruments_for(meter_provider or metrics.get_meter_provider())
