"""JSON lines and OTel log records for our events, with trace correlation; exporter log muzzling."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.trace import TracerProvider

from llm_otel import JsonFormatter, install_json_logging
from llm_otel._log import event, logger
from llm_otel.setup._logging import OTelLogHandler, RateLimit

RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    yield stream
    logger.removeHandler(handler)


def parsed(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_an_event_is_one_json_line_with_its_fields_and_the_current_span(lines: io.StringIO) -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("parent") as span:
        event("fallback.activated", logging.WARNING, route="openai:gpt-4o", to="anthropic:claude", reason="429")
    context = span.get_span_context()

    [line] = parsed(lines)

    assert RFC3339_UTC.match(str(line.pop("time")))
    assert line == {
        "level": "WARNING",
        "logger": "llm_otel",
        "event": "fallback.activated",
        "message": "fallback.activated route=openai:gpt-4o to=anthropic:claude reason=429",
        "trace_id": format(context.trace_id, "032x"),
        "span_id": format(context.span_id, "016x"),
        "route": "openai:gpt-4o",
        "to": "anthropic:claude",
        "reason": "429",
    }


def test_a_plain_record_outside_a_span_has_no_ids_and_fields_cannot_hide_the_core_keys(lines: io.StringIO) -> None:
    logger.warning("plain %s", "message")
    event("custom", logging.WARNING, time="spoofed", message="spoofed")

    plain, custom = parsed(lines)

    assert plain["event"] == "log"
    assert plain["message"] == "plain message"
    assert "trace_id" not in plain and "span_id" not in plain
    assert custom["time"] != "spoofed"
    assert custom["message"] == "custom time=spoofed message=spoofed"
    assert custom["field.time"] == "spoofed"
    assert custom["field.message"] == "spoofed"


def test_exceptions_are_kept_in_the_line(lines: io.StringIO) -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        logger.warning("failed", exc_info=True)
    [line] = parsed(lines)
    assert "ValueError: boom" in str(line["exception"])


def test_install_json_logging_is_idempotent_and_writes_json() -> None:
    stream = io.StringIO()
    target = logging.getLogger("llm_otel_test_app")
    target.propagate = False
    try:
        first = install_json_logging(target, stream=stream)
        second = install_json_logging(target, stream=stream)
        target.info("hello %d", 1)
    finally:
        target.removeHandler(first)
    assert first is second
    [line] = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert line["message"] == "hello 1"
    assert line["logger"] == "llm_otel_test_app"


def test_events_reach_the_otel_logger_provider_with_name_fields_and_trace_context() -> None:
    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    handler = OTelLogHandler(provider)
    logger.addHandler(handler)
    tracer = TracerProvider().get_tracer("test")
    try:
        with tracer.start_as_current_span("call") as span:
            event("retry.scheduled", logging.WARNING, route="r1", attempt=2, delay_s=0.5, hops=["a", "b"])
    finally:
        logger.removeHandler(handler)

    [exported] = exporter.get_finished_logs()
    record = exported.log_record
    assert record.event_name == "retry.scheduled"
    assert record.severity_text == "WARNING"
    assert record.body == "retry.scheduled route=r1 attempt=2 delay_s=0.5 hops=['a', 'b']"
    assert dict(record.attributes or {}) == {"route": "r1", "attempt": 2, "delay_s": 0.5, "hops": "['a', 'b']"}
    assert record.trace_id == span.get_span_context().trace_id
    assert record.span_id == span.get_span_context().span_id


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_limit_lets_one_line_through_per_interval_and_counts_the_rest() -> None:
    clock = Clock()
    limit = RateLimit(60.0, clock)
    source = logging.getLogger("opentelemetry.exporter.otlp.test_muzzle")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    source.addHandler(handler)
    source.propagate = False
    source.addFilter(limit)
    try:
        for attempt in range(12):
            source.warning("Failed to export batch, attempt %d", attempt)
        clock.now += 61
        source.warning("Failed to export batch, attempt %d", 12)
    finally:
        source.removeHandler(handler)
        source.removeFilter(limit)
    assert stream.getvalue().splitlines() == [
        "Failed to export batch, attempt 0",
        "Failed to export batch, attempt 12 (llm-otel held back 11 similar exporter lines)",
    ]


def test_an_event_formatted_later_keeps_the_ids_of_the_span_it_was_logged_in() -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)  # formatted below, as a queue or a capture would, outside the span

    handler = Keep()
    logger.addHandler(handler)
    tracer = TracerProvider().get_tracer("test")
    try:
        with tracer.start_as_current_span("call") as span:
            event("retry.exhausted", logging.WARNING, route="r1")
    finally:
        logger.removeHandler(handler)
    [record] = records
    line = json.loads(JsonFormatter().format(record))
    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert line["span_id"] == format(span.get_span_context().span_id, "016x")
    assert "field.trace_id" not in line
