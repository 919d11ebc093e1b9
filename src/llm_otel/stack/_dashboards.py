"""The three Grafana dashboards, generated from one description so that every panel filters, names and
links the same way, and so that the tests can evaluate every query they hold.

Panels are declared below as data; ``dashboard()`` lays them out and writes Grafana's JSON model.
Queries use Grafana's ``$__rate_interval`` / ``$__range`` and the dashboard variables (``$service``,
``$provider``, ``$model``), which the tests replace with real values before asking Prometheus.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from llm_otel.telemetry import _names as n

from . import _promql as q

RATE = "[$__rate_interval]"
SERVICE = f'{q.SERVICE}=~"$service"'
CALLS = f'{SERVICE},{q.PROVIDER}=~"$provider",{q.MODEL}=~"$model"'
BY_MODEL = f"{q.PROVIDER}, {q.MODEL}"
MODEL_LEGEND = f"{{{{{q.PROVIDER}}}}} {{{{{q.MODEL}}}}}"


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    title: str
    description: str
    queries: tuple[Query, ...]
    unit: str = "short"
    kind: str = "timeseries"  # or "stat", "state-timeline", "row" (a header, no queries)
    width: int = 12
    # A data link to the spans slower than the clicked point, in Tempo; filtered on these span attributes,
    # which must be labels of the panel's series. None: no link.
    trace_by: tuple[str, ...] | None = None
    mappings: tuple[tuple[int, str, str], ...] = ()  # value, text, colour


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    variables: tuple[str, ...]
    panels: tuple[Panel, ...] = field(default=())


def _rate(metric: str, selector: str, by: str = "", window: str = RATE) -> str:
    grouping = f" by ({by})" if by else ""
    return f"sum{grouping} (rate({metric}{{{selector}}}{window}))"


def _quantile(quantile: float, histogram: str, by: str = "") -> str:
    return f"histogram_quantile({quantile}, {_rate(f'{histogram}_bucket', CALLS, f'le, {by}' if by else 'le')})"


def _share_ok(by: str, window: str) -> str:
    """The share of calls without an error; 0 (not missing) when every call failed."""
    total = _rate(f"{q.DURATION}_count", CALLS, by, window)
    ok = _rate(f"{q.DURATION}_count", f'{CALLS},{q.ERROR}=""', by, window)
    return f"({ok} or 0 * {total}) / {total}"


ERROR_RATIO = (
    f"({_rate(f'{q.DURATION}_count', f'{CALLS},{q.FAILED}')} or vector(0)) / {_rate(f'{q.DURATION}_count', CALLS)}"
)
BREAKER_STATES = ((0, "closed", "green"), (1, "open", "red"), (2, "half-open", "orange"))

SERVER_ERRORS = f'{SERVICE},{q.HTTP_STATUS}=~"5.."'
SERVICE_ROW = (
    Panel("The service", "The process and HTTP server around the calls (the process and web extras).", (),
          kind="row", width=24),
    Panel("Service requests/s by route", "HTTP requests the service answered per second, by route.",
          (Query(_rate(f"{q.HTTP_DURATION}_count", SERVICE, q.HTTP_ROUTE), f"{{{{{q.HTTP_ROUTE}}}}}"),), "reqps",
          width=8),
    Panel("Service error ratio", "Share of HTTP requests answered with a 5xx status.",
          (Query(f"({_rate(f'{q.HTTP_DURATION}_count', SERVER_ERRORS)} or vector(0))"
                 f" / {_rate(f'{q.HTTP_DURATION}_count', SERVICE)}"),), "percentunit", width=8),
    Panel("Service p95 latency by route", "95th percentile of http.server.request.duration, by route.",
          (Query(f"histogram_quantile(0.95, {_rate(f'{q.HTTP_DURATION}_bucket', SERVICE, f'le, {q.HTTP_ROUTE}')})",
                 f"{{{{{q.HTTP_ROUTE}}}}}"),), "s", width=8),
    Panel("LLM share of request time", "Time in LLM calls over time in HTTP requests: how much of the "
          "service's latency its providers make.",
          (Query(f"{_rate(f'{q.DURATION}_sum', CALLS)} / {_rate(f'{q.HTTP_DURATION}_sum', SERVICE)}"),),
          "percentunit", width=6),
    Panel("Process memory", "Resident memory of each process of the service.",
          (Query(f"sum by (instance) ({q.PROCESS_MEMORY}{{{SERVICE}}})", "{{instance}}"),), "bytes", width=6),
    Panel("Process CPU", "CPU time per second of each process (1 = one core busy).",
          (Query(_rate(q.PROCESS_CPU, SERVICE, "instance"), "{{instance}}"),), "percentunit", width=6),
    Panel("GC collections/s", "Python garbage collections per second, by generation.",
          (Query(_rate(q.GC_COLLECTIONS, SERVICE, q.GC_GENERATION), f"gen {{{{{q.GC_GENERATION}}}}}"),), width=6),
)  # fmt: skip

OVERVIEW = Dashboard(
    uid="llm-otel-overview",
    title="LLM overview",
    description="Calls to LLM providers: rate, errors, latency, time to first chunk, tokens, cost, in flight.",
    variables=("service", "provider", "model"),
    panels=(
        Panel("Requests/s", "GenAI client calls per second.", (Query(_rate(f"{q.DURATION}_count", CALLS)),),
              "reqps", "stat", 6),
        Panel("Error ratio", "Share of calls that ended with an error.type.", (Query(ERROR_RATIO),),
              "percentunit", "stat", 6),
        Panel("p95 latency", "95th percentile of gen_ai.client.operation.duration.",
              (Query(_quantile(0.95, q.DURATION)),), "s", "stat", 6),
        Panel("Cost per hour", "Estimated spend rate from token usage and the price table.",
              (Query(f"{_rate(q.COST, CALLS)} * 3600"),), "currencyUSD", "stat", 6),
        Panel("Requests/s by model", "Calls per second by provider and model.",
              (Query(_rate(f"{q.DURATION}_count", CALLS, BY_MODEL), MODEL_LEGEND),), "reqps"),
        Panel("Errors/s by error.type", "Failed calls per second by error.type (exception class or HTTP status).",
              (Query(_rate(f"{q.DURATION}_count", f"{CALLS},{q.FAILED}", q.ERROR), f"{{{{{q.ERROR}}}}}"),), "reqps"),
        Panel("Latency p50 / p95 / p99", "Call duration quantiles over the selection. Click a point for the "
              "slower spans in Tempo.",
              tuple(Query(_quantile(p, q.DURATION), f"p{round(p * 100)}") for p in (0.5, 0.95, 0.99)),
              "s", trace_by=()),
        Panel("p95 latency by model", "Click a point for the spans of that model slower than it, in Tempo.",
              (Query(_quantile(0.95, q.DURATION, BY_MODEL), MODEL_LEGEND),), "s",
              trace_by=(n.PROVIDER_NAME, n.REQUEST_MODEL)),
        Panel("Time to first chunk p50 / p95", "Streams: time from the request to the first chunk.",
              tuple(Query(_quantile(p, q.TTFC), f"p{round(p * 100)}") for p in (0.5, 0.95)), "s"),
        Panel("Tokens/s by type", "Input and output tokens per second, from reported usage.",
              (Query(_rate(f"{q.TOKENS}_sum", CALLS, q.TOKEN_TYPE), f"{{{{{q.TOKEN_TYPE}}}}}"),), "short"),
        Panel("Cost per hour by model", "Estimated USD per hour by provider and model.",
              (Query(f"{_rate(q.COST, CALLS, BY_MODEL)} * 3600", MODEL_LEGEND),), "currencyUSD"),
        Panel("Requests in flight", "Calls started and not yet finished (streams until they end).",
              (Query(f"sum by ({BY_MODEL}) ({q.IN_FLIGHT}{{{CALLS}}})", MODEL_LEGEND),), "short"),
        *SERVICE_ROW,
    ),
)  # fmt: skip

RESILIENCE = Dashboard(
    uid="llm-otel-resilience",
    title="LLM resilience",
    description="Circuit breakers, retries and fallbacks of llm_otel.resilient().",
    variables=("service",),
    panels=(
        Panel("Circuit breaker state", "State of each breaker over time.",
              (Query(f"max by ({q.BREAKER}) ({q.BREAKER_STATE}{{{SERVICE}}})", f"{{{{{q.BREAKER}}}}}"),),
              kind="state-timeline", width=24, mappings=BREAKER_STATES),
        Panel("Breaker transitions", "State changes by breaker and the state entered.",
              (Query(f"sum by ({q.BREAKER}, {q.BREAKER_TO}) (increase({q.BREAKER_TRANSITIONS}{{{SERVICE}}}{RATE}))",
                     f"{{{{{q.BREAKER}}}}} -> {{{{{q.BREAKER_TO}}}}}"),)),
        Panel("Calls rejected by open breakers", "Calls answered by the breaker without a provider call.",
              (Query(_rate(q.BREAKER_CALLS, f'{SERVICE},{q.BREAKER_OUTCOME}="{n.OUTCOME_REJECTED}"', q.BREAKER),
                     f"{{{{{q.BREAKER}}}}}"),), "reqps"),
        Panel("Retries/s", "Retries scheduled by route and the error.type that caused them.",
              (Query(_rate(q.RETRIES, SERVICE, f"{q.ROUTE}, {q.ERROR}"), f"{{{{{q.ROUTE}}}}} {{{{{q.ERROR}}}}}"),),
              "reqps"),
        Panel("Fallbacks/s", "Fallbacks from one route to the next, with the reason.",
              (Query(_rate(q.FALLBACKS, SERVICE, f"{q.FALLBACK_FROM}, {q.FALLBACK_TO}, {q.FALLBACK_REASON}"),
                     f"{{{{{q.FALLBACK_FROM}}}}} -> {{{{{q.FALLBACK_TO}}}}} ({{{{{q.FALLBACK_REASON}}}}})"),),
              "reqps"),
        Panel("Resilient calls by outcome", "Calls through each resilient() wrapper by final outcome.",
              (Query(_rate(q.RESILIENT_CALLS, SERVICE, f"{q.RESILIENCE_NAME}, {q.RESILIENCE_OUTCOME}"),
                     f"{{{{{q.RESILIENCE_NAME}}}}} {{{{{q.RESILIENCE_OUTCOME}}}}}"),), "reqps"),
        Panel("Share of time open", "Share of the dashboard's time range each breaker spent open.",
              (Query(f"avg by ({q.BREAKER}) (avg_over_time(({q.BREAKER_STATE}{{{SERVICE}}} == bool {q.OPEN})"
                     "[$__range:]))", f"{{{{{q.BREAKER}}}}}"),), "percentunit", "stat", 24),
    ),
)  # fmt: skip

HEALTH = Dashboard(
    uid="llm-otel-provider-health",
    title="LLM provider health",
    description="Per-provider health score (/health), availability and errors.",
    variables=("service", "provider", "model"),
    panels=(
        Panel("Health score", "llm_otel.provider.health: share of calls without a provider-side failure "
              "(5xx, 429, timeouts, dropped streams) over the last minute; /health answers 503 below its threshold.",
              (Query(f"min by ({q.PROVIDER}) ({q.HEALTH}{{{SERVICE},{q.PROVIDER}=~\"$provider\"}})",
                     f"{{{{{q.PROVIDER}}}}}"),), "percentunit"),
        Panel("Availability", "Share of calls without any error.", (Query(_share_ok(q.PROVIDER, RATE),
              f"{{{{{q.PROVIDER}}}}}"),), "percentunit"),
        Panel("Availability over the range", "Share of calls without any error in the dashboard's time range.",
              (Query(_share_ok(q.PROVIDER, "[$__range]"), f"{{{{{q.PROVIDER}}}}}"),), "percentunit", "stat", 24),
        Panel("Errors/s by provider and error.type", "Failed calls per second.",
              (Query(_rate(f"{q.DURATION}_count", f"{CALLS},{q.FAILED}", f"{q.PROVIDER}, {q.ERROR}"),
                     f"{{{{{q.PROVIDER}}}}} {{{{{q.ERROR}}}}}"),), "reqps"),
        Panel("p95 latency by provider", "Click a point for the slower spans in Tempo.",
              (Query(_quantile(0.95, q.DURATION, q.PROVIDER), f"{{{{{q.PROVIDER}}}}}"),), "s",
              trace_by=(n.PROVIDER_NAME,)),
    ),
)  # fmt: skip

DASHBOARDS = (OVERVIEW, RESILIENCE, HEALTH)

_VARIABLES: dict[str, tuple[str, str, str]] = {  # name: (label, series, label_values label)
    "service": ("Service", f"{q.DURATION}_count", q.SERVICE),
    "provider": ("Provider", f"{q.DURATION}_count{{{SERVICE}}}", q.PROVIDER),
    "model": ("Model", f'{q.DURATION}_count{{{SERVICE},{q.PROVIDER}=~"$provider"}}', q.MODEL),
}
_PROMETHEUS = {"type": "prometheus", "uid": "${datasource}"}
_PLACEHOLDER = re.compile(r"(\$\{[^}]*\})")  # split keeps Grafana's ${...} variables as parts of their own


def variable_queries(board: Dashboard) -> list[tuple[str, str]]:
    """(series selector, label) of each ``label_values`` variable of ``board``."""
    return [_VARIABLES[name][1:] for name in board.variables]


def _trace_link(panel: Panel) -> list[dict[str, str]]:
    """Explore in Tempo: spans slower than the clicked value, of the clicked series' provider and model."""
    if panel.trace_by is None:
        return []
    conditions = [f'span.{name}="${{__field.labels.{q.label(name)}}}"' for name in panel.trace_by]
    conditions.append("duration>${__value.raw}s")
    pane = {
        "datasource": "${traces}",
        "queries": [{"refId": "A", "datasource": {"type": "tempo", "uid": "${traces}"}, "queryType": "traceql",
                     "query": "{" + " && ".join(conditions) + "}", "limit": 20, "tableType": "traces"}],
        "range": {"from": "${__from}", "to": "${__to}"},
    }  # fmt: skip
    # Percent-encode the JSON around Grafana's ${...} placeholders, which must stay as they are.
    text = json.dumps({"slow": pane}, separators=(",", ":"))
    encoded = "".join(
        part if part.startswith("${") else urllib.parse.quote(part, safe="") for part in _PLACEHOLDER.split(text)
    )
    return [{"title": "Slower spans in Tempo", "url": f"/explore?schemaVersion=1&orgId=1&panes={encoded}"}]


