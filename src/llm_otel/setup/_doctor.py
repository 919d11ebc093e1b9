"""``llm-otel doctor``: what is installed, supported and instrumented, and where telemetry would go."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from collections.abc import Mapping
from importlib import metadata
from typing import Any
from urllib.parse import urlsplit

from opentelemetry.instrumentation.dependencies import get_dependency_conflicts

from llm_otel._instrument import _INSTRUMENTORS
from llm_otel._services import installed
from llm_otel._version import __version__

from ._settings import Settings, resolve

_OTLP_DEFAULT = {"http/protobuf": "http://localhost:4318", "grpc": "http://localhost:4317"}
_PATHS = {"traces": "/v1/traces", "metrics": "/v1/metrics", "logs": "/v1/logs"}


def _reachable(host: str, port: int) -> str:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return "answers"
    except OSError as err:
        return f"does not answer ({err.strerror or err})"


def _otlp_endpoint(signal: str, settings: Settings, environ: Mapping[str, str]) -> str:
    protocol = environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL", settings.otlp_protocol)
    specific = environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT")
    if specific:
        return specific
    base = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", _OTLP_DEFAULT.get(protocol, _OTLP_DEFAULT["http/protobuf"]))
    return base.rstrip("/") + (_PATHS[signal] if protocol == "http/protobuf" else "")


def _sdks() -> list[dict[str, Any]]:
    rows = []
    for cls in _INSTRUMENTORS:
        name = cls.requirement.split()[0]
        try:
            version: str | None = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = None
        supported = version is not None and get_dependency_conflicts([cls.requirement]) is None
        patched = 0
        if supported:
            instrumentor = cls()
            already = instrumentor.is_instrumented_by_opentelemetry
            if not already:
                instrumentor.instrument()
                for module in cls.root_modules:
                    # A root module may be another package's (bedrock's: the contrib botocore
                    # instrumentation it keeps to one span), absent here.
                    with contextlib.suppress(ImportError):
                        __import__(module)
            patched = len(instrumentor._patched)
            if not already:
                instrumentor.uninstrument()
        rows.append(
            {
                "sdk": name,
                "version": version,
                "requirement": cls.requirement,
                "supported": supported,
                "patched": patched,
            }
        )
    return rows


def _entry_points(group: str) -> list[str]:
    return sorted(f"{ep.name} ({ep.value})" for ep in metadata.entry_points(group=group))


def _others(ours: set[str]) -> list[str]:
    """Instrumentors of other packages for the SDKs we instrument: both would record every call."""
    found = []
    harmless = {name for cls in _INSTRUMENTORS for name in cls.coexisting}
    for ep in metadata.entry_points(group="opentelemetry_instrumentor"):
        if not ep.value.startswith("llm_otel.") and ep.name not in harmless and any(sdk in ep.name for sdk in ours):
            found.append(f"{ep.name} ({ep.value})")
    return sorted(found)


def report(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Everything ``doctor`` prints, as data."""
    environ = os.environ if environ is None else environ
    settings = resolve({}, environ)
    sdks = _sdks()
    exporters: dict[str, list[dict[str, str]]] = {}
    for signal, names in (
        ("traces", settings.traces_exporter),
        ("metrics", settings.metrics_exporter),
        ("logs", settings.logs_exporter),
    ):
        exporters[signal] = []
        for name in names:
            if name == "prometheus":
                host, port = settings.prometheus_host, settings.prometheus_port
                state = _reachable(host, port)
                status = "taken (another process serves it?)" if state == "answers" else "free"
                exporters[signal].append(
                    {"exporter": name, "endpoint": f"http://{host}:{port}/metrics", "port": status}
                )
            elif name == "otlp":
                endpoint = _otlp_endpoint(signal, settings, environ)
                parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
                port = parts.port or (443 if parts.scheme == "https" else 80)
                exporters[signal].append(
                    {"exporter": name, "endpoint": endpoint, "collector": _reachable(parts.hostname or "", port)}
                )
            else:
                exporters[signal].append({"exporter": name, "endpoint": "stdout"})
    return {
        "llm_otel": __version__,
        "python": sys.version.split()[0],
        "sdk_disabled": settings.disabled,
        "sdks": sdks,
        "exporters": exporters,
        "distros": _entry_points("opentelemetry_distro"),
        "configurators": _entry_points("opentelemetry_configurator"),
        "other_instrumentors": _others({row["sdk"] for row in sdks}),
        # The process, web and RPC instrumentations the extras install, whose library is present.
        "services": [point.name for point in installed()],
    }


def render(found: dict[str, Any]) -> str:
    """The report as text for a terminal."""
    lines = [f"llm-otel {found['llm_otel']} on Python {found['python']}", "", "Provider SDKs:"]
    for row in found["sdks"]:
        if row["version"] is None:
            state = "not installed"
        elif not row["supported"]:
            state = f"installed {row['version']}, NOT supported (needs {row['requirement']})"
        else:
            state = f"{row['version']}, supported, {row['patched']} methods instrumented"
        lines.append(f"  {row['sdk']:<10} {state}")
    lines += ["", "Exporters (from the environment):"]
    if found["sdk_disabled"]:
        lines.append("  OTEL_SDK_DISABLED is true: nothing is configured")
    for signal, rows in found["exporters"].items():
        if not rows:
            lines.append(f"  {signal:<8} none")
        for row in rows:
            extra = {k: v for k, v in row.items() if k not in ("exporter", "endpoint")}
            detail = "".join(f", {key} {value}" for key, value in extra.items())
            lines.append(f"  {signal:<8} {row['exporter']} -> {row['endpoint']}{detail}")
    lines += ["", "Service instrumentations (the process and web extras):"]
    lines.append(f"  {', '.join(found['services']) or 'none: pip install llm-otel[process,web]'}")
    lines += ["", "opentelemetry-instrument entry points:"]
    lines.append(f"  distros:       {', '.join(found['distros']) or 'none'}")
    lines.append(f"  configurators: {', '.join(found['configurators']) or 'none'}")
    if len(found["distros"]) > 1 or len(found["configurators"]) > 1:
        lines.append("  several found: set OTEL_PYTHON_DISTRO=llm_otel and OTEL_PYTHON_CONFIGURATOR=llm_otel")
    for other in found["other_instrumentors"]:
        lines.append(f"  warning: {other} also instruments these SDKs; every call would be recorded twice.")
        lines.append("           Disable it with OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=<its name>.")
    return "\n".join(lines)
