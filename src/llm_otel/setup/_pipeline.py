"""Build the three SDK providers from Settings: one MeterProvider whose one aggregation fans out to
Prometheus (served with /v1/stats and /health) and OTLP, traces and logs over OTLP, nothing global."""

from __future__ import annotations

import importlib
import os
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, MetricsData, PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from llm_otel._log import logger, warn_once
from llm_otel._version import __version__
from llm_otel.resilience import breaker_states
from llm_otel.telemetry import _names as n
from llm_otel.telemetry._window import calls

from ._collection import Collection
from ._logging import OTelLogHandler, limit_exporter_logs
from ._multiprocess import DIR_ENV, ROOT_ENV, ServerView, Shared, shared_directory
from ._server import Endpoints, serve
from ._settings import Settings
from ._stats import StatsSource

if TYPE_CHECKING:
    from ._prometheus import PrometheusEndpoint

# (signal, protocol) -> (module, class) of the OTLP exporter.
_OTLP = {
    ("traces", "http/protobuf"): ("opentelemetry.exporter.otlp.proto.http.trace_exporter", "OTLPSpanExporter"),
    ("traces", "grpc"): ("opentelemetry.exporter.otlp.proto.grpc.trace_exporter", "OTLPSpanExporter"),
    ("metrics", "http/protobuf"): ("opentelemetry.exporter.otlp.proto.http.metric_exporter", "OTLPMetricExporter"),
    ("metrics", "grpc"): ("opentelemetry.exporter.otlp.proto.grpc.metric_exporter", "OTLPMetricExporter"),
    ("logs", "http/protobuf"): ("opentelemetry.exporter.otlp.proto.http._log_exporter", "OTLPLogExporter"),
    ("logs", "grpc"): ("opentelemetry.exporter.otlp.proto.grpc._log_exporter", "OTLPLogExporter"),
}
_CONSOLE = {
    "traces": ("opentelemetry.sdk.trace.export", "ConsoleSpanExporter"),
    "metrics": ("opentelemetry.sdk.metrics.export", "ConsoleMetricExporter"),
    "logs": ("opentelemetry.sdk._logs.export", "ConsoleLogRecordExporter"),
}
# The SDK's own limit of distinct attribute sets per instrument (1.45 and later; older ones have none).
_SDK_CARDINALITY_LIMIT = 2000
# Exporter failures: one line per this many seconds, whatever the export interval.
_EXPORT_LOG_INTERVAL_S = 60.0


def _exporter(signal: str, name: str, protocol: str) -> Any | None:
    """A new exporter, or None (logged once) when its package is not installed."""
    module_name, class_name = _OTLP[signal, protocol] if name == "otlp" else _CONSOLE[signal]
    try:
        exporter_class = getattr(importlib.import_module(module_name), class_name)
    except ImportError as err:
        warn_once(
            f"exporter:{signal}:{name}", "llm-otel: no %s %s exporter (%s); carrying on without it", name, signal, err
        )
        return None
    try:
        return exporter_class()
    except (ValueError, TypeError, OverflowError) as err:  # some releases raise on a bad OTEL_EXPORTER_OTLP_*
        warn_once(
            f"exporter:{signal}:{name}",
            "llm-otel: cannot build the %s %s exporter from its OTEL_EXPORTER_* variables (%s); carrying on without it",
            name,
            signal,
            err,
        )
        return None


# The specification's defaults of the batch processors, for when an OTEL_BSP_* / OTEL_BLRP_* is bad.
_BATCH_DEFAULTS = {"max_queue_size": 2048, "max_export_batch_size": 512, "export_timeout_millis": 30_000}
# Their variables, with the largest value we take: the SDK accepts any positive number, and one past
# what a thread can wait for kills its export thread later, silently.
_BATCH_LIMITS = {"SCHEDULE_DELAY": 86_400_000, "EXPORT_TIMEOUT": 86_400_000, "MAX_QUEUE_SIZE": 10_000_000}
_BATCH_LIMITS["MAX_EXPORT_BATCH_SIZE"] = _BATCH_LIMITS["MAX_QUEUE_SIZE"]


def _batch(processor_class: Any, exporter: Any, prefix: str, schedule_delay_millis: int) -> Any:
    """A batch processor from its variables (which the SDK reads from os.environ) or, when one is bad,
    from the defaults, logged once."""
    problem = None
    for name, limit in _BATCH_LIMITS.items():
        raw = os.environ.get(prefix + name, "").strip()
        if raw and not (raw.isdigit() and 0 < int(raw) <= limit):
            problem = f"{prefix}{name}={raw!r} is not a whole number from 1 to {limit}"
    if problem is None:
        try:
            return processor_class(exporter)
        except (ValueError, TypeError, OverflowError) as err:  # e.g. a batch larger than the queue
            problem = str(err)
    warn_once(f"batch:{prefix}", "llm-otel: ignoring %s* (%s); using the defaults", prefix, problem)
    return processor_class(exporter, schedule_delay_millis=schedule_delay_millis, **_BATCH_DEFAULTS)


