"""llm-otel: OpenTelemetry-first observability for Python applications that call LLM providers.

Example::

    import llm_otel

    llm_otel.configure()  # tracer, meter and logger providers from OTEL_* / LLM_OTEL_* variables
    llm_otel.instrument()  # every installed, supported provider SDK
"""

from __future__ import annotations

from ._instrument import instrument, uninstrument
from ._version import __version__
from .agents import execute_tool, invoke_agent, invoke_workflow
from .resilience import (
    BreakerPolicy,
    CircuitBreaker,
    CircuitOpenError,
    RetryPolicy,
    Route,
    breaker_states,
    get_breaker,
    resilient,
    without_sdk_retries,
)
from .setup import JsonFormatter, Pipeline, configure, install_json_logging
from .telemetry._cardinality import set_attribute_value_limit
from .telemetry._content import Content, ContentMode, capture_content, set_content_capture
from .telemetry._pricing import Price, PriceTier, set_prices
from .telemetry._redact import pattern_redactor, redact_api_keys, redact_emails, redact_phone_numbers

__all__ = [
    "BreakerPolicy",
    "CircuitBreaker",
    "CircuitOpenError",
    "Content",
    "ContentMode",
    "JsonFormatter",
    "Pipeline",
    "Price",
    "PriceTier",
    "RetryPolicy",
    "Route",
    "__version__",
    "breaker_states",
    "capture_content",
    "configure",
    "execute_tool",
    "get_breaker",
    "install_json_logging",
    "instrument",
    "invoke_agent",
    "invoke_workflow",
    "pattern_redactor",
    "redact_api_keys",
    "redact_emails",
    "redact_phone_numbers",
    "resilient",
    "set_attribute_value_limit",
    "set_content_capture",
    "set_prices",
    "uninstrument",
    "without_sdk_retries",
]
