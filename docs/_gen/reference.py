"""Writes the generated reference pages of the docs from the code, and reads the PromQL cookbook.

    python docs/_gen/reference.py           # rewrite docs/reference/*.md
    python docs/_gen/reference.py --check   # exit 1 if a committed page is stale

It lives with the docs, not in the package: nothing shipped carries documentation code. The tests
load it by path (tests/test_docs.py checks that the committed pages are what it writes).

- ``reference/telemetry-names.md``: every constant of ``src/llm_otel/telemetry/_names.py``, grouped
  by the module's own section comments, and every metric instrument with its kind, unit,
  description and the name the Prometheus exporter gives it. Instruments are found by running the
  project's own code paths that create them (``INSTRUMENT_SOURCES``) against a meter that records
  each ``create_*`` call; the Prometheus names come from the real exporter. Both run in a
  subprocess per naming mode (released, and ``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental``,
  which ``_names`` reads at import), so the caller's environment and modules are left alone.
- ``reference/configuration.md``: every field of ``Settings`` with its argument of ``configure()``,
  its variable in ``ENV`` and its default, read from the code; then every other ``OTEL_*`` or
  ``LLM_OTEL_*`` variable that a string literal in ``src/llm_otel`` names. The meanings are
  prose, kept below; writing fails when something in the code has none, or a meaning names
  something the code no longer has.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import io
import json
import os
import re
import subprocess
import sys
import tokenize
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "llm_otel"
DOCS = ROOT / "docs"
NAMES = SRC / "telemetry" / "_names.py"
OPT_IN = "OTEL_SEMCONV_STABILITY_OPT_IN"
EXPERIMENTAL = "gen_ai_latest_experimental"
ENV_NAME = re.compile(r"^(OTEL|LLM_OTEL)_[A-Z0-9_]+$")
REGENERATE = "python docs/_gen/reference.py"

# The modules whose code creates metric instruments (a test compares this with src); the code paths
# through them are run by _recorded_instruments(), each labelled with what records into it.
INSTRUMENT_SOURCES = (
    "telemetry/_instruments.py",
    "telemetry/_ledger.py",
    "resilience/_telemetry.py",
    "agents.py",
    "setup/_pipeline.py",
)
SOURCE_LABELS = {
    "instrumentation": "instrumentors",
    "resilience": "`resilient()`",
    "agents": "agent scopes",
    "configure": "`configure()` only",
}

# --- configuration meanings: prose the code does not hold --------------------------------------
SETTING_MEANINGS = {
    "service_name": "`service.name` of the resource (unset: the SDK's default, `unknown_service`)",
    "traces_exporter": "`otlp`, `console`, `none` (comma-separated)",
    "metrics_exporter": "`prometheus`, `otlp`, `console`, `none` (comma-separated)",
    "logs_exporter": "`otlp`, `console`, `none` (comma-separated)",
    "otlp_protocol": (
        "`http/protobuf` or `grpc`; `OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_PROTOCOL` override it per signal"
    ),
    "prometheus_host": "address of /metrics, /v1/stats and /health",
    "prometheus_port": "their port; `0` picks a free one",
    "prometheus_port_attempts": (
        "consecutive ports tried when the first is taken ([multi-process servers](../multi-process.md))"
    ),
    "metric_export_interval_ms": "OTLP metric export period, in milliseconds",
    "metric_export_timeout_ms": "longest wait for one OTLP metric export, in milliseconds",
    "cardinality_limit": "distinct attribute sets kept per llm-otel instrument",
    "shutdown_timeout_s": "longest wait for the final flush at exit, in seconds",
    "health_window_s": "sliding window of /health and `llm_otel.provider.health`, in seconds",
    "health_threshold": "/health answers 503 below this score",
    "disabled": "`true`: configure() builds nothing and returns `None`",
    "json_logs": "JSON lines for the `llm_otel` logger when the application configured no logging",
}
# Variable -> (default, meaning), for those read outside Settings.
OTHER_VARIABLES = {
    "LLM_OTEL_OPENAI_STREAM_USAGE": (
        "`false`",
        "ask OpenAI chat streams for their usage chunk ([OpenAI](../openai.md))",
    ),
    "LLM_OTEL_ANTHROPIC_NATIVE_SPANS": (
        "`false`",
        "keep the anthropic SDK's own span instead of ours ([Anthropic](../anthropic.md))",
    ),
    "LLM_OTEL_FRAMEWORK_SPANS": (
        "`false`",
        "under a framework's own inference span (pydantic-ai's), start none of ours ([frameworks](../frameworks.md))",
    ),
    "LLM_OTEL_MULTIPROCESS_DIR": (
        "a new temporary directory",
        "where a pre-fork server's workers write their metrics for the one /metrics"
        " ([multi-process servers](../multi-process.md))",
    ),
    "LLM_OTEL_MULTIPROCESS_ROOT": (
        "—",
        "set by the serving process for the workers it starts: its pid; not to be set by hand",
    ),
    "LLM_OTEL_PRICING_FILE": ("—", "a price table overriding or extending the shipped one ([cost](../cost.md))"),
    "LLM_OTEL_ATTRIBUTE_VALUE_LIMIT": (
        "`100`",
        "distinct model, agent, tool and workflow names per attribute on metrics, then `_OTHER`"
        " ([bounded values](../agents.md#names-are-bounded))",
    ),
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": (
        "`NO_CONTENT`",
        "`SPAN_ONLY`, `EVENT_ONLY`, `SPAN_AND_EVENT` ([privacy and content capture](../content.md))",
    ),
    "OTEL_SEMCONV_STABILITY_OPT_IN": (
        "—",
        "`gen_ai_latest_experimental` selects the newest experimental names ([telemetry names](telemetry-names.md));"
        " `http` is added unless an `http` choice is there, for the stable HTTP names ([the service](../service.md))",
    ),
    "OTEL_EXPORTER_OTLP_ENDPOINT": (
        "`http://localhost:4318`",
        "read by the OTLP exporters themselves; `llm-otel doctor` reports it, and `llm-otel demo` exports"
        " traces and logs only when it or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set",
    ),
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": (
        "—",
        "the traces endpoint, read by the OTLP span exporter; see `OTEL_EXPORTER_OTLP_ENDPOINT`",
    ),
    "OTEL_BSP_": (
        "the SDK's",
        "`OTEL_BSP_*`, the span batch processor's variables, read by the SDK; when one is bad (`-1`) all four"
        " take their defaults, with one log line",
    ),
    "OTEL_BLRP_": (
        "the SDK's",
        "`OTEL_BLRP_*`, the same for the log record batch processor",
    ),
    "OTEL_PYTHON_DISTRO": (
        "—",
        "which distro `opentelemetry-instrument` loads; `llm-otel run` sets it to `llm_otel` unless it is set",
    ),
    "OTEL_PYTHON_CONFIGURATOR": (
        "—",
        "which configurator `opentelemetry-instrument` runs; `llm-otel run` sets it to `llm_otel` unless it is set",
    ),
}


# --- instruments, recorded in a subprocess ------------------------------------------------------
_KINDS = {
    "create_counter": "counter",
    "create_up_down_counter": "up-down counter",
    "create_histogram": "histogram",
    "create_gauge": "gauge",
    "create_observable_counter": "observable counter",
    "create_observable_up_down_counter": "observable up-down counter",
    "create_observable_gauge": "observable gauge",
}


def _recorded_instruments() -> list[dict[str, str]]:
    """Every instrument the code creates in this process's naming mode, with its Prometheus name."""
    from unittest import mock

    from opentelemetry.metrics import NoOpMeter, NoOpMeterProvider

    from llm_otel.agents import _Durations
    from llm_otel.resilience._telemetry import _Instruments as ResilienceInstruments
    from llm_otel.setup import _pipeline
    from llm_otel.setup._settings import Settings
    from llm_otel.telemetry._instruments import Instruments

    found: list[dict[str, str]] = []

    def recorder(method: str) -> Callable[..., Any]:
        original = getattr(NoOpMeter, method)

        def create(self: NoOpMeter, *args: Any, **kwargs: Any) -> Any:
            bound = inspect.signature(original).bind(self, *args, **kwargs)
            bound.apply_defaults()
            found.append(
                {
                    "kind": _KINDS[method],
                    "name": bound.arguments["name"],
                    "unit": bound.arguments["unit"],
                    "description": bound.arguments["description"],
                }
            )
            return original(self, *args, **kwargs)

        return create

    meter_class = type("RecordingMeter", (NoOpMeter,), {method: recorder(method) for method in _KINDS})

    class RecordingMeterProvider(NoOpMeterProvider):
        def get_meter(self, name: str, *args: Any, **kwargs: Any) -> NoOpMeter:
            return meter_class(name)

    provider = RecordingMeterProvider()
    quiet = Settings(traces_exporter=(), metrics_exporter=(), logs_exporter=())

    def pipeline() -> None:
        # build() makes its own SDK MeterProvider; the health gauge is the one instrument it adds.
        with mock.patch.object(_pipeline, "MeterProvider", lambda **_: provider):
            _pipeline.build(quiet, {})

    for source, run in (
        ("instrumentation", lambda: Instruments(provider)),
        ("resilience", lambda: ResilienceInstruments(provider)),
        ("agents", lambda: _Durations(provider)),
        ("configure", pipeline),
    ):
        before = len(found)
        run()
        if len(found) == before:
            raise RuntimeError(f"the {source} code path created no instrument: the generator is out of date")
        for instrument in found[before:]:
            instrument["source"] = source
            instrument["prometheus"], instrument["prometheus_type"] = _prometheus_name(instrument)
    return found