def _protocol(signal: str, settings: Settings, environ: Any) -> str:
    specific = str(environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL", "")).strip().lower()
    return specific if specific in ("grpc", "http/protobuf") else settings.otlp_protocol


@dataclass
class Pipeline:
    """The providers configure() built, and the endpoints it serves. ``shutdown()`` is bounded."""

    settings: Settings
    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    logger_provider: LoggerProvider | None
    endpoints: Endpoints | None
    stats: StatsSource
    # The directory a pre-fork server's workers share their metrics through (see _multiprocess).
    shared: Shared | None = None
    _closers: list[Callable[[], object]] = field(default_factory=list)
    _closed: bool = False

    @property
    def metrics_url(self) -> str | None:
        """Where /metrics is served, or None when the Prometheus reader is off or its port was taken."""
        return f"{self.endpoints.url}/metrics" if self.endpoints else None

    def shutdown(self, timeout_s: float | None = None) -> bool:
        """Flush and stop everything, waiting at most ``timeout_s`` (default: the setting); True if done.

        A collector that is down would otherwise hold the process at exit for each exporter's
        retry budget; past the bound the flush is abandoned and one line says so.
        """
        if self._closed:
            return True
        self._closed = True
        timeout_s = self.settings.shutdown_timeout_s if timeout_s is None else timeout_s
        millis = int(timeout_s * 1000)
        steps: list[Callable[[], object]] = [
            *self._closers,
            lambda: self.meter_provider.shutdown(timeout_millis=millis),
        ]
        steps.append(self.tracer_provider.shutdown)
        if self.logger_provider is not None:
            steps.append(self.logger_provider.shutdown)

        def run() -> None:
            for step in steps:
                try:
                    step()
                except Exception as err:
                    logger.debug("llm-otel: shutdown step failed: %s", err)

        worker = threading.Thread(target=run, name="llm-otel-shutdown", daemon=True)
        worker.start()
        worker.join(timeout_s)
        if worker.is_alive():
            logger.warning("llm-otel: telemetry not flushed within %.1f s at shutdown; some may be lost", timeout_s)
            return False
        return True


def _views(settings: Settings) -> Sequence[View]:
    # Bucket boundaries come from the instruments' advisory (the conventions' values, in _names);
    # a view bounds the distinct attribute sets each of our instruments keeps. At the SDK's own
    # default there is none: the SDK applies that limit already, and a view costs about 3,000
    # instructions per record (benchmarks/run.py --callgrind --metrics configured).
    if settings.cardinality_limit == _SDK_CARDINALITY_LIMIT:
        return []
    try:
        limited = View(
            meter_name=n.INSTRUMENTATION_SCOPE,
            instrument_name="*",
            aggregation_cardinality_limit=settings.cardinality_limit,
        )
    except TypeError:  # SDK < 1.45 limits nothing (our cap on model names still bounds those)
        warn_once(
            "views:cardinality",
            "llm-otel: opentelemetry-sdk < 1.45 cannot limit cardinality; the limit of %s is not applied",
            settings.cardinality_limit,
        )
        return []
    return [limited]


def _prometheus(collect: Callable[[], MetricsData | None]) -> PrometheusEndpoint | None:
    """What renders /metrics, if the exporter (prometheus_client) is installed."""
    try:
        from ._prometheus import PrometheusEndpoint

        return PrometheusEndpoint(collect)
    except ImportError as err:
        warn_once("exporter:prometheus", "llm-otel: no Prometheus exporter (%s); /metrics is not served", err)
        return None


def build(settings: Settings, environ: Any, resource: Resource | None = None) -> Pipeline:
    """Every provider and reader the settings ask for; nothing is made global here."""
    resource = resource or Resource.create({"service.name": settings.service_name} if settings.service_name else {})
    closers: list[Callable[[], object]] = []

    tracer_provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    for name in settings.traces_exporter:
        exporter = _exporter("traces", name, _protocol("traces", settings, environ))
        if exporter is not None:
            tracer_provider.add_span_processor(_batch(BatchSpanProcessor, exporter, "OTEL_BSP_", 5000))

    # /metrics, /v1/stats and every push exporter that can share it read the one aggregation.
    collection = Collection()
    readers: list[MetricReader] = [collection]
    for name in settings.metrics_exporter:
        if name == "prometheus":
            continue
        exporter = _exporter("metrics", name, _protocol("metrics", settings, environ))
        if exporter is not None:
            reader = PeriodicExportingMetricReader(
                exporter, settings.metric_export_interval_ms, settings.metric_export_timeout_ms
            )
            if not collection.feed(reader):
                readers.append(reader)
    meter_provider = MeterProvider(
        metric_readers=readers, resource=resource, views=_views(settings), shutdown_on_exit=False
    )

    logger_provider = None
    if settings.logs_exporter:
        from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

        logger_provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
        for name in settings.logs_exporter:
            exporter = _exporter("logs", name, _protocol("logs", settings, environ))
            if exporter is not None:
                logger_provider.add_log_record_processor(_batch(BatchLogRecordProcessor, exporter, "OTEL_BLRP_", 1000))
        handler = OTelLogHandler(logger_provider)
        logger.addHandler(handler)
        closers.append(lambda: logger.removeHandler(handler))
    limit_exporter_logs(_EXPORT_LOG_INTERVAL_S)

    calls.resize(settings.health_window_s)
    service = str(resource.attributes.get("service.name", "unknown_service"))
    # Only /metrics, /v1/stats and /health are served for a whole server; OTLP goes out per process.
    address = f"{settings.prometheus_host}:{settings.prometheus_port}"
    prometheus = _prometheus(collection.collect_data) if "prometheus" in settings.metrics_exporter else None
    shared = shared_directory(environ, address) if prometheus is not None else None
    view = None
    if shared is not None:
        view = ServerView(shared, collection.collect_data, calls, breaker_states, resource)
    source = StatsSource(
        view.collect if view else collection.collect_data,
        view or calls,
        settings.health_threshold,
        service,
        breakers=view.breakers if view else breaker_states,
    )
    meter = meter_provider.get_meter(n.INSTRUMENTATION_SCOPE, __version__)

    def health(_options: CallbackOptions) -> list[Observation]:
        return [Observation(score, {n.PROVIDER_NAME: provider}) for provider, score in source.scores().items()]

    meter.create_observable_gauge(
        n.LLM_OTEL_PROVIDER_HEALTH,
        callbacks=[health],
        unit="1",
        description="Share of calls without a provider-side failure over the health window (1 when idle).",
    )
    pipeline = Pipeline(settings, tracer_provider, meter_provider, logger_provider, None, source, shared, closers)
    if view is not None and prometheus is not None:
        prometheus.collect = view.collect
        _share(pipeline, view, address)
        if pipeline.shared is not None and pipeline.shared.serving:
            pipeline.endpoints = serve(
                settings.prometheus_host,
                settings.prometheus_port,
                settings.prometheus_port_attempts,
                prometheus.scrape,
                source,
            )
            if pipeline.endpoints is not None:
                closers.insert(0, pipeline.endpoints.close)
    return pipeline


def _share(pipeline: Pipeline, view: ServerView, address: str) -> None:
    """Workers write their snapshots for the server: spawned ones from now, forked ones from the fork."""
    shared = pipeline.shared
    assert shared is not None

    def before_fork() -> None:
        # The child's metric state starts as a copy of ours: it reports what it counts from here.
        # (Taken here, not in the child, where a lock held by another thread at the fork would hang.)
        if not pipeline._closed:
            view.mark_fork()

    def after_in_child() -> None:
        if pipeline._closed:
            return
        view.forked(child=True)
        if pipeline.endpoints is not None:
            pipeline.endpoints.abandon()
            pipeline.endpoints = None
        calls.after_fork()
        shared.start_writing(view.take)
        if "multiprocessing" in sys.modules:
            # Its children leave through os._exit, past atexit, running only the finalizers registered
            # after its own after-fork reset (which clears ours): register there.
            util = importlib.import_module("multiprocessing.util")
            util.register_after_fork(pipeline, lambda p: util.Finalize(None, p.shutdown, exitpriority=0))

    # Python processes started from this one (uvicorn's spawned workers) join its server.
    joining = {DIR_ENV: str(shared.path), ROOT_ENV: f"{os.getpid()}@{address}"}

    def close() -> None:
        if not shared.serving:
            shared.finish_writing(view.take)
            return
        shared.remove()
        # Processes started from now on would otherwise join, as workers, a server that no longer
        # serves. Only our own values go: a directory the user chose stays chosen.
        if os.environ.get(ROOT_ENV) == joining[ROOT_ENV]:
            del os.environ[ROOT_ENV]
        if shared.owned and os.environ.get(DIR_ENV) == joining[DIR_ENV]:
            del os.environ[DIR_ENV]

    pipeline._closers.insert(0, close)
    if shared.serving:
        os.environ.update(joining)
    else:
        shared.start_writing(view.take)
    os.register_at_fork(
        before=before_fork, after_in_parent=lambda: view.forked(child=False), after_in_child=after_in_child
    )
