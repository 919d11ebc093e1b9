"""``llm-otel demo`` end to end: real fake provider, real SDK, real Prometheus reader on a free port."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys

from _receivers import free_port
from llm_otel.demo import DemoOptions, run_demo


def test_demo_runs_and_summarises_recorded_metrics() -> None:
    out = io.StringIO()
    status = run_demo(DemoOptions(duration=3, rps=20, metrics_host="127.0.0.1", metrics_port=0, seed=3), out)
    text = out.getvalue()
    assert status == 0
    assert re.search(r"Prometheus metrics at http://127\.0\.0\.1:\d+/metrics", text)
    rows = [line.split() for line in text.splitlines() if line.startswith(("openai ", "anthropic ", "ollama "))]
    assert {row[0] for row in rows} == {"openai", "anthropic", "ollama"}, text
    calls = sum(int(row[2]) for row in rows)
    done = re.search(r"done\s+(\d+) calls, (\d+) failed", text)
    assert done is not None
    assert calls == int(done.group(1))  # the table, read from metrics, agrees with the workload's own count
    assert sum(int(row[3]) for row in rows) == int(done.group(2))


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
