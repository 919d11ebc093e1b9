"""The Prometheus side of the stack: a scrape configuration and the alert rules, with a runbook in each.

Each rule keeps the measured signal apart from its threshold, so that the tests can ask a real
Prometheus for the signal after a workload (it must return data) and promtool can unit-test the alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llm_otel.telemetry import _names as n

from . import _promql as q

BY = f"{q.SERVICE}, {q.PROVIDER}, {q.MODEL}"
SLO_TARGET = 0.95  # "p95 below the objective": 95 % of calls finish within it
SLO_WINDOWS = ("5m", "30m", "1h", "6h")


def slow_ratio_record(window: str) -> str:
    """Name of the recording rule: share of calls slower than the latency objective over ``window``."""
    return f"llm_otel:slow_calls:ratio_rate{window}"


@dataclass(frozen=True)
class Alert:
    name: str
    signal: str  # PromQL of the measured value
    condition: str  # appended to the signal: the threshold
    duration: str  # "for"
    severity: str
    summary: str
    runbook: str

    @property
    def expr(self) -> str:
        return f"{self.signal} {self.condition}"


def recording_rules(objective: float) -> dict[str, str]:
    """Record name -> PromQL: the latency objective's slow-call ratio over each burn-rate window."""
    return {
        slow_ratio_record(window): (
            f'1 - (\n  sum by ({BY}) (rate({q.DURATION}_bucket{{le="{objective:g}"}}[{window}]))\n'
            f"  /\n  sum by ({BY}) (rate({q.DURATION}_count[{window}]))\n)"
        )
        for window in SLO_WINDOWS
    }


def _label(name: str) -> str:
    """An alert template's reference to a label of the firing series."""
    return f"{{{{ $labels.{name} }}}}"


