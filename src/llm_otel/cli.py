"""The ``llm-otel`` command."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from llm_otel._version import __version__
from llm_otel.stack import StackOptions


def _positive(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return number


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llm-otel", description="OpenTelemetry for LLM provider SDKs.")
    parser.add_argument("--version", action="version", version=f"llm-otel {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="run a mixed workload against an embedded fake provider and show what was recorded"
    )
    demo.add_argument("--duration", type=_positive, default=15.0, help="seconds of traffic (default 15)")
    demo.add_argument("--rps", type=_positive, default=10.0, help="calls per second (default 10)")
    demo.add_argument("--keep-serving", action="store_true", help="keep the traffic and /metrics going until Ctrl-C")
    demo.add_argument(
        "--metrics-host", help="address of /metrics (default OTEL_EXPORTER_PROMETHEUS_HOST, else localhost)"
    )
    demo.add_argument(
        "--metrics-port",
        type=int,
        help="port of /metrics (default OTEL_EXPORTER_PROMETHEUS_PORT, else 9464; 0 picks a free one)",
    )
    demo.add_argument("--seed", type=int, default=7, help="random seed of the workload (default 7)")
    run = commands.add_parser(
        "run",
        help="run a program with every supported SDK instrumented and our pipeline configured",
        description="Like `opentelemetry-instrument`, with llm-otel's distro and configurator selected. "
        "Everything else comes from OTEL_* / LLM_OTEL_* variables.",
    )
    run.add_argument("--service-name", help="sets OTEL_SERVICE_NAME for the program")
    run.add_argument("program", nargs=argparse.REMAINDER, help="the command to run, after --")
    stack = commands.add_parser(
        "dashboards",
        help="write the Grafana dashboards, Prometheus scrape config and alert rules, and the collector config",
        description="Writes DIR/grafana/dashboards/*.json, DIR/prometheus/prometheus.yml, "
        "DIR/prometheus/rules/llm-otel.rules.yml and DIR/collector-config.yaml: the files of the repository's "
        "docker compose stack, for a stack of your own.",
    )
    stack.add_argument("--out", required=True, type=Path, help="directory to write into (created if missing)")
    defaults = StackOptions()
    stack.add_argument(
        "--app-job", default=defaults.app_job, help=f"scrape job of the app (default {defaults.app_job})"
    )
    stack.add_argument(
        "--app-target",
        default=defaults.app_target,
        help=f"host:port of the app's /metrics (default {defaults.app_target})",
    )
    stack.add_argument(
        "--collector-host",
        default=defaults.collector_host,
        help=f"the collector's host (default {defaults.collector_host})",
    )
    stack.add_argument(
        "--latency-objective",
        type=_positive,
        default=defaults.latency_objective,
        help="p95 latency objective in seconds, a bucket bound of the duration histogram "
        f"(default {defaults.latency_objective:g})",
    )
    stack.add_argument(
        "--cost-budget",
        type=_positive,
        default=defaults.cost_budget,
        help=f"USD per hour and service above which LLMCostOverBudget fires (default {defaults.cost_budget:g})",
    )
    doctor = commands.add_parser("doctor", help="show SDK support, instrumentation and where telemetry would go")
    doctor.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser


def _run(program: list[str], service_name: str | None) -> int:
    """Exec ``program`` the way opentelemetry-instrument does: its sitecustomize on PYTHONPATH."""
    import os
    import shutil

    from opentelemetry.instrumentation import auto_instrumentation

    if program[:1] == ["--"]:
        program = program[1:]
    if not program:
        print("llm-otel run: give the command to run, e.g. llm-otel run -- python app.py", file=sys.stderr)
        return 2
    executable = shutil.which(program[0])
    if executable is None:
        print(f"llm-otel run: {program[0]}: command not found", file=sys.stderr)
        return 127
    environ = dict(os.environ)
    environ.setdefault("OTEL_PYTHON_DISTRO", "llm_otel")
    environ.setdefault("OTEL_PYTHON_CONFIGURATOR", "llm_otel")
    if service_name:
        environ["OTEL_SERVICE_NAME"] = service_name
    sitecustomize_dir = os.path.dirname(auto_instrumentation.__file__)
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, (sitecustomize_dir, environ.get("PYTHONPATH"))))
    os.execve(executable, program, environ)


def _dashboards(args: argparse.Namespace) -> int:
    from llm_otel.stack import write

    try:
        options = StackOptions(
            app_job=args.app_job,
            app_target=args.app_target,
            collector_host=args.collector_host,
            latency_objective=args.latency_objective,
            cost_budget=args.cost_budget,
        )
    except ValueError as exc:
        print(f"llm-otel dashboards: {exc}", file=sys.stderr)
        return 2
    for path in write(args.out, options):
        print(path)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``llm-otel`` console script."""
    args = _parser().parse_args(argv)
    from llm_otel.setup import install_json_logging

    install_json_logging(level=logging.WARNING)  # our diagnostics and events, as JSON lines on stderr
    if args.command == "demo":
        from llm_otel.demo import DemoOptions, run_demo
        from llm_otel.setup._settings import resolve

        # The flags win over the variables, as configure()'s arguments do; a bad variable is logged.
        try:
            where = resolve({"prometheus_host": args.metrics_host, "prometheus_port": args.metrics_port})
        except ValueError as err:
            _parser().error(str(err))
        return run_demo(
            DemoOptions(
                duration=args.duration,
                rps=args.rps,
                keep_serving=args.keep_serving,
                metrics_host=where.prometheus_host,
                metrics_port=where.prometheus_port,
                seed=args.seed,
            )
        )
    if args.command == "run":
        return _run(args.program, args.service_name)
    if args.command == "dashboards":
        return _dashboards(args)
    if args.command == "doctor":
        import json

        from llm_otel.setup._doctor import render, report

        found = report()
        print(json.dumps(found, indent=2) if args.json else render(found))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
