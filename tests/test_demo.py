"""``llm-otel demo`` end to end: real fake provider, real SDK, real Prometheus reader on a free port."""

from __future__ import annotations

import io
import re
import subprocess
import sys

from llm_otel.demo import DemoOptions, run_demo


def test_demo_runs_and_summarises_recorded_metrics() -> None:
    out = io.StringIO()
    status = run_demo(DemoOptions(duration=3, rps=20, metrics_host="127.0.0.1", metrics_port=0, seed=3), out)
    text = out.getvalue()
    assert status == 0
    assert re.search(r"Prometheus metrics at http://127\.0\.0\.1:\d+/metrics", text)
    rows = [line.split() for line in text.splitlines() if line.startswith(("openai ", "anthropic "))]
    assert rows, text
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