def alerts(objective: float, cost_budget: float) -> tuple[Alert, ...]:
    budget = 1 - SLO_TARGET
    fast, slow = 14.4 * budget, 6 * budget  # burn rates that spend 2 % / 5 % of a 30-day budget in 1 h / 6 h
    error_ratio = (
        f"sum by ({BY}) (rate({q.DURATION}_count{{{q.FAILED}}}[5m]))\n/\nsum by ({BY}) (rate({q.DURATION}_count[5m]))"
    )
    return (
        Alert(
            "LLMHighErrorRate", error_ratio, "> 0.05", "10m", "warning",
            f"{_label(q.PROVIDER)} {_label(q.MODEL)}: {{{{ $value | humanizePercentage }}}} of calls from "
            f"{_label(q.SERVICE)} fail",
            "More than 5 % of this service's calls to this model have failed for 10 minutes.\n"
            "1. Open the LLM overview dashboard, filtered on the service and model: 'Errors/s by error.type' "
            "names the failure.\n"
            "2. openai.RateLimitError / anthropic.RateLimitError (429): quota or rate limit; check the provider "
            "console, lower concurrency, or add a fallback route with llm_otel.resilient().\n"
            "3. InternalServerError / ServiceUnavailableError / OverloadedError (5xx, 529): the provider is "
            "degraded; check its status page; a fallback to another provider or model keeps answering.\n"
            "4. APITimeoutError / APIConnectionError: network or a slow provider; compare with the latency panels.\n"
            "5. BadRequestError / AuthenticationError / NotFoundError (4xx): a deploy changed the requests, "
            "the key or the model name; roll back or fix the configuration.\n"
            "Open a failing span from Tempo (search status=error) to see the request attributes and its logs.",
        ),
        Alert(
            "LLMCircuitBreakerOpenTooLong", f"min_over_time({q.BREAKER_STATE}[10m])", "> 0", "5m", "warning",
            f"Circuit breaker {_label(q.BREAKER)} of {_label(q.SERVICE)} has not closed for 15 minutes",
            "The breaker has been open or half-open, never closed, for 15 minutes: every trial call failed, so "
            "its route is skipped and calls go to the fallback routes or fail with CircuitOpenError.\n"
            "1. The LLM resilience dashboard shows the transitions and why it opened (the reason of the "
            "circuit_breaker.state_change log event: consecutive_failures, failure_rate, slow_call_rate).\n"
            "2. Check the provider behind the route (LLM provider health dashboard, its status page).\n"
            "3. If the provider is healthy again but trials keep failing, look at the trial spans in Tempo "
            "(resilient {name} spans, event circuit_breaker.rejected) for a request problem.\n"
            "4. CircuitBreaker.reset() closes it by hand once the cause is fixed.",
        ),
        Alert(
            "LLMLatencyBudgetFastBurn",
            f"{slow_ratio_record('1h')}", f"> {fast:g} and {slow_ratio_record('5m')} > {fast:g}", "2m", "critical",
            f"{_label(q.MODEL)} latency objective (p95 < {objective:g} s) burns its error "
            "budget 14.4x too fast",
            f"More than {fast:.0%} of calls took longer than {objective:g} s over the last hour and the last 5 "
            f"minutes: at this rate the month's budget of {budget:.0%} slow calls is gone in about two days.\n"
            "1. LLM overview dashboard: 'p95 latency by model' and 'Time to first chunk'; click a point for "
            "the slow spans in Tempo.\n"
            "2. Slow time to first chunk: the provider is queueing (check its status); slow after the first "
            "chunk: longer outputs (tokens/s, max_tokens).\n"
            "3. Mitigate with a faster fallback model or an attempt timeout in llm_otel.resilient().",
        ),
        Alert(
            "LLMLatencyBudgetSlowBurn",
            f"{slow_ratio_record('6h')}", f"> {slow:g} and {slow_ratio_record('30m')} > {slow:g}", "15m", "warning",
            f"{_label(q.MODEL)} latency objective (p95 < {objective:g} s) burns its error "
            "budget 6x too fast",
            f"More than {slow:.0%} of calls took longer than {objective:g} s over 6 hours and the last 30 minutes: "
            "the month's budget of slow calls is gone in about five days.\n"
            "Follow the steps of LLMLatencyBudgetFastBurn; a slow burn often follows a change of model, prompt "
            "size or max_tokens, so compare with recent deploys.",
        ),
        Alert(
            "LLMCostOverBudget", f"sum by ({q.SERVICE}) (increase({q.COST}[1h]))", f"> {cost_budget:g}", "5m",
            "warning",
            f"{_label(q.SERVICE)} spent {{{{ $value | printf \"%.2f\" }}}} USD on LLM calls in the last hour "
            f"(budget {cost_budget:g})",
            "Estimated spend over the last hour is above the budget.\n"
            "1. LLM overview dashboard: 'Cost per hour by model' shows which model; 'Tokens/s by type' whether "
            "input (prompt size, missing cache) or output grew.\n"
            "2. Look for a retry storm (LLM resilience dashboard) or a loop in an agent (gen_ai.invoke_agent spans).\n"
            f"3. Costs are estimates from the shipped price table; check {q.UNPRICED} and "
            "set your own prices with LLM_OTEL_PRICING_FILE.",
        ),
        Alert(
            "LLMServiceNoData",
            f"group by ({q.SERVICE}) (max_over_time({q.DURATION}_count[1h]))",
            f"unless group by ({q.SERVICE}) ({q.DURATION}_count)", "10m", "warning",
            f"No LLM metrics from {_label(q.SERVICE)} for 15 minutes",
            "The service reported LLM call metrics within the last hour and none for 15 minutes.\n"
            "1. Is it running? Prometheus' Targets page shows whether its /metrics is scraped (up == 0).\n"
            "2. If it runs: llm-otel doctor in its environment shows whether instrumentation is active and "
            "where metrics go; a deploy may have dropped the opentelemetry-instrument wrapper or the "
            "LLM_OTEL_* / OTEL_* settings.\n"
            "3. Several workers: each needs its own /metrics port (LLM_OTEL_PROMETHEUS_PORT_ATTEMPTS) or OTLP "
            "export to the collector.",
        ),
    )  # fmt: skip


def rules_file(objective: float, cost_budget: float) -> dict[str, Any]:
    """The rule file's tree: one group of recording rules and alerts."""
    rules: list[dict[str, Any]] = [{"record": name, "expr": expr} for name, expr in recording_rules(objective).items()]
    for alert in alerts(objective, cost_budget):
        rules.append({
            "alert": alert.name, "expr": alert.expr, "for": alert.duration,
            "labels": {"severity": alert.severity},
            "annotations": {"summary": alert.summary, "runbook": alert.runbook},
        })  # fmt: skip
    return {"groups": [{"name": n.INSTRUMENTATION_SCOPE, "rules": rules}]}


def scrape_config(app_job: str, app_target: str, collector_host: str) -> dict[str, Any]:
    """prometheus.yml: the application's /metrics, the series the collector receives over OTLP, the collector."""
    return {
        "global": {"scrape_interval": "15s", "evaluation_interval": "15s"},
        "rule_files": ["rules/*.yml"],
        "scrape_configs": [
            {"job_name": app_job, "static_configs": [{"targets": [app_target]}]},
            # Series of applications that push OTLP; honor_labels keeps their job (service.name) and instance.
            {"job_name": "otel-collector-exporter", "honor_labels": True,
             "static_configs": [{"targets": [f"{collector_host}:8889"]}]},
            {"job_name": "otel-collector", "static_configs": [{"targets": [f"{collector_host}:8888"]}]},
        ],
    }  # fmt: skip
