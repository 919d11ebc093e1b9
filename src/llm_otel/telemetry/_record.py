"""The neutral call record a provider fills, and the span/metric lifecycle of one call."""

from __future__ import annotations

from time import perf_counter
from typing import TYPE_CHECKING, Any, Protocol

from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, set_span_in_context
from opentelemetry.util.types import AttributeValue

from llm_otel._log import internal_error

from . import _names as n
from ._cardinality import guard
from ._instruments import Telemetry

if TYPE_CHECKING:
    from ._content import CallContent

Attributes = dict[str, AttributeValue]
_STATUS_DESCRIPTION_MAX = 200
# Generic status errors, named by their HTTP status in error.type: the class name and the attribute
# holding the status (google-genai's ClientError and ServerError, for every 4xx and 5xx, keep it in ``code``).
_BY_STATUS_ERRORS = {
    "APIStatusError": "status_code",
    "SDKError": "status_code",
    "ApiError": "status_code",
    "ClientError": "code",
    "ServerError": "code",
}
# Generic service errors, named by the error code of their response (botocore's: every code the
# service model does not list, and every error event inside a stream).
_BY_CODE_ERRORS = frozenset({"ClientError", "EventStreamError"})
# Namespace packages, whose classes are named by their distribution's two first levels (``google.genai``).
_NAMESPACES = frozenset({"google"})


class Outcome:
    """What a provider read from a response or a stream; None means not reported."""

    __slots__ = (
        "attributes",
        "cache_creation_tokens",
        "cache_read_tokens",
        "error",
        "finish_reasons",
        "input_tokens",
        "output_tokens",
        "reasoning_tokens",
        "response_id",
        "response_model",
    )

    def __init__(self) -> None:
        self.response_model: str | None = None
        self.response_id: str | None = None
        self.finish_reasons: list[str] | None = None
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.cache_read_tokens: int | None = None
        self.cache_creation_tokens: int | None = None
        self.reasoning_tokens: int | None = None
        # Provider-specific span attributes (e.g. a system fingerprint), set only when recording.
        self.attributes: Attributes | None = None
        # What the SDK raised while the response was read for us (botocore's InvokeModel body, read
        # before the caller's read, which raises it then): the call failed.
        self.error: BaseException | None = None


class Accumulator(Protocol):
    """What a provider supplies per stream: folds chunks into an Outcome, cheaply."""

    def add(self, chunk: Any) -> bool:
        """Take one chunk; return True when the chunk must be hidden from the caller."""

    def outcome(self) -> Outcome:
        """What the chunks so far said (usage, finish reasons, ids)."""


def error_type(exc: BaseException) -> str:
    """A low-cardinality ``error.type``: the exception's class, or the HTTP status for a generic one.

    Classes are named by their package's public path (``openai.RateLimitError``, not the private
    ``openai._exceptions.RateLimitError``), builtins bare (``TimeoutError``). SDKs raise one class
    per well-known status and a generic ``APIStatusError`` for the rest, where the status says more
    (unless it is no error status: anthropic raises it for an error event in a 200 stream);
    mistralai raises its ``SDKError`` for every status, cohere its ``ApiError`` for a status it has no
    class for, google-genai a ``ClientError`` or ``ServerError`` (status in ``code``). botocore raises
    one class per error code its service model lists (``botocore.ThrottlingException``) and a
    generic ``ClientError`` or ``EventStreamError`` for the others, named by the response's code
    (``botocore.<Code>``); its ``ClientError`` has no ``code`` attribute, so the two of that name part.
    """
    cls = type(exc)
    status_attribute = _BY_STATUS_ERRORS.get(cls.__name__)
    if status_attribute is not None:
        status = getattr(exc, status_attribute, None)
        if isinstance(status, int) and not isinstance(status, bool) and status >= 400:
            return str(status)
    package, _, rest = cls.__module__.partition(".")
    if package in _NAMESPACES and rest:
        package = f"{package}.{rest.partition('.')[0]}"
    if cls.__name__ in _BY_CODE_ERRORS:
        response = getattr(exc, "response", None)
        error = response.get("Error") if isinstance(response, dict) else None
        code = error.get("Code") if isinstance(error, dict) else None
        if isinstance(code, str) and code:
            return f"{package}.{code[:1].upper()}{code[1:]}"
    return cls.__qualname__ if package == "builtins" else f"{package}.{cls.__qualname__}"


