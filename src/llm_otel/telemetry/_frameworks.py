"""Living with a framework's own inference span, so a call has one span and its tokens count once.

Some frameworks trace the model request themselves: pydantic-ai with ``instrument=True`` opens a
CLIENT ``chat`` span around the SDK call and records ``gen_ai.client.token.usage`` (and the time
to the first chunk) under its own instrumentation scope. With ours on as well, the call gets two
spans and every token is counted twice. Two ways out:

* ours (default): turn the framework's model instrumentation off; our span is the call's span.
* framework (``framework_spans=True``): under such a span we start none (what runs inside nests
  under the framework's), and record only the metrics the framework does not: the duration,
  errors, cost, in-flight and per-chunk times stay ours, on the same names as every other call.

Only frameworks listed here are deferred to: for any other, we cannot know what it records.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

from opentelemetry import metrics, trace
from opentelemetry.context import Context
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import Link, NonRecordingSpan, NoOpTracer, NoOpTracerProvider, Span, SpanKind, Tracer
from opentelemetry.util.types import Attributes

from . import _names as n
from ._instruments import Instruments, Telemetry

#: Instrumentation scope of a framework's inference spans -> the metrics it records for the call.
FRAMEWORK_METRICS: dict[str, frozenset[str]] = {
    "pydantic-ai": frozenset({n.CLIENT_TOKEN_USAGE, n.STABLE_TIME_TO_FIRST_CHUNK}),
}
# Our instruments that a framework may record as well, with the names they record under.
_SHARED = (("token_usage", n.CLIENT_TOKEN_USAGE), ("time_to_first_chunk", n.CLIENT_TIME_TO_FIRST_CHUNK))
_MUTED = metrics.NoOpHistogram("muted")


class _PassThroughTracer(NoOpTracer):
    """Starts no span: returns the current span's context, so what runs inside nests as before.

    (The API's own no-op tracer does the same in recent releases; older ones return an invalid span.)
    """

    def start_span(
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> Span:
        return NonRecordingSpan(trace.get_current_span(context).get_span_context())


class PassThroughTracerProvider(NoOpTracerProvider):
    """What our telemetry traces into when another span is the call's span: metrics only."""

    def get_tracer(self, *args: object, **kwargs: object) -> Tracer:
        return _PassThroughTracer()


def without(instruments: Instruments, names: frozenset[str]) -> Instruments:
    """The same instruments, with those recording one of ``names`` muted."""
    muted = copy.copy(instruments)
    for attribute, name in _SHARED:
        if name in names and hasattr(muted, attribute):
            setattr(muted, attribute, _MUTED)
    return muted


def framework_scope(span: Span) -> str | None:
    """The scope of ``span`` when it is a listed framework's (recording, CLIENT) inference span."""
    scope = getattr(getattr(span, "instrumentation_scope", None), "name", None)
    if scope in FRAMEWORK_METRICS and getattr(span, "kind", None) is SpanKind.CLIENT and span.is_recording():
        return scope  # type: ignore[no-any-return]
    return None


def defer_to_frameworks(telemetry: Telemetry, meter_provider: MeterProvider | None) -> None:
    """Make ``telemetry`` yield to the listed frameworks' inference spans (``framework_spans``)."""
    deferring = {}
    for scope, names in FRAMEWORK_METRICS.items():
        under = Telemetry(PassThroughTracerProvider(), meter_provider)
        under.instruments = without(telemetry.instruments, names)
        deferring[scope] = under
    telemetry.frameworks = deferring