def _prometheus_name(instrument: dict[str, str]) -> tuple[str, str]:
    """The metric family name and type the Prometheus exporter gives one point of this instrument."""
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from opentelemetry.metrics import Observation
    from opentelemetry.sdk.metrics import MeterProvider
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    provider = MeterProvider(metric_readers=[PrometheusMetricReader(registry=registry)])
    meter = provider.get_meter("reference")
    kind, name, unit = instrument["kind"], instrument["name"], instrument["unit"]
    method = next(method for method, label in _KINDS.items() if label == kind)
    if kind.startswith("observable"):
        getattr(meter, method)(name, callbacks=[lambda _options: [Observation(1)]], unit=unit)
    else:
        made = getattr(meter, method)(name, unit=unit)
        getattr(made, {"counter": "add", "up-down counter": "add", "histogram": "record", "gauge": "set"}[kind])(1)
    text = generate_latest(registry).decode()
    provider.shutdown()
    families = [line.split()[2:4] for line in text.splitlines() if line.startswith("# TYPE ")]
    ((family, prometheus_type),) = [pair for pair in families if pair[0] != "target_info"]
    return family, prometheus_type


def _dump() -> None:
    from llm_otel.telemetry import _names

    constants = {key: value for key, value in vars(_names).items() if key.isupper()}
    print(json.dumps({"instruments": _recorded_instruments(), "constants": constants}))