class Invocation:
    """One instrumented call: its span, start time and metric attributes, finished exactly once."""

    __slots__ = (
        "_entry",
        "_prev_chunk",
        "accumulator",
        "attrs",
        "content",
        "context",
        "done",
        "first_chunk",
        "model",
        "operation",
        "recording",
        "request_attributes",
        "span",
        "start",
        "telemetry",
    )

    def __init__(
        self,
        telemetry: Telemetry,
        operation: str,
        provider: str,
        model: str | None,
        address: str | None,
        port: int | None,
    ) -> None:
        self.telemetry = telemetry
        self.operation = operation
        self.model = model
        # Metrics see the model bounded (see _cardinality); the span, one per call, the model as given.
        bounded = guard.request_model.value(model) if model else None
        attrs: Attributes = {n.OPERATION_NAME: operation, n.PROVIDER_NAME: provider}
        if bounded:
            attrs[n.REQUEST_MODEL] = bounded
        if address:
            attrs[n.SERVER_ADDRESS] = address
            if port:
                attrs[n.SERVER_PORT] = port
        self.attrs = attrs
        # Given at start so that samplers see them, as the conventions ask.
        self.span: Span = telemetry.tracer.start_span(
            f"{operation} {model}" if model else operation,
            kind=SpanKind.CLIENT,
            attributes=attrs if bounded == model else {**attrs, n.REQUEST_MODEL: model},
        )
        self.recording = self.span.is_recording()
        # The span as a context: current during the SDK call, and the context of the call's
        # measurements, so that their exemplars (SDK default: sampled spans only) name this span,
        # not the caller's, which is current again when the call ends.
        self.context: Context = set_span_in_context(self.span)
        self._entry = telemetry.instruments.ledger.enter(operation, provider, bounded or "")
        # Set only when the span records; written with the response's in one call at the end.
        self.request_attributes: Attributes | None = None
        self.accumulator: Accumulator | None = None  # set when the result is a stream
        self.content: CallContent | None = None  # set when message content is captured
        self.done = False
        self.first_chunk: float | None = None
        self._prev_chunk = 0.0
        self.start = perf_counter()

    def chunk(self, chunk: Any) -> bool:
        """Time one stream chunk and fold it into the accumulator; True hides it. Never raises.

        The hot path of every stream: one histogram record, which the conventions ask for, and as
        little else as possible.
        """
        try:
            now = perf_counter()
            previous = self._prev_chunk
            self._prev_chunk = now
            if previous:
                self.telemetry.instruments.time_per_chunk.record(now - previous, self.attrs)
            else:
                self.first_chunk = now
                self.telemetry.instruments.time_to_first_chunk.record(
                    now - self.start, self.attrs, context=self.context
                )
            return self.accumulator.add(chunk)  # type: ignore[union-attr]
        except Exception as err:
            internal_error("stream chunk", err)
            return False

    def finish_stream(self, exc: BaseException | None = None) -> None:
        """End a stream's call with what its chunks said; later calls do nothing. Never raises."""
        if self.done:
            return
        try:
            outcome: Outcome | None = self.accumulator.outcome()  # type: ignore[union-attr]
        except Exception as err:
            internal_error("stream outcome", err)
            outcome = None
        self.finish(outcome, exc)

    def finish(self, outcome: Outcome | None, exc: BaseException | None = None) -> None:
        """End the span and record the metrics; later calls do nothing. Never raises."""
        if self.done:
            return
        self.done = True
        try:
            self._finish(outcome, exc)
        except Exception as err:  # our failure must not reach the caller
            internal_error("finish", err)
            self.span.end()

    def _finish(self, outcome: Outcome | None, exc: BaseException | None) -> None:
        end = perf_counter()
        duration = end - self.start
        instruments = self.telemetry.instruments
        # Settled first, as the in-flight count always was: a failure recording what follows must
        # not leave the call in flight for good.
        cost = instruments.ledger.leave(self._entry, self.model, outcome, exc, end)
        attrs = self.attrs
        if outcome is not None and outcome.response_model:
            attrs = {**attrs, n.RESPONSE_MODEL: guard.response_model.value(outcome.response_model)}
        span = self.span
        recording = self.recording
        # One set_attributes call for everything the span learnt after it started.
        details = self.request_attributes if self.request_attributes is not None else {}
        if exc is not None:
            kind = error_type(exc)
            attrs = {**attrs, n.ERROR_TYPE: kind}
            details[n.ERROR_TYPE] = kind
            if recording:
                span.set_status(Status(StatusCode.ERROR, str(exc)[:_STATUS_DESCRIPTION_MAX]))
        instruments.duration(self.operation).record(duration, attrs, context=self.context)
        instruments.record_tokens(self.operation, attrs, outcome)
        if recording:
            if outcome is not None:
                _response_attributes(outcome, details)
                if cost is not None:
                    details[n.USAGE_COST] = cost
            if self.first_chunk is not None:
                details[n.RESPONSE_TIME_TO_FIRST_CHUNK] = self.first_chunk - self.start
            if details:
                span.set_attributes(details)
        if self.content is not None:
            self.content.finish(span, attrs)
        span.end()


def _response_attributes(outcome: Outcome, attrs: Attributes) -> None:
    # One test per field, not a loop over (name, value) pairs: this runs on every call, and building
    # the pairs cost as much as the tests.
    if outcome.attributes:
        attrs.update(outcome.attributes)
    if outcome.response_model is not None:
        attrs[n.RESPONSE_MODEL] = outcome.response_model
    if outcome.response_id is not None:
        attrs[n.RESPONSE_ID] = outcome.response_id
    if outcome.input_tokens is not None:
        attrs[n.USAGE_INPUT_TOKENS] = outcome.input_tokens
    if outcome.output_tokens is not None:
        attrs[n.USAGE_OUTPUT_TOKENS] = outcome.output_tokens
    if outcome.cache_read_tokens is not None:
        attrs[n.USAGE_CACHE_READ_INPUT_TOKENS] = outcome.cache_read_tokens
    if outcome.cache_creation_tokens is not None:
        attrs[n.USAGE_CACHE_CREATION_INPUT_TOKENS] = outcome.cache_creation_tokens
    if outcome.reasoning_tokens is not None:
        attrs[n.USAGE_REASONING_OUTPUT_TOKENS] = outcome.reasoning_tokens
    if outcome.finish_reasons:
        attrs[n.RESPONSE_FINISH_REASONS] = outcome.finish_reasons
