"""The entry points ``opentelemetry-instrument`` loads: our distro and our configurator.

The stock configurator can fan metrics out to Prometheus and OTLP too, but it cannot serve
/v1/stats and /health beside /metrics, bound the wait at exit or quiet a collector that is down;
ours is configure() itself, so the wrapper command and code get the same pipeline.
"""

from __future__ import annotations

from typing import Any

# The module is marked "type: ignore" as a whole, so mypy sees none of its names.
from opentelemetry.instrumentation.distro import BaseDistro  # type: ignore[attr-defined]
from opentelemetry.sdk._configuration import _BaseConfigurator

from ._configure import configure


class Distro(BaseDistro):  # type: ignore[misc]
    """Selected with ``OTEL_PYTHON_DISTRO=llm_otel``; instrumentors load with the stock behaviour."""

    def _configure(self, **kwargs: Any) -> None:
        """Nothing to set: configure() applies our defaults for whatever the environment leaves out."""


class Configurator(_BaseConfigurator):
    """Selected with ``OTEL_PYTHON_CONFIGURATOR=llm_otel``: runs configure() from the environment."""

    def _configure(self, **kwargs: Any) -> None:
        configure()
