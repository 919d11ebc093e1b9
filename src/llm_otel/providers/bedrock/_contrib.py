"""Living with OpenTelemetry's contrib botocore instrumentation, so a Bedrock call has one span.

``opentelemetry-instrumentation-botocore`` wraps the same ``BaseClient._make_api_call`` and, through
its Bedrock Runtime extension, starts its own ``chat <model>`` span (and records its own GenAI
metrics) for the four operations traced here. Which wrapper is outermost depends on the order the
two were instrumented in, so deferring to "whoever is current" would not do: while ours is
instrumented, the extension is told not to trace those operations (``should_trace_service_call``),
and the contrib wrapper calls straight through. Every other service and operation it traces as before,
and so are aiobotocore's calls, which the extension serves too and which are not traced here: the
contrib's aiobotocore wrapper, the extension's caller, is a coroutine.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Collection
from typing import Any

CONTRIB_MODULE = "opentelemetry.instrumentation.botocore.extensions.bedrock"
CONTRIB_TARGET = "_BedrockRuntimeExtension.should_trace_service_call"


def contrib_wrapper(operations: Collection[str]) -> Callable[..., Any]:
    """Wraps the extension's ``should_trace_service_call(self)``: False for the operations we trace."""

    def should_trace(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        context = getattr(instance, "_call_context", None)
        if getattr(context, "operation", None) in operations and not _called_by_a_coroutine():
            return False
        return wrapped(*args, **kwargs)

    return should_trace


def _called_by_a_coroutine() -> bool:
    # Our caller's caller (wrapt's wrapper adds no Python frame): the contrib's patched API call.
    caller = sys._getframe(2)
    return bool(caller.f_code.co_flags & inspect.CO_COROUTINE)
