"""configure(): the process-wide providers, once, from the environment and arguments."""

from __future__ import annotations

import atexit
import logging
import os
import threading
from dataclasses import replace
from typing import Any

from opentelemetry import _logs, metrics, trace
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

from llm_otel._log import logger

from ._logging import install_json_logging
from ._pipeline import Pipeline, build
from ._settings import Settings, resolve

_lock = threading.Lock()
_configured: Pipeline | None = None


def configure(
    *,
    service_name: str | None = None,
    traces_exporter: str | list[str] | None = None,
    metrics_exporter: str | list[str] | None = None,
    logs_exporter: str | list[str] | None = None,
    otlp_protocol: str | None = None,
    prometheus_host: str | None = None,
    prometheus_port: int | None = None,
    prometheus_port_attempts: int | None = None,
    metric_export_interval_ms: int | None = None,
    metric_export_timeout_ms: int | None = None,
    cardinality_limit: int | None = None,
    shutdown_timeout_s: float | None = None,
    health_window_s: float | None = None,
    health_threshold: float | None = None,
    json_logs: bool = True,
) -> Pipeline | None:
    """Build and install the tracer, meter and logger providers; returns them, or None when disabled.

    Every argument left as None comes from the environment (``OTEL_*`` and ``LLM_OTEL_*``
    variables, see docs/configuration.md), then from the defaults: traces and logs over OTLP, metrics
    to Prometheus on localhost:9464 and over OTLP. A bad argument raises ``ValueError``; a bad
    environment value is logged once and ignored.

    Idempotent: later calls return the first result. Providers the application already installed
    are kept, not replaced: instrumentation records into them, and nothing is served or exported
    by llm-otel for those signals.

    Example::

        import llm_otel

        llm_otel.configure(service_name="chat-api")
        llm_otel.instrument()
    """
    global _configured  # noqa: PLW0603 - one pipeline per process, by design
    settings = resolve(
        {
            "service_name": service_name,
            "traces_exporter": traces_exporter,
            "metrics_exporter": metrics_exporter,
            "logs_exporter": logs_exporter,
            "otlp_protocol": otlp_protocol,
            "prometheus_host": prometheus_host,
            "prometheus_port": prometheus_port,
            "prometheus_port_attempts": prometheus_port_attempts,
            "metric_export_interval_ms": metric_export_interval_ms,
            "metric_export_timeout_ms": metric_export_timeout_ms,
            "cardinality_limit": cardinality_limit,
            "shutdown_timeout_s": shutdown_timeout_s,
            "health_window_s": health_window_s,
            "health_threshold": health_threshold,
        }
    )
    if settings.disabled:
        logger.info("llm-otel: OTEL_SDK_DISABLED is set; configure() does nothing")
        return None
    with _lock:
        if _configured is not None:
            if settings != _configured.settings:
                logger.warning("llm-otel: configure() was already called; keeping the first configuration")
            return _configured
        if json_logs and not logging.getLogger().handlers:
            install_json_logging(logger)
        settings = _keep_existing(settings)
        pipeline = build(settings, os.environ)
        # A signal whose exporters are all off keeps the API's no-op provider: nothing to pay for.
        if settings.traces_exporter:
            trace.set_tracer_provider(pipeline.tracer_provider)
        if settings.metrics_exporter:
            metrics.set_meter_provider(pipeline.meter_provider)
        if pipeline.logger_provider is not None:
            _logs.set_logger_provider(pipeline.logger_provider)
        atexit.register(pipeline.shutdown)
        _configured = pipeline
        return pipeline


def _keep_existing(settings: Settings) -> Settings:
    """Turn off the signals whose SDK provider the application installed already."""
    changes: dict[str, Any] = {}
    if isinstance(trace.get_tracer_provider(), TracerProvider):
        changes["traces_exporter"] = ()
    if isinstance(metrics.get_meter_provider(), MeterProvider):
        changes["metrics_exporter"] = ()
    if isinstance(_logs.get_logger_provider(), LoggerProvider):
        changes["logs_exporter"] = ()
    if changes:
        logger.info("llm-otel: keeping the application's own providers for %s", ", ".join(sorted(changes)))
    return replace(settings, **changes)
