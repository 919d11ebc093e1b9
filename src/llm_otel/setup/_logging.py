"""Structured logs: JSON lines for humans and Loki, the same events as OTel log records, and a muzzle
for exporters that would otherwise print a line per failed export while a collector is down."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO, Any

from opentelemetry import trace
from opentelemetry._logs import LoggerProvider, SeverityNumber

_RESERVED = frozenset({"time", "level", "logger", "event", "message", "trace_id", "span_id", "exception"})
_SEVERITY = (
    (logging.CRITICAL, SeverityNumber.FATAL),
    (logging.ERROR, SeverityNumber.ERROR),
    (logging.WARNING, SeverityNumber.WARN),
    (logging.INFO, SeverityNumber.INFO),
)


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = getattr(record, "llm_otel_fields", None)
    return fields if isinstance(fields, dict) else {}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: UTC RFC 3339 time, level, logger, event, message, the event's fields,
    and trace_id/span_id of the span current when the record was logged.

    Example::

        handler.setFormatter(llm_otel.JsonFormatter())
    """

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "event": getattr(record, "llm_otel_event", None) or "log",
            "message": record.getMessage(),
        }
        ids = getattr(record, "llm_otel_ids", None)  # taken when an event was logged
        if ids is None:
            context = trace.get_current_span().get_span_context()
            if context.is_valid:
                ids = (format(context.trace_id, "032x"), format(context.span_id, "016x"))
        if ids:
            document["trace_id"], document["span_id"] = ids
        for key, value in _fields(record).items():
            document[key if key not in _RESERVED else f"field.{key}"] = value
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, default=str, separators=(",", ":"))


def install_json_logging(
    logger: logging.Logger | str | None = None, level: int = logging.INFO, stream: IO[str] | None = None
) -> logging.Handler:
    """Log ``logger`` (default: the root logger) as JSON lines to ``stream`` (default: stderr).

    Calling it again for the same logger returns the handler installed the first time.

    Example::

        llm_otel.install_json_logging(level=logging.INFO)
    """
    target = logger if isinstance(logger, logging.Logger) else logging.getLogger(logger)
    for handler in target.handlers:
        if isinstance(handler.formatter, JsonFormatter):
            return handler
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    target.addHandler(handler)
    if target.level == logging.NOTSET or target.level > level:
        target.setLevel(level)
    return handler


class OTelLogHandler(logging.Handler):
    """Sends records to an OTel LoggerProvider, an event's name as ``event_name`` and its fields as attributes.

    Used instead of the SDK's deprecated ``LoggingHandler``, which would export our field dict as one
    nested attribute and every LogRecord internals as others.
    """

    def __init__(self, provider: LoggerProvider, level: int = logging.INFO) -> None:
        super().__init__(level)
        from llm_otel._version import __version__

        self._logger = provider.get_logger("llm_otel", __version__)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            severity = next((number for floor, number in _SEVERITY if record.levelno >= floor), SeverityNumber.DEBUG)
            attributes = {
                key: value if isinstance(value, str | bool | int | float) else str(value)
                for key, value in _fields(record).items()
            }
            self._logger.emit(
                timestamp=int(record.created * 1e9),
                severity_number=severity,
                severity_text=record.levelname,
                body=record.getMessage(),
                attributes=attributes or None,
                event_name=getattr(record, "llm_otel_event", None),
            )
        except Exception:
            self.handleError(record)


class RateLimit(logging.Filter):
    """Lets one record through per ``interval_s`` for all the loggers it is attached to, and says
    how many it held back, so a collector that is down costs one line a minute, not one per export."""

    def __init__(self, interval_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._interval_s = interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._next = 0.0
        self._held = 0

    def filter(self, record: logging.LogRecord) -> bool:
        now = self._clock()
        with self._lock:
            if now < self._next:
                self._held += 1
                return False
            held, self._held, self._next = self._held, 0, now + self._interval_s
        if held:
            record.msg = f"{record.getMessage()} (llm-otel held back {held} similar exporter lines)"
            record.args = None
        return True


# The exporters and the batch/periodic processors that report their failures.
_EXPORT_LOGGERS = (
    "opentelemetry.exporter",
    "opentelemetry.sdk._shared_internal",
    "opentelemetry.sdk.trace.export",
    "opentelemetry.sdk.metrics._internal.export",
    "opentelemetry.sdk._logs._internal.export",
)


def limit_exporter_logs(interval_s: float) -> RateLimit:
    """Attach one shared rate limit to every exporter and export-processor logger created so far."""
    limit = RateLimit(interval_s)
    for name, candidate in list(logging.root.manager.loggerDict.items()):
        if (
            name.startswith(_EXPORT_LOGGERS)
            and isinstance(candidate, logging.Logger)
            and not any(isinstance(existing, RateLimit) for existing in candidate.filters)
        ):
            candidate.addFilter(limit)
    return limit
