"""What configure() builds, read from the standard OTEL_* variables, a few LLM_OTEL_* ones, and arguments.

Arguments win over the environment. A bad argument raises at once (the caller wrote it); a bad
environment value is logged once and replaced by its default, so a typo in a deployment cannot
stop the application from starting.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from llm_otel._log import warn_once

# Exporter choices per signal, as the OTEL_*_EXPORTER variables spell them.
_CHOICES = {
    "traces": frozenset({"otlp", "console", "none"}),
    "metrics": frozenset({"otlp", "prometheus", "console", "none"}),
    "logs": frozenset({"otlp", "console", "none"}),
}
_PROTOCOLS = frozenset({"grpc", "http/protobuf"})
# Numeric fields: (lowest, highest) accepted; a float bound makes the field a float. The upper
# bounds are far past any sensible value and keep inf and overflowing timeouts out.
_RANGES: dict[str, tuple[float, float]] = {
    "prometheus_port": (0, 65535),
    "prometheus_port_attempts": (1, 1024),
    "metric_export_interval_ms": (1, 86_400_000),
    "metric_export_timeout_ms": (1, 86_400_000),
    "cardinality_limit": (1, 1_000_000),
    "shutdown_timeout_s": (0.001, 3600.0),
    "health_window_s": (0.001, 86_400.0),
    "health_threshold": (0.0, 1.0),
}


@dataclass(frozen=True)
class Settings:
    """The effective configuration; ``describe()`` of the pipeline prints it."""

    service_name: str | None = None
    traces_exporter: tuple[str, ...] = ("otlp",)
    metrics_exporter: tuple[str, ...] = ("prometheus", "otlp")
    logs_exporter: tuple[str, ...] = ("otlp",)
    otlp_protocol: str = "http/protobuf"
    prometheus_host: str = "localhost"
    prometheus_port: int = 9464
    # Consecutive ports tried when the first is taken: one per worker of a pre-fork server.
    prometheus_port_attempts: int = 1
    metric_export_interval_ms: int = 60_000
    metric_export_timeout_ms: int = 30_000
    cardinality_limit: int = 2000
    shutdown_timeout_s: float = 3.0
    health_window_s: float = 60.0
    health_threshold: float = 0.5
    disabled: bool = False


# Environment variable -> field. OTel's own names where OTel has one.
ENV = {
    "OTEL_SERVICE_NAME": "service_name",
    "OTEL_TRACES_EXPORTER": "traces_exporter",
    "OTEL_METRICS_EXPORTER": "metrics_exporter",
    "OTEL_LOGS_EXPORTER": "logs_exporter",
    "OTEL_EXPORTER_OTLP_PROTOCOL": "otlp_protocol",
    "OTEL_EXPORTER_PROMETHEUS_HOST": "prometheus_host",
    "OTEL_EXPORTER_PROMETHEUS_PORT": "prometheus_port",
    "LLM_OTEL_PROMETHEUS_PORT_ATTEMPTS": "prometheus_port_attempts",
    "OTEL_METRIC_EXPORT_INTERVAL": "metric_export_interval_ms",
    "OTEL_METRIC_EXPORT_TIMEOUT": "metric_export_timeout_ms",
    "LLM_OTEL_CARDINALITY_LIMIT": "cardinality_limit",
    "LLM_OTEL_SHUTDOWN_TIMEOUT": "shutdown_timeout_s",
    "LLM_OTEL_HEALTH_WINDOW": "health_window_s",
    "LLM_OTEL_HEALTH_THRESHOLD": "health_threshold",
    "OTEL_SDK_DISABLED": "disabled",
}


def _exporters(signal: str, value: object) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ValueError(f"{signal} exporter must be a comma-separated string or a sequence, got {value!r}")
    names = tuple(str(item).strip().lower() for item in items if str(item).strip())
    unknown = sorted(set(names) - _CHOICES[signal])
    if unknown:
        raise ValueError(f"unknown {signal} exporter {', '.join(unknown)}; choose from {sorted(_CHOICES[signal])}")
    return tuple(name for name in names if name != "none")


def _convert(name: str, value: object) -> object:
    """One field's value in its type, or ValueError saying what is wrong with it."""
    if name.endswith("_exporter"):
        return _exporters(name.removesuffix("_exporter"), value)
    if name == "otlp_protocol":
        protocol = str(value).strip().lower()
        if protocol not in _PROTOCOLS:
            raise ValueError(f"otlp_protocol must be one of {sorted(_PROTOCOLS)}, got {value!r}")
        return protocol
    if name == "disabled":
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() == "true"
    if name in ("service_name", "prometheus_host"):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{name} must be a non-empty string, got {value!r}")
        return value.strip()
    low, high = _RANGES[name]
    numeric = float if isinstance(low, float) else int
    kind = "a number" if numeric is float else "a whole number"
    if isinstance(value, bool) or (numeric is int and isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"{name} must be {kind}, got {value!r}")
    try:
        number = numeric(value if isinstance(value, int | float) else str(value))
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be {kind}, got {value!r}") from None
    # Written as a negation so that NaN, which compares false with everything, is out of range too.
    if not low <= number <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value!r}")
    return number


def resolve(arguments: Mapping[str, object], environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``environ`` (default: os.environ) overridden by ``arguments`` (None = not given)."""
    environ = os.environ if environ is None else environ
    known = {f.name for f in fields(Settings)}
    unexpected = sorted(set(arguments) - known)
    if unexpected:
        raise TypeError(f"configure() got unexpected arguments: {', '.join(unexpected)}")
    values: dict[str, Any] = {}  # each value converted to its field's type by _convert
    for variable, name in ENV.items():
        raw = environ.get(variable)
        if raw is None or not raw.strip():
            continue
        try:
            values[name] = _convert(name, raw)
        except ValueError as err:
            warn_once(f"env:{variable}", "llm-otel: ignoring %s=%r (%s); using the default", variable, raw, err)
    for name, value in arguments.items():
        if value is not None:
            values[name] = _convert(name, value)
    return Settings(**values)
