"""The ``llm-otel`` command."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from llm_otel._version import __version__


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
    demo.add_argument("--metrics-host", default="localhost", help="address of /metrics (default localhost)")
    demo.add_argument(
        "--metrics-port", type=int, default=9464, help="port of /metrics (default 9464; 0 picks a free one)"
    )
    demo.add_argument("--seed", type=int, default=7, help="random seed of the workload (default 7)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``llm-otel`` console script."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    if args.command == "demo":
        from llm_otel.demo import DemoOptions, run_demo

        return run_demo(
            DemoOptions(
                duration=args.duration,
                rps=args.rps,
                keep_serving=args.keep_serving,
                metrics_host=args.metrics_host,
                metrics_port=args.metrics_port,
                seed=args.seed,
            )
        )
    return 2


if __name__ == "__main__":
    sys.exit(main())
