"""Prometheus names of our telemetry, from the one table of names, and the selectors both the dashboards
and the alert rules are written with.

Names are those of the OpenTelemetry Prometheus reader behind /metrics: dots become underscores, the
unit is appended (``s`` -> ``_seconds``, ``USD`` kept, ``{...}`` and ``1`` dropped) and counters end in
``_total``. The collector's Prometheus exporter names them the same way except that it appends
``_ratio`` to gauges of unit ``1`` (health, breaker state); docs/dashboards.md says so.
"""

from __future__ import annotations

from llm_otel.telemetry import _names as n


def label(attribute: str) -> str:
    """The Prometheus label of an attribute."""
    return attribute.replace(".", "_")


def _metric(name: str, suffix: str = "") -> str:
    return name.replace(".", "_") + suffix


# Series as exposed at /metrics (released GenAI conventions; tests/test_stack_queries.py checks each
# against a real scrape).
DURATION = _metric(n.CLIENT_OPERATION_DURATION, "_seconds")
TTFC = _metric(n.CLIENT_TIME_TO_FIRST_CHUNK, "_seconds")
TOKENS = _metric(n.CLIENT_TOKEN_USAGE)
IN_FLIGHT = _metric(n.LLM_OTEL_REQUESTS_IN_FLIGHT)
COST = _metric(n.LLM_OTEL_COST, "_USD_total")
UNPRICED = _metric(n.LLM_OTEL_UNPRICED_CALLS, "_total")
HEALTH = _metric(n.LLM_OTEL_PROVIDER_HEALTH)
BREAKER_STATE = _metric(n.BREAKER_STATE)
BREAKER_TRANSITIONS = _metric(n.BREAKER_TRANSITIONS, "_total")
BREAKER_CALLS = _metric(n.BREAKER_CALLS, "_total")
RETRIES = _metric(n.RESILIENCE_RETRIES, "_total")
FALLBACKS = _metric(n.RESILIENCE_FALLBACKS, "_total")
RESILIENT_CALLS = _metric(n.RESILIENCE_CALLS, "_total")

PROVIDER = label(n.PROVIDER_NAME)
MODEL = label(n.REQUEST_MODEL)
ERROR = label(n.ERROR_TYPE)
TOKEN_TYPE = label(n.TOKEN_TYPE)
BREAKER = label(n.BREAKER_NAME)
BREAKER_TO = label(n.BREAKER_TO_STATE)
BREAKER_OUTCOME = label(n.BREAKER_OUTCOME)
ROUTE = label(n.RESILIENCE_ROUTE)
FALLBACK_FROM = label(n.RESILIENCE_FROM)
FALLBACK_TO = label(n.RESILIENCE_TO)
FALLBACK_REASON = label(n.RESILIENCE_REASON)
RESILIENCE_NAME = label(n.RESILIENCE_NAME)
RESILIENCE_OUTCOME = label(n.RESILIENCE_OUTCOME)
# The service around the calls, as OpenTelemetry's own instrumentations name it (the process and web
# extras; stable HTTP conventions, which our distro selects).
HTTP_DURATION = "http_server_request_duration_seconds"
HTTP_ROUTE = "http_route"
HTTP_STATUS = "http_response_status_code"
PROCESS_MEMORY = "process_memory_usage_bytes"
PROCESS_CPU = "process_cpu_time_seconds_total"
GC_COLLECTIONS = "cpython_gc_collections_total"
GC_GENERATION = "generation"
# The service: the scrape job (Prometheus sets it; the collector's exporter sets it to service.name).
SERVICE = "job"
FAILED = f'{ERROR}!=""'  # error.type is empty on success
OPEN = 1  # llm_otel.circuit_breaker.state: 0 closed, 1 open, 2 half-open
