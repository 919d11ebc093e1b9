"""The alert rules under promtool: the written rule file checks, and each alert fires when it should and
stays quiet when it should, on synthetic series.

promtool compares an alert's annotations exactly, and ours hold long runbooks; the unit tests therefore
run on a copy of the rule file without annotations, while ``promtool check rules`` (which also parses
the annotation templates) runs on the file as written.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from llm_otel.stack import StackOptions, files
from llm_otel.stack import _promql as q

pytestmark = pytest.mark.skipif(not shutil.which("promtool"), reason="needs promtool (Debian's prometheus package)")

OPTIONS = StackOptions(latency_objective=2.56, cost_budget=10)
CALL = {"job": "chat-api", q.PROVIDER: "openai", q.MODEL: "gpt-4o"}
BREAKER = {"job": "chat-api", q.BREAKER: "openai:gpt-4o"}


def _series(metric: str, labels: dict[str, str], values: str) -> dict[str, str]:
    selector = ",".join(f'{name}="{value}"' for name, value in labels.items())
    return {"series": f"{metric}{{{selector}}}", "values": values}


def _calls(total: str, failed: str = "", fast: str = "") -> list[dict[str, str]]:
    """Call counters per minute: all calls, failed calls, and calls within the latency objective."""
    series = [_series(f"{q.DURATION}_count", CALL, total)]
    if failed:
        series.append(_series(f"{q.DURATION}_count", {**CALL, q.ERROR: "openai.RateLimitError"}, failed))
    if fast:
        series.append(_series(f"{q.DURATION}_bucket", {**CALL, "le": "2.56"}, fast))
    return series


# alert -> (series that should fire it, series that should not, when to evaluate, labels of the alert)
SCENARIOS: dict[str, tuple[list[dict[str, str]], list[dict[str, str]], str, dict[str, str]]] = {
    "LLMHighErrorRate": (
        _calls("0+60x40", failed="0+6x40"),  # 10 % of calls fail
        _calls("0+60x40", failed="0+1x40"),  # under 2 %
        "25m", {**CALL, "severity": "warning"},
    ),
    "LLMCircuitBreakerOpenTooLong": (
        [_series(q.BREAKER_STATE, BREAKER, "1x10 2 1x20")],  # open, a failed half-open trial, open again
        [_series(q.BREAKER_STATE, BREAKER, "1x7 0 1x7 0 1x7 0 1x7 0")],  # closes now and then
        "25m", {**BREAKER, "severity": "warning"},
    ),
    "LLMLatencyBudgetFastBurn": (
        _calls("0+100x40", fast="0+10x40"),  # 90 % of calls slower than the objective
        _calls("0+100x40", fast="0+50x40"),  # 50 %: a slow burn, not a fast one
        "15m", {**CALL, "severity": "critical"},
    ),
    "LLMLatencyBudgetSlowBurn": (
        _calls("0+100x80", fast="0+50x80"),
        _calls("0+100x80", fast="0+90x80"),  # 10 %: within twice the budget
        "60m", {**CALL, "severity": "warning"},
    ),
    "LLMCostOverBudget": (
        [_series(q.COST, {**CALL, q.TOKEN_TYPE: "output"}, "0+0.5x90")],  # 30 USD an hour
        [_series(q.COST, {**CALL, q.TOKEN_TYPE: "output"}, "0+0.1x90")],  # 6 USD an hour
        "80m", {"job": "chat-api", "severity": "warning"},
    ),
    "LLMServiceNoData": (
        _calls("0+60x30 _x40"),  # the service stops reporting after 30 minutes
        _calls("0+60x70"),
        "55m", {"job": "chat-api", "severity": "warning"},
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def rule_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The rule file as written, and the copy without annotations for the unit tests."""
    folder = tmp_path_factory.mktemp("rules")
    written = folder / "llm-otel.rules.yml"
    written.write_text(files(OPTIONS)["prometheus/rules/llm-otel.rules.yml"])
    tree = yaml.safe_load(written.read_text())
    for rule in tree["groups"][0]["rules"]:
        rule.pop("annotations", None)
    bare = folder / "bare.rules.yml"
    bare.write_text(yaml.safe_dump(tree))
    return written, bare


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["promtool", *args], check=False, capture_output=True, text=True, timeout=120)


def test_promtool_checks_the_written_rules(rule_files: tuple[Path, Path]) -> None:
    checked = _promtool("check", "rules", str(rule_files[0]))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 10 rules found" in checked.stdout
    rules = yaml.safe_load(rule_files[0].read_text())["groups"][0]["rules"]
    alerts = [rule for rule in rules if "alert" in rule]
    assert sorted(rule["alert"] for rule in alerts) == sorted(SCENARIOS)
    for rule in alerts:
        assert len(rule["annotations"]["runbook"].splitlines()) >= 2, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]


def _unit_test(alert: str, series: list[dict[str, str]], at: str, expected: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "interval": "1m",
        "input_series": series,
        "alert_rule_test": [{"eval_time": at, "alertname": alert, "exp_alerts": expected}],
    }


def test_each_alert_fires_when_it_should_and_stays_quiet_when_it_should(
    rule_files: tuple[Path, Path], tmp_path: Path
) -> None:
    tests = []
    for alert, (firing, quiet, at, labels) in SCENARIOS.items():
        tests.append(_unit_test(alert, firing, at, [{"exp_labels": labels}]))
        tests.append(_unit_test(alert, quiet, at, []))
    spec = tmp_path / "alerts.test.yml"
    spec.write_text(yaml.safe_dump({"rule_files": [str(rule_files[1])], "evaluation_interval": "1m", "tests": tests}))
    run = _promtool("test", "rules", str(spec))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "SUCCESS" in run.stdout


def test_a_wrong_expectation_fails_the_unit_tests(rule_files: tuple[Path, Path], tmp_path: Path) -> None:
    """The harness can fail: a firing scenario expected quiet, and a quiet one expected firing, are reported."""
    firing, quiet, at, labels = SCENARIOS["LLMHighErrorRate"]
    tests = [
        _unit_test("LLMHighErrorRate", firing, at, []),
        _unit_test("LLMHighErrorRate", quiet, at, [{"exp_labels": labels}]),
    ]
    spec = tmp_path / "wrong.test.yml"
    spec.write_text(yaml.safe_dump({"rule_files": [str(rule_files[1])], "evaluation_interval": "1m", "tests": tests}))
    run = _promtool("test", "rules", str(spec))
    assert run.returncode != 0
    assert run.stdout.count("alertname: LLMHighErrorRate") + run.stderr.count("alertname: LLMHighErrorRate") >= 2
