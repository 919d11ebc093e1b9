"""Wiring the OpenTelemetry SDK: providers, exporters, the /metrics, /v1/stats and /health endpoints, logs."""

from __future__ import annotations

from ._configure import configure
from ._logging import JsonFormatter, install_json_logging
from ._pipeline import Pipeline

__all__ = ["JsonFormatter", "Pipeline", "configure", "install_json_logging"]
