"""Per-call cost of message content capture: off (the default) against on, span and event.

One process, the instrumented openai chat call over an in-process ``httpx2.MockTransport`` (spans
batched to a dropping exporter, log events batched to a dropping exporter), timed interleaved
(off, span, span+event, off, ...) and reported as the median of per-round means, for a plain call
and for a 201-chunk stream (whose text capture assembles from the chunks). ``uninstrumented`` is
the bare SDK call, for scale; last, the capture-off gate alone against an empty call.

    .venv/bin/python benchmarks/content_overhead.py [--rounds 30] [--calls 300]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter, LogRecordExportResult

from _providers import OPENAI
from _workload import Telemetry
from llm_otel import set_content_capture
from llm_otel.providers.openai import OpenAIInstrumentor
from llm_otel.providers.openai._content import CHAT_CONTENT
from llm_otel.telemetry._content import start


class _DropLogs(LogRecordExporter):
    """Drops: export cost stays in the measurement, I/O does not."""

    def export(self, batch: Sequence[Any]) -> LogRecordExportResult:
        return LogRecordExportResult.SUCCESS

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


def per_call(fn: Callable[[], Any], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()

    telemetry = Telemetry(set_globals=False)
    logs = LoggerProvider()
    logs.add_log_record_processor(BatchLogRecordProcessor(_DropLogs()))
    instrumentor = OpenAIInstrumentor()
    clients = OPENAI.make_clients()
    request = OPENAI.request

    def call() -> Any:
        return clients["call"].chat.completions.create(**request)

    def stream() -> Any:
        return list(clients["stream_201"].chat.completions.create(**request, stream=True))

    modes = ("NO_CONTENT", "SPAN_ONLY", "SPAN_AND_EVENT")
    variants: list[tuple[str, Callable[[], None]]] = [
        ("uninstrumented", lambda: instrumentor.is_instrumented_by_opentelemetry and instrumentor.uninstrument()),
        *((mode, lambda mode=mode: set_content_capture(mode, logger_provider=logs)) for mode in modes),  # type: ignore[misc]
    ]

    def switch(name: str, setter: Callable[[], None]) -> None:
        if name != "uninstrumented" and not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
        setter()

    print(f"{'workload':<10}{'variant':<16}{'µs/call':>10}{'vs off µs':>11}")
    for workload, fn, calls in (("chat", call, args.calls), ("stream201", stream, max(1, args.calls // 10))):
        times: dict[str, list[float]] = {name: [] for name, _ in variants}
        for name, setter in variants:  # warm-up
            switch(name, setter)
            per_call(fn, max(10, calls // 10))
        gc.disable()
        try:
            for _ in range(args.rounds):
                for name, setter in variants:
                    switch(name, setter)
                    times[name].append(per_call(fn, calls))
        finally:
            gc.enable()
        off = statistics.median(times["NO_CONTENT"])
        for name, _ in variants:
            median = statistics.median(times[name])
            print(f"{workload:<10}{name:<16}{median * 1e6:>10.1f}{(median - off) * 1e6:>+11.1f}")
    # The whole capture-off cost of a call: the gate the wrapper runs, against an empty call.
    set_content_capture("NO_CONTENT")
    gate = statistics.median(per_call(lambda: start(CHAT_CONTENT, request), 100_000) for _ in range(args.rounds))
    empty = statistics.median(per_call(lambda: None, 100_000) for _ in range(args.rounds))
    print(f"capture-off gate per call: {(gate - empty) * 1e9:.0f} ns")
    telemetry.flush()
    logs.shutdown()


if __name__ == "__main__":
    main()
