"""``llm-otel demo``: the whole pipeline on an embedded fake provider, no keys, no network."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TextIO

from llm_otel._services import prefer_stable_http
from llm_otel.fake import FakeProvider

from . import _agents, _providers, _resilience, _service, _summary, _workload
from ._signals import DemoSignals, build_signals

_AGENT_RUNS = 3
# With --keep-serving the resilience and agent phases repeat at this period beside the workload, so that
# dashboards and alerts watching a long-running demo see breaker, retry and fallback series move.
_PHASE_PERIOD = 20.0
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True)
class DemoOptions:
    """What ``llm-otel demo`` was asked for."""

    duration: float = 15.0
    rps: float = 10.0
    keep_serving: bool = False
    metrics_host: str = "localhost"
    metrics_port: int = 9464
    seed: int = 7


def run_demo(options: DemoOptions, out: TextIO = sys.stdout) -> int:
    """Run the demo; returns the process exit status."""
    providers = _providers.installed()
    if not providers or providers[0] is not _providers.PROVIDERS[0]:
        print("llm-otel demo: needs the openai SDK (pip install 'llm-otel[openai]')", file=sys.stderr)
        return 2
    signals = build_signals(options.metrics_host, options.metrics_port, "llm-otel-demo")
    prefer_stable_http()  # for the demo service's HTTP metrics; read when the first instrumentor loads
    instrumentors = [provider.instrumentor() for provider in providers]
    for instrumentor in instrumentors:
        instrumentor.instrument(
            tracer_provider=signals.tracer_provider, meter_provider=signals.meter_provider, stream_usage=True
        )
    stop = threading.Event()
    # Ctrl-C, or `docker stop`'s SIGTERM, ends the traffic and lets the exporters flush.
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in _STOP_SIGNALS} if _main_thread() else {}
    try:
        with FakeProvider() as provider, ExitStack() as closing:
            clients = _providers.connect(provider, providers)
            for connected in clients:
                closing.callback(connected.provider.close, connected.client)
            print(f"llm-otel demo: fake {_names(providers)} provider at {provider.url}", file=out)
            if signals.metrics_url:
                print(f"llm-otel demo: Prometheus metrics at {signals.metrics_url}", file=out)
            print(
                f"llm-otel demo: OTLP export {'on' if signals.otlp else 'off (set OTEL_EXPORTER_OTLP_ENDPOINT)'}",
                file=out,
            )
            length = "until Ctrl-C" if options.keep_serving else f"for {options.duration:g} s"
            print(f"llm-otel demo: about {options.rps:g} calls/s {length}", file=out)
            progress = _Progress(out)
            tally = _workload.Tally()
            phase, tool_calls = _traffic(options, provider, clients, signals, tally, progress, stop)
            progress.done(tally)
        print(file=out)
        print(_summary.render(signals.pipeline.stats.stats()), file=out)
        print(f"\n{_resilience.render(phase)}", file=out)
        print(f"\n{_agents.render(_AGENT_RUNS, tool_calls, signals.pipeline.stats.collect())}", file=out)
        if signals.metrics_url:
            base = signals.metrics_url.removesuffix("/metrics")
            print(f"\nMetrics were served at {signals.metrics_url} (scrape it with Prometheus),", file=out)
            print(f"with a JSON snapshot at {base}/v1/stats and provider health at {base}/health.", file=out)
        return 0
    finally:
        for instrumentor in instrumentors:
            instrumentor.uninstrument()
        signals.shutdown()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _names(providers: Sequence[_providers.DemoProvider]) -> str:
    titles = [provider.title for provider in providers]
    return titles[0] if len(titles) == 1 else f"{', '.join(titles[:-1])} and {titles[-1]}"


def _traffic(
    options: DemoOptions,
    provider: FakeProvider,
    clients: Sequence[_providers.Connected],
    signals: DemoSignals,
    tally: _workload.Tally,
    progress: _Progress,
    stop: threading.Event,
) -> tuple[_resilience.Phase, int]:
    """The workload, then the resilience and agent phases; with ``keep_serving`` the phases repeat beside it."""

    def workload() -> None:
        duration = 0 if options.keep_serving else options.duration
        _workload.run(
            service.ask,
            kinds=_workload.mix(clients),
            duration=duration,
            rps=options.rps,
            seed=options.seed,
            on_progress=progress,
            stop=stop,
            tally=tally,
        )

    def phases() -> tuple[_resilience.Phase, int]:
        client = clients[0].client  # OpenAI's
        phase = _resilience.run(provider, client, tally, stop, signals.tracer_provider, signals.meter_provider)
        return phase, _agents.run(client, _AGENT_RUNS, tally, signals.tracer_provider, signals.meter_provider)

    # The workload's calls are made by the handlers of a small HTTP service, as a real service makes them.
    service = _service.Service(_service.performer(clients), signals.tracer_provider, signals.meter_provider)
    try:
        if not options.keep_serving:
            workload()
            return phases()
        traffic = threading.Thread(target=workload, name="llm-otel-demo-workload", daemon=True)
        traffic.start()
        result = phases()
        while not stop.wait(_PHASE_PERIOD):
            result = phases()
        traffic.join()
        return result
    finally:
        service.close()


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


class _Progress:
    """One line updated in place on a terminal; a line every few seconds otherwise."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._tty = out.isatty()
        self._last = 0.0

    def __call__(self, tally: _workload.Tally, elapsed: float) -> None:
        now = time.monotonic()
        if now - self._last < (0.25 if self._tty else 5.0):
            return
        self._last = now
        line = f"{elapsed:5.1f} s  {self._line(tally)}"
        print(f"\r{line}" if self._tty else line, end="" if self._tty else "\n", file=self._out, flush=True)

    def done(self, tally: _workload.Tally) -> None:
        print(("\r" if self._tty else "") + f"done    {self._line(tally)}", file=self._out, flush=True)

    @staticmethod
    def _line(tally: _workload.Tally) -> str:
        with tally.lock:
            calls = sum(tally.calls.values())
            failed = sum(tally.failures.values())
        return f"{calls} calls, {failed} failed"