def _panel(panel: Panel, number: int, x: int, y: int) -> dict[str, Any]:
    if panel.kind == "row":  # a header that starts a new band of panels
        grid = {"h": 1, "w": 24, "x": 0, "y": y}
        return {"id": number, "type": "row", "title": panel.title, "collapsed": False, "gridPos": grid, "panels": []}
    height = 4 if panel.kind == "stat" and panel.width < 24 else 8
    defaults: dict[str, Any] = {"unit": panel.unit, "links": _trace_link(panel)}
    if panel.mappings:
        defaults["mappings"] = [
            {"type": "value", "options": {str(value): {"text": text, "color": colour, "index": value}}}
            for value, text, colour in panel.mappings
        ]
        defaults["color"] = {"mode": "thresholds"}
    return {
        "id": number,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": _PROMETHEUS,
        "gridPos": {"h": height, "w": panel.width, "x": x, "y": y},
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True}},
        "targets": [
            {"refId": chr(ord("A") + index), "datasource": _PROMETHEUS, "expr": query.expr,
             "legendFormat": query.legend or "__auto", "range": True,
             # Grafana asks for exemplars only when told: on histogram queries, the dots that open a trace.
             "exemplar": panel.kind == "timeseries" and "_bucket{" in query.expr}
            for index, query in enumerate(panel.queries)
        ],
    }  # fmt: skip


