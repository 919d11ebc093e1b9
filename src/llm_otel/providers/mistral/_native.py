"""Living with the mistralai SDK's own OpenTelemetry tracing (2.x and later), so a call has one span.

The SDK's tracing hook starts its span (``chat mistral-small-latest``) while it prepares the
request, through one module-level function, ``get_traced_request_and_span`` of its hook module,
which also sends the span's trace context with the request. 2.x traces whenever a global
TracerProvider is set; 3.x only when asked (``MISTRAL_SDK_TELEMETRY``, ``configure_telemetry``).
While one of our spans is current, that function sends our span's context instead and starts no
span, so the hook records nothing for the call. Every other SDK span (agents, OCR, workflows ...)
is untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentelemetry import propagate, trace

from llm_otel.providers._base import is_ours

NATIVE_MODULE = "mistralai.client._hooks.tracing"
NATIVE_FUNCTION = "get_traced_request_and_span"


def native_span_wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    """Wraps ``get_traced_request_and_span(tracing_enabled=, tracer=, span=, operation_id=, request=)``."""
    request = kwargs.get("request")
    if not kwargs.get("tracing_enabled") or request is None or not is_ours(trace.get_current_span()):
        return wrapped(*args, **kwargs)
    propagate.inject(request.headers)  # the current context: our span
    return request, None
