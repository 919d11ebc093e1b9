"""``llm-otel demo`` end to end: real fake provider, real SDK, real Prometheus reader on a free port."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from _receivers import OtlpReceiver, free_port
from llm_otel.demo import DemoOptions, _providers, run_demo


@pytest.fixture(scope="module")
def demo_run() -> Iterator[tuple[str, OtlpReceiver]]:
    """One short demo run in this process, exporting over OTLP too: its printed output and what was exported."""
    receiver = OtlpReceiver()
    with pytest.MonkeyPatch.context() as patch:
        for key in [key for key in os.environ if key.startswith(("OTEL_", "LLM_OTEL_"))]:
            patch.delenv(key)
        patch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
        patch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
        out = io.StringIO()
        status = run_demo(DemoOptions(duration=3, rps=20, metrics_host="127.0.0.1", metrics_port=0, seed=3), out)
    assert status == 0
    yield out.getvalue(), receiver
    receiver.close()


def _table(text: str) -> list[list[str]]:
    """The summary table's rows, one per provider and model."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("provider ")) + 2
    end = lines.index("", start)
    return [line.split() for line in lines[start:end]]


def test_demo_runs_and_summarises_recorded_metrics(demo_run: tuple[str, OtlpReceiver]) -> None:
    text, _ = demo_run
    assert re.search(r"Prometheus metrics at http://127\.0\.0\.1:\d+/metrics", text)
    rows = _table(text)
    calls = sum(int(row[2]) for row in rows)
    done = re.search(r"done\s+(\d+) calls, (\d+) failed", text)
    assert done is not None
    assert calls == int(done.group(1))  # the table, read from metrics, agrees with the workload's own count
    assert sum(int(row[3]) for row in rows) == int(done.group(2))


def test_demo_drives_every_installed_provider(demo_run: tuple[str, OtlpReceiver]) -> None:
    text, receiver = demo_run
    names = {provider.name for provider in _providers.installed()}
    assert "openai" in names
    titles = ", ".join(provider.title for provider in _providers.installed()[:-1])
    assert f"fake {titles} and {_providers.installed()[-1].title} provider at" in text
    assert {row[0] for row in _table(text)} == names, text  # metrics
    spans = [span for span in receiver.spans() if span.kind == span.SPAN_KIND_CLIENT]
    assert {_attribute(span.attributes, "gen_ai.provider.name") for span in spans} == names
    # Every model of a provider other than Ollama (local) is priced: each provider's calls have a cost.
    assert {name for name, cost in _costs(receiver).items() if cost > 0} == names - {"ollama"}


def _attribute(attributes: Any, key: str) -> str | None:
    return next((kv.value.string_value for kv in attributes if kv.key == key), None)


def _costs(receiver: OtlpReceiver) -> dict[str | None, float]:
    """The cost counter's total by provider, from the last OTLP export (cumulative)."""
    costs: dict[str | None, float] = {}
    for request in receiver.requests["/v1/metrics"]:
        points = [
            point
            for resource in request.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if metric.name == "llm_otel.client.cost"
            for point in metric.sum.data_points
        ]
        if points:
            costs = {}
            for point in points:
                name = _attribute(point.attributes, "gen_ai.provider.name")
                costs[name] = costs.get(name, 0.0) + point.as_double
    return costs


def test_demo_command_line_help() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "llm_otel.cli", "demo", "--help"], capture_output=True, text=True, check=True
    )
    assert "--keep-serving" in out.stdout


def _demo_address(*flags: str, **environ: str) -> str:
    """Where `llm-otel demo` served /metrics, from its first line."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLM_OTEL_"))}
    done = subprocess.run(
        [sys.executable, "-m", "llm_otel.cli", "demo", "--duration", "0.5", "--rps", "4", *flags],
        env={**clean, **environ},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found = re.search(r"Prometheus metrics at http://([^/]+)/metrics", done.stdout)
    assert found, done.stdout
    return found.group(1)


def test_demo_serves_where_the_prometheus_variables_say_unless_a_flag_says_otherwise() -> None:
    from_env, from_flag = free_port(), free_port()
    environ = {"OTEL_EXPORTER_PROMETHEUS_HOST": "127.0.0.1", "OTEL_EXPORTER_PROMETHEUS_PORT": str(from_env)}
    assert _demo_address(**environ) == f"127.0.0.1:{from_env}"
    assert _demo_address("--metrics-port", str(from_flag), **environ) == f"127.0.0.1:{from_flag}"