def _collect(experimental: bool) -> dict[str, Any]:
    env = {key: value for key, value in os.environ.items() if key != OPT_IN}
    if experimental:
        env[OPT_IN] = EXPERIMENTAL
    run = subprocess.run(
        [sys.executable, __file__, "--dump"], env=env, capture_output=True, text=True, check=False, cwd=ROOT
    )
    if run.returncode:
        raise RuntimeError(f"{REGENERATE} --dump failed:\n{run.stderr}")
    return dict(json.loads(run.stdout))


# --- the names module's own layout: sections, comments, constants --------------------------------
# Plain classes, not dataclasses: a module loaded by path is not in sys.modules, which they need.
class _Group:
    def __init__(self) -> None:
        self.note = ""
        self.constants: list[tuple[str, str]] = []  # (name, inline comment)


class _Section:
    def __init__(self, title: str) -> None:
        self.title = title
        self.groups = [_Group()]


def _sections(path: Path) -> list[_Section]:
    """The constants of ``path`` in order, grouped by its ``# --- title ---`` and plain comment lines."""
    source = path.read_text()
    comments = {
        token.start[0]: (token.string.lstrip("#").strip(), token.line.lstrip().startswith("#"))
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    }
    assignments = {}
    for node in ast.parse(source).body:
        target = node.target if isinstance(node, ast.AnnAssign) else getattr(node, "targets", [None])[0]
        if isinstance(target, ast.Name) and target.id.isupper():
            assignments[node.lineno] = (target.id, node.end_lineno or node.lineno)
    sections = [_Section("Module switch")]
    line = 1
    last = len(source.splitlines())
    while line <= last:
        if line in comments and comments[line][1]:
            text = comments[line][0]
            if text.startswith("---"):
                sections.append(_Section(text.strip("- ")))
            else:
                group = sections[-1].groups[-1]
                if group.constants or not group.note:
                    sections[-1].groups.append(group := _Group())
                group.note = f"{group.note} {text}".strip()
        elif line in assignments:
            name, end = assignments[line]
            inline = [comments[i][0] for i in range(line, end + 1) if i in comments and not comments[i][1]]
            sections[-1].groups[-1].constants.append((name, "; ".join(c for c in inline if c != "fmt: skip")))
            line = end
        line += 1
    for section in sections:
        section.groups = [group for group in section.groups if group.constants]
    return [section for section in sections if section.groups]


