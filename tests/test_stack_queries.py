"""Every query of the dashboards and the alert rules, asked of a real Prometheus that scrapes
``llm-otel demo --keep-serving`` (mixed traffic with injected faults, a circuit breaker that opens,
retries and fallbacks), configured with the scrape configuration and rules ``llm-otel dashboards`` writes.

Grafana's variables are replaced twice: by "All" (``.*``) as a dashboard opens, and by one real value
each, which a misspelt label could not match. A headless Chromium then renders Prometheus's own graph
page; the screenshot is kept under test-artifacts/.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from _receivers import OtlpReceiver, Prometheus, wait_for
from llm_otel.demo._providers import installed
from llm_otel.stack import StackOptions, files
from llm_otel.stack import _dashboards as boards
from llm_otel.stack import _prometheus as rules
from llm_otel.stack import _promql as q

pytestmark = pytest.mark.skipif(not shutil.which("prometheus"), reason="needs Debian's prometheus package")

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("LLM_OTEL_TEST_ARTIFACTS", ROOT / "test-artifacts"))
SERVICE = "llm-otel-demo"
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]  # the stack the tests mirror
GRAFANA = {"$__rate_interval": "1m", "$__range": "5m"}
ALL = {"$service": ".*", "$provider": ".*", "$model": ".*"}
ONE = {"$service": SERVICE, "$provider": "openai", "$model": "gpt-4o"}
# The providers the demo calls: those whose SDK is installed.
DEMO_PROVIDERS = tuple(provider.name for provider in installed())


def _fill(expr: str, values: dict[str, str]) -> str:
    for name, value in {**GRAFANA, **values}.items():
        expr = expr.replace(name, value)
    assert "$" not in expr, expr
    return expr


def _panel_queries() -> list[tuple[str, str]]:
    return [
        (f"{board.title} / {panel.title}", query.expr)
        for board in boards.DASHBOARDS
        for panel in board.panels
        for query in panel.queries
    ]


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    """Where the demo sends its traces and logs, as it sends them to the collector in the compose stack."""
    server = OtlpReceiver()
    yield server
    server.close()


@pytest.fixture(scope="module")
def demo(receiver: OtlpReceiver) -> Iterator[str]:
    """``llm-otel demo --keep-serving`` in its own process, configured as docker-compose.yml configures it;
    yields the host:port of its /metrics."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    compose = COMPOSE["demo"]["environment"]
    assert compose["OTEL_METRICS_EXPORTER"] == "prometheus"  # scraped only, as here
    environ.update(compose, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint)
    process = subprocess.Popen(
        [sys.executable, "-m", "llm_otel.cli", "demo", "--keep-serving", "--rps", "20",
         "--metrics-host", "127.0.0.1", "--metrics-port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        for line in process.stdout:
            found = re.search(r"Prometheus metrics at http://([\d.]+:\d+)/metrics", line)
            if found:
                yield found.group(1)
                break
        else:
            pytest.fail(f"the demo did not serve /metrics: {process.communicate()[1]}")
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr


@pytest.fixture(scope="module")
def prometheus(demo: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    """A real Prometheus on the written scrape configuration and rules, every second instead of every 15."""
    workdir = tmp_path_factory.mktemp("prometheus")
    written = files(StackOptions(app_job=SERVICE, app_target=demo, collector_host="127.0.0.1"))
    config = yaml.safe_load(written["prometheus/prometheus.yml"])
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    (workdir / "rules").mkdir()
    (workdir / "rules/llm-otel.rules.yml").write_text(written["prometheus/rules/llm-otel.rules.yml"])
    compose = COMPOSE["prometheus"]["command"]
    flags = [flag for flag in compose if flag.startswith("--enable-feature")]
    assert flags == ["--enable-feature=exemplar-storage"]
    server = Prometheus(None, workdir, config=workdir / "prometheus.yml", flags=flags)
    try:
        # Ready once the demo's first resilience phase (breaker open and closed again) has been scraped twice.
        wait_for(
            lambda: (
                server.query(f"increase({q.BREAKER_TRANSITIONS}[1m]) > 0")
                and server.query(f"count_over_time({q.FALLBACKS}[1m]) >= 2")
            ),
            "the demo's faults to be scraped",
            timeout_s=90,
        )
        yield server
    finally:
        server.close()


def _missing(server: Prometheus, queries: list[tuple[str, str]]) -> list[str]:
    """The queries that fail or return no series."""
    missing = []
    for where, expr in queries:
        answer = server.api("query", query=expr)
        if answer["status"] != "success" or not answer["data"]["result"]:
            missing.append(f"{where}: {expr} -> {answer.get('error') or 'no data'}")
    return missing


@pytest.mark.parametrize("values", [ALL, ONE], ids=["all", "one-value-each"])
def test_every_dashboard_query_returns_data(prometheus: Prometheus, values: dict[str, str]) -> None:
    queries = [(where, _fill(expr, values)) for where, expr in _panel_queries()]
    assert len(queries) > 25
    # Series appear as the demo's phases run; a query without data yet is asked again until it has some.
    wait_for(lambda: not _missing(prometheus, queries), "data", timeout_s=60)


def test_every_dashboard_variable_lists_values(prometheus: Prometheus) -> None:
    for board in boards.DASHBOARDS:
        for series, label in boards.variable_queries(board):
            found = prometheus.query(f"count by ({label}) ({_fill(series, ALL)})")
            assert {row["metric"].get(label) for row in found} - {None}, (board.title, series, label)
    providers = prometheus.query(f"count by ({q.PROVIDER}) ({q.DURATION}_count)")
    assert {row["metric"][q.PROVIDER] for row in providers} == set(DEMO_PROVIDERS)


def test_every_rule_is_healthy_and_every_signal_returns_data(prometheus: Prometheus) -> None:
    objective, budget = StackOptions().latency_objective, StackOptions().cost_budget
    signals = [(name, expr) for name, expr in rules.recording_rules(objective).items()]
    signals += [(alert.name, alert.signal) for alert in rules.alerts(objective, budget)]
    wait_for(lambda: not _missing(prometheus, signals), "every rule's signal", timeout_s=30)
    # Each full expression parses and evaluates; thresholds decide whether it returns anything.
    for alert in rules.alerts(objective, budget):
        assert prometheus.api("query", query=alert.expr)["status"] == "success", alert.name
    # The faulty workload fails more than 5 % of its calls: the error-rate condition holds on live data.
    assert prometheus.query(rules.alerts(objective, budget)[0].expr)

    def evaluated() -> list[dict[str, Any]] | None:
        groups = prometheus.api("rules")["data"]["groups"]
        loaded = [rule for group in groups for rule in group["rules"]]
        return loaded if loaded and all(rule.get("lastEvaluation", "").startswith("20") for rule in loaded) else None

    loaded = wait_for(evaluated, "every rule to be evaluated")
    assert len(loaded) == len(rules.recording_rules(objective)) + len(rules.alerts(objective, budget))
    assert [
        (rule["name"], rule["health"], rule.get("lastError", "")) for rule in loaded if rule["health"] != "ok"
    ] == []


@pytest.mark.skipif(not shutil.which("chromium"), reason="needs Debian's chromium package")
def test_prometheus_graph_page_shows_the_duration_series(prometheus: Prometheus, tmp_path: Path) -> None:
    expr = f"sum by ({q.PROVIDER}) (rate({q.DURATION}_count[1m]))"
    graph = {"g0.expr": expr, "g0.tab": "0", "g0.range_input": "1m", "g0.stacked": "0", "g0.show_exemplars": "0"}
    # %20, not +, for spaces: the page's script decodes with decodeURIComponent.
    page = f"{prometheus.url}/graph?{urllib.parse.urlencode(graph, quote_via=urllib.parse.quote)}"
    chrome = [
        # Root in a container: no sandbox, and no reliance on a small /dev/shm.
        "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
        "--window-size=1400,1000", f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=15000",
    ]  # fmt: skip
    dom = subprocess.run([*chrome, "--dump-dom", page], capture_output=True, text=True, timeout=120, check=True).stdout
    # Debian's Prometheus serves the classic UI: once the range query has answered, its graph tab draws
    # one SVG line per series (a path of many points) and a legend entry holding the series' labels.
    legend = re.findall(r'<span class="label">([^<]*)</span>', dom)
    assert sorted(legend) == [f'{{{q.PROVIDER}="{name}"}}' for name in sorted(DEMO_PROVIDERS)], dom[-4000:]
    lines = re.findall(r'<path class="path" d="M([^"]*)"', dom)
    assert len(lines) == len(DEMO_PROVIDERS) and all(line.count("L") >= 10 for line in lines), lines
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / "prometheus-graph.png"
    screenshot.unlink(missing_ok=True)
    subprocess.run([*chrome, f"--screenshot={screenshot}", page], capture_output=True, timeout=120, check=True)
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 20_000  # a page with a plotted graph, not an empty one


def _cookbook() -> list[str]:
    spec = importlib.util.spec_from_file_location("docs_reference", ROOT / "docs/_gen/reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.cookbook_queries())


# Cookbook queries that answer "is anything wrong right now?": on the demo they may rightly be empty.
QUIET = ("unpriced_calls", f"{q.BREAKER_STATE} != 0", f"min_over_time({q.BREAKER_STATE}[5m]) == 1")


def test_every_cookbook_query_runs_and_the_workload_gives_it_data(prometheus: Prometheus) -> None:
    queries = _cookbook()
    assert len(queries) > 20
    for expr in queries:
        assert prometheus.api("query", query=expr)["status"] == "success", expr
    expected = [("docs/promql.md", expr) for expr in queries if not any(quiet in expr for quiet in QUIET)]
    assert len(expected) == len(queries) - len(QUIET)
    wait_for(lambda: not _missing(prometheus, expected), "every cookbook query's data", timeout_s=60)


def test_a_latency_exemplar_leads_to_the_call_span_and_its_trace_to_logs(
    prometheus: Prometheus, receiver: OtlpReceiver
) -> None:
    """The two clicks, as data: a duration bucket's exemplar names a call span that reached the trace
    backend, and traces of the resilience phase carry log records with their ids."""

    def exemplars() -> list[dict[str, str]] | None:
        answer = prometheus.api("query_exemplars", query=f"{q.DURATION}_bucket", start="0", end="9999999999")
        found = [e["labels"] for series in answer["data"] for e in series["exemplars"]]
        return found or None

    found = wait_for(exemplars, "exemplars in Prometheus")

    def exported() -> dict[str, Any] | None:
        received = {span.span_id.hex(): span for span in receiver.spans()}
        return received if all(exemplar["span_id"] in received for exemplar in found) else None

    spans = wait_for(exported, "the exemplars' spans to be exported")
    for exemplar in found:
        span = spans[exemplar["span_id"]]
        assert span.trace_id.hex() == exemplar["trace_id"]
        assert span.kind == span.SPAN_KIND_CLIENT and span.name.split()[0] in {"chat", "embeddings"}, span.name
    logged = {record.trace_id.hex() for record in receiver.log_records()}
    assert {exemplar["trace_id"] for exemplar in found} & logged
