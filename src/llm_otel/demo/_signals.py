"""The demo's OpenTelemetry providers: Prometheus /metrics, OTLP when configured, a reader for the summary."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from llm_otel._log import logger


@dataclass
class DemoSignals:
    """Providers for one demo run, and what to shut down afterwards."""

    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    summary: InMemoryMetricReader
    metrics_url: str | None
    otlp: bool
    _closers: list[Any] = field(default_factory=list)

    def shutdown(self) -> None:
        self.meter_provider.shutdown(timeout_millis=2000)
        self.tracer_provider.shutdown()
        for close in self._closers:
            close()


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _prometheus(host: str, port: int) -> tuple[MetricReader, str, Any] | None:
    try:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from prometheus_client import CollectorRegistry, start_http_server
    except ImportError:
        logger.warning("llm-otel demo: opentelemetry-exporter-prometheus is not installed; no /metrics")
        return None
    if port and not _port_free(host, port):
        logger.warning("llm-otel demo: port %s is taken; serving /metrics on a free port instead", port)
        port = 0
    registry = CollectorRegistry()
    reader = PrometheusMetricReader(registry=registry)
    server, _thread = start_http_server(port, addr=host, registry=registry)
    bound = server.server_address[1]
    return reader, f"http://{host}:{bound}/metrics", server.shutdown


def build_signals(metrics_host: str, metrics_port: int, service_name: str) -> DemoSignals:
    """Prometheus on ``metrics_host:metrics_port`` (0: any free port); OTLP only when an endpoint is set."""
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service_name)})
    summary = InMemoryMetricReader()
    readers: list[MetricReader] = [summary]
    closers: list[Any] = []
    metrics_url = None
    served = _prometheus(metrics_host, metrics_port)
    if served is not None:
        reader, metrics_url, close = served
        readers.append(reader)
        closers.append(close)
    tracer_provider = TracerProvider(resource=resource)
    otlp = bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
    if otlp:
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        if os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "").strip() == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        else:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import (  # type: ignore[assignment]
                OTLPMetricExporter,
            )
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[assignment]
                OTLPSpanExporter,
            )

        tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
    meter_provider = MeterProvider(metric_readers=readers, resource=resource)
    return DemoSignals(tracer_provider, meter_provider, summary, metrics_url, otlp, closers)