def _variable(name: str) -> dict[str, Any]:
    title, series, label_name = _VARIABLES[name]
    definition = f"label_values({series}, {label_name})"
    return {
        "name": name, "label": title, "type": "query", "datasource": _PROMETHEUS,
        "query": {"qryType": 1, "query": definition, "refId": f"{name}-values"}, "definition": definition,
        "multi": True, "includeAll": True, "allValue": ".*", "current": {"text": "All", "value": "$__all"},
        "refresh": 2, "sort": 1,
    }  # fmt: skip


def dashboard(board: Dashboard) -> dict[str, Any]:
    """Grafana's JSON model of ``board``: datasource variables first, then label variables, then panels."""
    panels: list[dict[str, Any]] = []
    x = y = row_height = 0
    for number, panel in enumerate(board.panels, 1):
        if x + panel.width > 24:
            x, y = 0, y + row_height
        panels.append(_panel(panel, number, x, y))
        row_height = panels[-1]["gridPos"]["h"] if x == 0 else max(row_height, panels[-1]["gridPos"]["h"])
        x += panel.width
    sources = [
        {"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus"},
        {"name": "traces", "label": "Tempo", "type": "datasource", "query": "tempo"},
    ]
    return {
        "uid": board.uid, "title": board.title, "description": board.description,
        "tags": ["llm-otel", "genai"], "timezone": "browser", "schemaVersion": 39, "version": 1,
        "editable": True, "graphTooltip": 1, "refresh": "30s", "time": {"from": "now-1h", "to": "now"},
        "templating": {"list": sources + [_variable(name) for name in board.variables]},
        "annotations": {"list": []}, "links": [
            {"title": "llm-otel dashboards", "type": "dashboards", "tags": ["llm-otel"], "asDropdown": True}
        ],
        "panels": panels,
    }  # fmt: skip
