"""Living with OpenTelemetry's contrib botocore instrumentation, so a Bedrock call has one span.

``opentelemetry-instrumentation-botocore`` wraps the same ``BaseClient._make_api_call`` and, through
its Bedrock Runtime extension, starts its own ``chat <model>`` span (and records its own GenAI
metrics) for the four operations traced here. Which wrapper is outermost depends on the order the
two were instrumented in, so deferring to "whoever is current" would not do: while ours is
instrumented, the extension is told not to trace those operations (``should_trace_service_call``),
and the contrib wrapper calls straight through. Every other service and operation it traces as before.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

CONTRIB_MODULE = "opentelemetry.instrumentation.botocore.extensions.bedrock"
CONTRIB_TARGET = "_BedrockRuntimeExtension.should_trace_service_call"


def contrib_wrapper(operations: Collection[str]) -> Callable[..., Any]:
    """Wraps the extension's ``should_trace_service_call(self)``: False for the operations we trace."""

    def should_trace(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        context = getattr(instance, "_call_context", None)
        if getattr(context, "operation", None) in operations:
            return False
        return wrapped(*args, **kwargs)

    return should_trace
