"""The entry points ``opentelemetry-instrument`` loads: our distro and our configurator.

The stock configurator can fan metrics out to Prometheus and OTLP too, but it cannot serve
/v1/stats and /health beside /metrics, bound the wait at exit or quiet a collector that is down;
ours is configure() itself, so the wrapper command and code get the same pipeline.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint
from typing import Any

# The module is marked "type: ignore" as a whole, so mypy sees none of its names.
from opentelemetry.instrumentation.distro import BaseDistro  # type: ignore[attr-defined]
from opentelemetry.sdk._configuration import _BaseConfigurator

from llm_otel._services import SYSTEM_METRICS, instance, prefer_stable_http

from ._configure import configure


class Distro(BaseDistro):  # type: ignore[misc]
    """Selected with ``OTEL_PYTHON_DISTRO=llm_otel``; instrumentors load as stock but for system-metrics,
    which records process-level series only (see llm_otel._services)."""

    def _configure(self, **kwargs: Any) -> None:
        # configure() applies our pipeline defaults; here only what instrumentations read on load.
        prefer_stable_http()

    def load_instrumentor(self, entry_point: EntryPoint, **kwargs: Any) -> None:
        if entry_point.name == SYSTEM_METRICS:
            instance(entry_point).instrument(**kwargs)
        else:
            super().load_instrumentor(entry_point, **kwargs)


class Configurator(_BaseConfigurator):
    """Selected with ``OTEL_PYTHON_CONFIGURATOR=llm_otel``: runs configure() from the environment."""

    def _configure(self, **kwargs: Any) -> None:
        configure()