# --- rendering -----------------------------------------------------------------------------------
def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _code(value: Any) -> str:
    if isinstance(value, list | tuple):
        return f"`{', '.join(str(v) for v in value)}`"
    return f"`{value}`"


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]], optional: int = 0) -> list[str]:
    """A markdown table; its last ``optional`` columns are left out when every row leaves them empty."""
    keep = [i for i in range(len(header)) if i < len(header) - optional or any(row[i] for row in rows)]
    lines = ["| " + " | ".join(header[i] for i in keep) + " |", "|" + "---|" * len(keep)]
    lines += ["| " + " | ".join(_cell(row[i]) for i in keep) + " |" for row in rows]
    return [*lines, ""]


def telemetry_names(released: dict[str, Any], experimental: dict[str, Any]) -> str:
    """The telemetry names page from the two naming modes' dumps."""
    out = [
        "# Telemetry names",
        "",
        f"<!-- Generated by `{REGENERATE}` from src/llm_otel/telemetry/_names.py and the code that",
        "creates the instruments; do not edit by hand. -->",
        "",
        "Every name llm-otel records, from the one table in the code (`src/llm_otel/telemetry/_names.py`).",
        "What each span, attribute and metric means: [telemetry](../telemetry.md). Names that",
        f"`{OPT_IN}={EXPERIMENTAL}` changes are listed in both forms.",
        "",
        "## Metrics",
        "",
        "The Prometheus name is what `/metrics` serves (the OpenTelemetry Prometheus exporter adds the",
        "unit and, for counters, `_total`); a histogram is served as `_bucket`, `_sum` and `_count` series.",
        "",
    ]
    by_name = {
        mode: {instrument["name"]: instrument for instrument in dump["instruments"]}
        for mode, dump in (("released", released), ("experimental", experimental))
    }
    groups = (
        ("Recorded under either naming", lambda name: name in by_name["released"] and name in by_name["experimental"]),
        ("Released conventions only (the default)", lambda name: name not in by_name["experimental"]),
        (f"`{EXPERIMENTAL}` only", lambda name: name not in by_name["released"]),
    )
    ordered = {**by_name["released"], **by_name["experimental"]}
    for title, belongs in groups:
        out += [f"### {title}", ""]
        rows = [
            (
                f"`{i['name']}`",
                f"`{i['prometheus']}`",
                i["kind"],
                f"`{i['unit']}`",
                i["description"],
                i["prometheus_type"],
                SOURCE_LABELS[i["source"]],
            )
            for i in ordered.values()
            if belongs(i["name"])
        ]
        out += _table(
            ("OpenTelemetry name", "Prometheus name", "instrument", "unit", "description", "Prometheus type", "by"),
            rows,
        )
    out += ["## Every name, by section of the table", ""]
    default, opt_in = released["constants"], experimental["constants"]
    for section in _sections(NAMES):
        out += [f"### {section.title[:1].upper()}{section.title[1:]}", ""]
        for group in section.groups:
            if group.note:
                out += [f"{group.note}", ""]
            rows = [
                (
                    f"`{name}`",
                    _code(default[name]),
                    _code(opt_in[name]) if opt_in[name] != default[name] else "",
                    comment,
                )
                for name, comment in group.constants
            ]
            out += _table(("constant", "value", f"with `{EXPERIMENTAL}`", "note"), rows, optional=2)
    return "\n".join(out).rstrip() + "\n"


