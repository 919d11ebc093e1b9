"""Per-call cost of the ledger (in flight, health window, cost) and of the cardinality guard.

Timed interleaved (A, B, A, B ...) in one process, reported as the median of per-round means:

- ``sdk``: the instrumented openai chat call (in-process ``httpx2.MockTransport``, spans batched to
  a dropping exporter, the response's usage priced) with the ledger, against the same call with
  the ledger replaced by a no-op: its share of a real call;
- ``ledger``: ``Ledger.enter`` and ``leave`` alone on a typical usage (input, cached input,
  output), against an empty function;
- ``guard``: one bounded-value lookup of a known model, against an identity function.

    .venv/bin/python benchmarks/cost_overhead.py [--rounds 30] [--calls 2000]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _providers import OPENAI
from _workload import Telemetry
from llm_otel.providers.openai import OpenAIInstrumentor
from llm_otel.telemetry import Outcome
from llm_otel.telemetry._cardinality import guard
from llm_otel.telemetry._instruments import instruments_for
from llm_otel.telemetry._ledger import Ledger


def per_call(fn: Callable[[], Any], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def compare(
    base: Callable[[], Any], measured: Callable[[], Any], rounds: int, calls: int, before: Callable[[bool], None]
) -> tuple[float, float]:
    """Median per-call seconds of ``base`` and ``measured``; ``before(measuring)`` switches between them."""
    for fn, measuring in ((base, False), (measured, True)):  # warm up caches and lazy imports
        before(measuring)
        per_call(fn, max(50, calls // 10))
    a: list[float] = []
    b: list[float] = []
    gc.disable()
    try:
        for _ in range(rounds):
            before(False)
            a.append(per_call(base, calls))
            before(True)
            b.append(per_call(measured, calls))
    finally:
        gc.enable()
    return statistics.median(a), statistics.median(b)


class _NoLedger:
    def enter(self, *_: Any) -> None:
        return None

    def leave(self, *_: Any) -> None:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()

    telemetry = Telemetry(set_globals=False)
    OpenAIInstrumentor().instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    client = OPENAI.make_clients()["call"]
    request = OPENAI.request
    instruments = instruments_for(telemetry.meter_provider)
    real, none = instruments.ledger, _NoLedger()

    def switch_ledger(measuring: bool) -> None:
        instruments.ledger = real if measuring else none  # type: ignore[assignment]

    def sdk_call() -> Any:
        return client.chat.completions.create(**request)

    outcome = Outcome()
    outcome.response_model, outcome.input_tokens, outcome.output_tokens = "gpt-4o-mini-2024-07-18", 1200, 300
    outcome.cache_read_tokens, outcome.cache_creation_tokens, outcome.reasoning_tokens = 1024, 0, 0
    ledger = Ledger(telemetry.meter_provider.get_meter("bench"))

    def empty(provider: str, model: str, requested: str | None, result: Outcome | None) -> None:
        return None

    def settle(provider: str, model: str, requested: str | None, result: Outcome | None) -> None:
        ledger.leave(ledger.enter("chat", provider, model), requested, result, None, time.perf_counter())

    model = request["model"]
    guard.request_model.value(model)
    pairs: dict[str, tuple[Callable[[], Any], Callable[[], Any], int, Callable[[bool], None]]] = {
        "sdk": (sdk_call, sdk_call, max(1, args.calls // 10), switch_ledger),
        "ledger": (
            lambda: empty("openai", model, model, outcome),
            lambda: settle("openai", model, model, outcome),
            args.calls * 10,
            lambda _: None,
        ),
        "guard": (lambda: str(model), lambda: guard.request_model.value(model), args.calls * 10, lambda _: None),
    }
    print(f"{'pair':<8}{'base µs':>10}{'with µs':>10}{'added µs':>10}")
    for name, (base, measured, calls, before) in pairs.items():
        without, with_ = compare(base, measured, args.rounds, calls, before)
        print(f"{name:<8}{without * 1e6:>10.2f}{with_ * 1e6:>10.2f}{(with_ - without) * 1e6:>10.2f}")
    switch_ledger(True)
    telemetry.flush()


if __name__ == "__main__":
    main()
