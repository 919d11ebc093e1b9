"""``llm-otel dashboards``: what it writes, that the repository's deploy/ tree is that output, and that
the docs name every dashboard panel and alert. (Queries against a real Prometheus:
test_stack_queries.py; promtool: test_alerts.py; compose and collector files: test_stack_files.py.)"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from llm_otel.stack import StackOptions, files
from llm_otel.stack import _dashboards as boards
from llm_otel.stack import _prometheus as rules

ROOT = Path(__file__).resolve().parent.parent
# The options `make deploy` writes deploy/ with: the services of docker-compose.yml.
COMPOSE = StackOptions(app_job="llm-otel-demo", app_target="demo:9464", collector_host="otel-collector")


def test_the_written_files_are_the_ones_the_repository_deploys() -> None:
    """deploy/ and collector-config.yaml are `make deploy`'s output: regenerate them after changing the source."""
    written = files(COMPOSE)
    assert (ROOT / "collector-config.yaml").read_text() == written.pop("collector-config.yaml")
    for relative, content in written.items():
        assert (ROOT / "deploy" / relative).read_text() == content, f"deploy/{relative} is stale: run make deploy"
    generated_dirs = {ROOT / "deploy" / Path(relative).parent for relative in written}
    on_disk = {path for folder in generated_dirs for path in folder.iterdir() if path.is_file()}
    assert on_disk == {ROOT / "deploy" / relative for relative in written}


def test_written_yaml_reads_back_as_the_tree_it_came_from() -> None:
    from llm_otel.stack import _yaml

    options = StackOptions()
    for tree in (
        rules.rules_file(options.latency_objective, options.cost_budget),
        rules.scrape_config("llm app", "localhost:9464", "otel-collector"),
        {"odd": ["yes", "no", "null", "1.5", "-x", "a: b", "#c", "", "  lead", "multi\nline\n", True, 3, 2.5, None]},
    ):
        assert yaml.safe_load(_yaml.dump(tree, "header")) == json.loads(json.dumps(tree))


def test_the_docs_name_every_panel_and_alert() -> None:
    text = " ".join((ROOT / "docs/dashboards.md").read_text().split())  # as rendered: lines wrap anywhere
    options = StackOptions()
    names = [panel.title for board in boards.DASHBOARDS for panel in board.panels]
    names += [alert.name for alert in rules.alerts(options.latency_objective, options.cost_budget)]
    names += [board.uid for board in boards.DASHBOARDS]
    assert [name for name in names if name not in text] == []


def test_dashboards_command_writes_every_file(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "llm_otel.cli", "dashboards", "--out", str(tmp_path / "stack"), "--cost-budget", "25"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    written = sorted(Path(line).relative_to(tmp_path / "stack").as_posix() for line in run.stdout.split())
    assert written == sorted(files(StackOptions()))
    for path in written:
        text = (tmp_path / "stack" / path).read_text()
        assert json.loads(text) if path.endswith(".json") else yaml.safe_load(text), path
    alert_rules = yaml.safe_load((tmp_path / "stack/prometheus/rules/llm-otel.rules.yml").read_text())
    cost = next(rule for rule in alert_rules["groups"][0]["rules"] if rule.get("alert") == "LLMCostOverBudget")
    assert cost["expr"].endswith("> 25")


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [("--latency-objective", "3", "not a bucket bound"), ("--cost-budget", "-1", "must be positive")],
)
def test_dashboards_command_rejects_bad_thresholds(tmp_path: Path, option: str, value: str, message: str) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "llm_otel.cli", "dashboards", "--out", str(tmp_path), option, value],
        check=False, capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 2 and message in run.stderr, run.stderr
    assert not any(tmp_path.iterdir())


def test_dashboards_define_what_they_use_and_panels_do_not_overlap() -> None:
    builtins = {"__rate_interval", "__range", "__from", "__to", "__value", "__field"}
    for board in boards.DASHBOARDS:
        model = boards.dashboard(board)
        defined = {variable["name"] for variable in model["templating"]["list"]}
        used = set(re.findall(r"\$\{?(\w+)", json.dumps(model["panels"])))
        assert used - builtins <= defined, board.uid
        assert {"service", "datasource", "traces"} <= defined
        cells: set[tuple[int, int]] = set()
        for panel in model["panels"]:
            grid = panel["gridPos"]
            area = {
                (x, y) for x in range(grid["x"], grid["x"] + grid["w"]) for y in range(grid["y"], grid["y"] + grid["h"])
            }
            assert grid["x"] + grid["w"] <= 24 and not area & cells, (board.uid, panel["title"])
            cells |= area
        assert len({panel["id"] for panel in model["panels"]}) == len(model["panels"])


def test_histogram_graphs_ask_for_exemplars() -> None:
    asked = {
        panel["title"]
        for board in boards.DASHBOARDS
        for panel in boards.dashboard(board)["panels"]
        if any(target["exemplar"] for target in panel.get("targets", ()))  # rows have none
    }
    assert asked == {
        "Latency p50 / p95 / p99", "p95 latency by model", "Time to first chunk p50 / p95", "p95 latency by provider",
        "Service p95 latency by route",  # the HTTP server's histogram carries its request span's exemplars too
    }  # fmt: skip