def environment_variables() -> dict[str, list[str]]:
    """Every ``OTEL_*``/``LLM_OTEL_*`` string literal in src/llm_otel, with the files naming it."""
    found: dict[str, set[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text())
        # Pieces of f-strings (OTEL_EXPORTER_OTLP_{SIGNAL}_PROTOCOL) name no variable on their own.
        pieces = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
        for node in ast.walk(tree):
            literal = isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in pieces
            if literal and ENV_NAME.match(node.value):
                found.setdefault(node.value, set()).add(str(path.relative_to(SRC)))
    return {name: sorted(files) for name, files in sorted(found.items())}


def _default(value: Any, argument: bool) -> str:
    if value is None:
        return "—"
    if isinstance(value, tuple):
        return f"`{','.join(value)}`"
    if isinstance(value, bool) and not argument:
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def configuration() -> str:
    """The configuration reference page."""
    from llm_otel.setup._configure import configure
    from llm_otel.setup._settings import ENV, Settings

    parameters = inspect.signature(configure).parameters
    fields = {field.name: field.default for field in dataclasses.fields(Settings)}
    extra = {name: p.default for name, p in parameters.items() if name not in fields}
    rows_of = [*fields.items(), *extra.items()]
    variable_of = {field: variable for variable, field in ENV.items()}
    names = [name for name, _ in rows_of]
    missing = sorted(set(names) - set(SETTING_MEANINGS))
    stale = sorted(set(SETTING_MEANINGS) - set(names))
    variables = environment_variables()
    others = {name: files for name, files in variables.items() if name not in ENV}
    missing += sorted(set(others) - set(OTHER_VARIABLES))
    stale += sorted(set(OTHER_VARIABLES) - set(others))
    if missing or stale:
        raise RuntimeError(f"docs/_gen/reference.py: no meaning for {missing}; meanings of what is gone: {stale}")
    out = [
        "# Configuration reference",
        "",
        f"<!-- Generated by `{REGENERATE}` from src/llm_otel/setup/_settings.py, configure() and the",
        "variables src/llm_otel reads; do not edit by hand. -->",
        "",
        "How the pieces fit together: [configuration](../configuration.md). Arguments of",
        "`llm_otel.configure()` win over the environment, the environment over the defaults. A bad",
        "argument raises `ValueError`; a bad environment value is logged once and replaced by its default.",
        "",
        "## `configure()` and its variables",
        "",
    ]
    out += _table(
        ("argument", "environment variable", "default", "meaning"),
        [
            (
                f"`{name}`" if name in parameters else "—",
                f"`{variable_of[name]}`" if name in variable_of else "—",
                _default(default, name in parameters),
                SETTING_MEANINGS[name],
            )
            for name, default in rows_of
        ],
    )
    out += [
        "## Read elsewhere",
        "",
        "Read by the instrumentation, the command line or the exporters, with or without `configure()`.",
        "",
    ]
    out += _table(
        ("environment variable", "default", "meaning", "named in"),
        [
            (f"`{name}`", *OTHER_VARIABLES[name], ", ".join(f"`{file}`" for file in files))
            for name, files in others.items()
        ],
    )
    out += [
        "The OTLP exporters and the SDK read the rest of the standard variables themselves:",
        "`OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_ENDPOINT`, `..._HEADERS`, `..._TIMEOUT`,",
        "`..._COMPRESSION`, `..._CERTIFICATE`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER`",
        "([sampling](../sampling.md)), `OTEL_BSP_*` and `OTEL_BLRP_*`.",
    ]
    return "\n".join(out).rstrip() + "\n"


def pages() -> dict[Path, str]:
    """Every generated page, by path, as it should be committed."""
    released, experimental = _collect(False), _collect(True)
    return {
        DOCS / "reference" / "telemetry-names.md": telemetry_names(released, experimental),
        DOCS / "reference" / "configuration.md": configuration(),
    }


def cookbook_queries() -> list[str]:
    """Every ```promql block of docs/promql.md, in order, for tests that evaluate them."""
    text = (DOCS / "promql.md").read_text()
    return [block.strip() for block in re.findall(r"^```promql\n(.*?)^```", text, re.MULTILINE | re.DOTALL)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a committed page differs")
    parser.add_argument("--dump", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.dump:
        _dump()
        return 0
    stale = []
    for path, text in pages().items():
        if path.exists() and path.read_text() == text:
            continue
        stale.append(path.relative_to(ROOT))
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    for path in stale:
        print(f"{'stale' if args.check else 'wrote'}: {path}")
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
