"""The demo's OpenTelemetry pipeline: the one configure() builds, with /metrics, /v1/stats and /health
served on the demo's port and OTLP export only when an endpoint is set (no network by default)."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

from llm_otel._log import logger
from llm_otel.setup._pipeline import Pipeline, build
from llm_otel.setup._settings import resolve


@dataclass
class DemoSignals:
    """Providers for one demo run, and what to shut down afterwards."""

    pipeline: Pipeline
    otlp: bool

    @property
    def tracer_provider(self) -> TracerProvider:
        return self.pipeline.tracer_provider

    @property
    def meter_provider(self) -> MeterProvider:
        return self.pipeline.meter_provider

    @property
    def metrics_url(self) -> str | None:
        return self.pipeline.metrics_url

    def shutdown(self) -> None:
        self.pipeline.shutdown()


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def build_signals(metrics_host: str, metrics_port: int, service_name: str) -> DemoSignals:
    """Prometheus on ``metrics_host:metrics_port`` (0, or taken: any free port); OTLP only when an endpoint is set."""
    if metrics_port and not _port_free(metrics_host, metrics_port):
        logger.warning("llm-otel demo: port %s is taken; serving /metrics on a free port instead", metrics_port)
        metrics_port = 0
    otlp = bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
    settings = resolve(
        {
            "service_name": os.environ.get("OTEL_SERVICE_NAME") or service_name,
            "traces_exporter": "otlp" if otlp else "none",
            # A stack that scrapes /metrics sets OTEL_METRICS_EXPORTER=prometheus: each series reaches it once.
            "metrics_exporter": os.environ.get("OTEL_METRICS_EXPORTER")
            or ("prometheus,otlp" if otlp else "prometheus"),
            "logs_exporter": "otlp" if otlp else "none",
            "prometheus_host": metrics_host,
            "prometheus_port": metrics_port,
            "prometheus_port_attempts": 1,
        }
    )
    return DemoSignals(build(settings, os.environ), otlp)
