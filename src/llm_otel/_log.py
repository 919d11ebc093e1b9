"""Our own diagnostics: one logger, and a rate limit so a recurring fault logs once, not per call."""

from __future__ import annotations

import logging
import threading
import time

from opentelemetry import trace

logger = logging.getLogger("llm_otel")

_INTERVAL_S = 300.0
_MAX_KEYS = 256
_last: dict[str, float] = {}
_lock = threading.Lock()


def _due(key: str) -> bool:
    now = time.monotonic()
    with _lock:
        last = _last.get(key)
        if last is not None and now - last < _INTERVAL_S:
            return False
        if len(_last) >= _MAX_KEYS:
            _last.clear()
        _last[key] = now
        return True


def warn_once(key: str, message: str, *args: object) -> None:
    """Log a warning at most once per key every five minutes."""
    if _due(key):
        logger.warning(message, *args)


def event(name: str, level: int = logging.INFO, **fields: object) -> None:
    """Emit one of our structured events: the JSON formatter renders ``name`` and ``fields`` as keys;
    a plain formatter shows the message, ``name key=value ...``.

    The current span's ids are taken now, not when a handler formats the record (a queue handler
    or a test's capture formats it later, outside the span).
    """
    if logger.isEnabledFor(level):
        message = " ".join((name, *(f"{key}={value}" for key, value in fields.items())))
        context = trace.get_current_span().get_span_context()
        ids = (format(context.trace_id, "032x"), format(context.span_id, "016x")) if context.is_valid else None
        logger.log(level, message, extra={"llm_otel_event": name, "llm_otel_fields": fields, "llm_otel_ids": ids})


def internal_error(where: str, exc: BaseException) -> None:
    """Report a failure inside llm-otel itself; the host application carries on unaffected."""
    if _due(f"{where}:{type(exc).__qualname__}"):
        logger.warning(
            "llm-otel: internal error in %s ignored; telemetry for this call may be incomplete",
            where,
            exc_info=exc,
        )
