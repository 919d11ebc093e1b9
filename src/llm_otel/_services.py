"""The service around the LLM calls: OpenTelemetry's own instrumentations of the process, of web and
gRPC servers and of HTTP clients (the ``process`` and ``web`` extras), recording into our pipeline.

We write none of these; we choose which to load, load them as ``opentelemetry-instrument`` does,
and set two defaults: process-level series only from system-metrics, and the stable HTTP names.
"""

from __future__ import annotations

import os
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from llm_otel._log import warn_once

GROUP = "opentelemetry_instrumentor"
# Entry-point names of the instrumentations the extras install; each loads only if its library is.
INSTRUMENTATIONS = (
    "system_metrics",
    "fastapi",
    "flask",
    "django",
    "grpc_server",
    "grpc_aio_server",
    "grpc_client",
    "grpc_aio_client",
    "requests",
    "httpx",
    "httpx2",
)
SYSTEM_METRICS = "system_metrics"
# The process's own series. system-metrics' default adds per-CPU, per-disk, per-interface and
# per-connection series of the whole host, hundreds on a busy one: a node exporter's job.
PROCESS_METRICS: dict[str, list[str] | None] = {
    "process.cpu.time": ["user", "system"],
    "process.cpu.utilization": ["user", "system"],
    "process.memory.usage": None,
    "process.memory.virtual": None,
    "process.thread.count": None,
    "process.open_file_descriptor.count": None,
    "process.context_switches": ["involuntary", "voluntary"],
    "cpython.gc.collections": None,
}
OPT_IN = "OTEL_SEMCONV_STABILITY_OPT_IN"


def prefer_stable_http() -> None:
    """The stable HTTP names (``http.server.request.duration`` in seconds, ``http.route``), which the
    dashboards query, unless the user chose (``http`` or ``http/dup``). Read once, when the first
    instrumentor of any kind is instrumented, so set before that."""
    chosen = [part.strip() for part in os.environ.get(OPT_IN, "").split(",") if part.strip()]
    if not any(part.startswith("http") for part in chosen):
        os.environ[OPT_IN] = ",".join([*chosen, "http"])


def instance(entry_point: EntryPoint) -> Any:
    """The entry point's instrumentor, with our configuration where we have one."""
    cls = entry_point.load()
    return cls(config=PROCESS_METRICS) if entry_point.name == SYSTEM_METRICS else cls()


def installed() -> list[EntryPoint]:
    """The service instrumentations present with their library, in the order above.

    Checked before loading, as opentelemetry-instrument does: some import their library at once.
    """
    from opentelemetry.instrumentation.dependencies import get_dist_dependency_conflicts

    found = {
        point.name: point
        for point in entry_points(group=GROUP)
        if point.name in INSTRUMENTATIONS and (point.dist is None or get_dist_dependency_conflicts(point.dist) is None)
    }
    return [found[name] for name in INSTRUMENTATIONS if name in found]


def instrument_services(**providers: Any) -> list[str]:
    """Instrument every service library present; returns the entry-point names now instrumented.

    One whose library is absent (flask without Flask) is skipped quietly; one that fails to load is
    logged once and skipped.
    """
    prefer_stable_http()
    done = []
    for point in installed():
        try:
            instrumentor = instance(point)
            if not instrumentor.is_instrumented_by_opentelemetry:
                instrumentor.instrument(**providers)
        except Exception as err:  # a third-party instrumentation must not stop the app
            warn_once(f"service:{point.name}", "llm-otel: cannot instrument %s (%s); skipped", point.name, err)
            continue
        done.append(point.name)
    return done
