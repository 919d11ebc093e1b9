"""The recording core: turns provider calls into spans and metrics, the same way for every provider.

It knows no provider. Providers describe their SDK methods with ``Operation`` and fill an
``Outcome``; this package owns span lifecycle, instruments, stream proxies and containment.
"""

from ._frameworks import PassThroughTracerProvider, defer_to_frameworks
from ._instruments import Telemetry
from ._record import Accumulator, Attributes, Outcome, error_type
from ._wrappers import (
    Endpoint,
    Operation,
    Route,
    async_wrapper,
    manager_wrapper,
    model_argument,
    request_wrapper,
    sync_wrapper,
)

__all__ = [
    "Accumulator",
    "Attributes",
    "Endpoint",
    "Operation",
    "Outcome",
    "PassThroughTracerProvider",
    "Route",
    "Telemetry",
    "async_wrapper",
    "defer_to_frameworks",
    "error_type",
    "manager_wrapper",
    "model_argument",
    "request_wrapper",
    "sync_wrapper",
]
