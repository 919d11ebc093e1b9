"""Living with the anthropic SDK's own OpenTelemetry tracing (anthropic 2.x), so a call has one span.

The SDK starts its span (``anthropic.messages.create``) inside the method we wrap, through one
module-level function, ``anthropic._base_client.start_api_call_span``. Two ways to coexist:

* ours (default): while one of our spans is current, that function returns a non-recording span
  carrying our span's context instead of starting its own. The SDK then records nothing, and
  still sends the trace context with the request (when its ``propagation`` is on), now naming
  our span. Every other SDK span (``count_tokens``, batches, tool runners ...) is untouched.
* native: the SDK's span is the call's span; ours is replaced by a pass-through that starts no
  span, so the SDK's span stays the child of the application's, and only our metrics are added.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan

from llm_otel.providers._base import is_ours

NATIVE_MODULE = "anthropic._base_client"
NATIVE_FUNCTION = "start_api_call_span"


def native_span_wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
    """Wraps ``start_api_call_span``: no SDK span under one of ours, only our context to propagate."""
    current = trace.get_current_span()
    if not is_ours(current):
        return wrapped(*args, **kwargs)
    if kwargs.get("propagation", True) is False:
        return None  # the SDK then sends the request with no span of its own
    return NonRecordingSpan(current.get_span_context())
