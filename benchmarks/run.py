"""Measure the overhead llm-otel and its peers add to the openai and anthropic SDKs; write docs/benchmarks.md.

Run from the repository root::

    python benchmarks/run.py              # full run (~8 min on 2 cores, ~13 with --callgrind)
    python benchmarks/run.py --quick      # fewer rounds and iterations (~1 min)
    python benchmarks/run.py --callgrind  # also count instructions under valgrind (deterministic)
    python benchmarks/run.py --provider anthropic  # one provider's cases only (default: all)

Only the standard library is used here: every variant runs in a worker process (``_workload.py``)
inside its own virtualenv under ``benchmarks/.envs``, created and kept up to date by this script.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ENVS = HERE / ".envs"
DOC = ROOT / "docs" / "benchmarks.md"
RESULTS = HERE / "results"

sys.path.insert(0, str(HERE))
from _providers import LONG_STREAM, PROVIDERS  # noqa: E402
from _workload import CALLGRIND_MARKER  # noqa: E402

# The same SDK and OTel versions everywhere; the OTel pins are ones every peer accepts.
COMMON = (
    "openai==3.54.0",
    "anthropic==2.13.0",
    "ollama==0.6.3",
    "mistralai==3.7.0",
    "cohere==7.3.1",
    "botocore==1.44.18",
    "google-genai==3.6.1",
    "opentelemetry-api==1.45.2",
    "opentelemetry-sdk==1.45.2",
    "wrapt==2.5.2",
    # For --metrics stock: the SDK's own Prometheus and OTLP readers, in every environment.
    "opentelemetry-exporter-prometheus==0.66b2",
    "opentelemetry-exporter-otlp-proto-http==1.45.2",
)
VENVS: dict[str, tuple[str, ...]] = {
    "llm-otel": ("-e", str(ROOT)),
    # 2.4b0 imports httpx (the HTTP library of openai < 3) without declaring it, and
    # opentelemetry.util.genai.instruments, which util-genai dropped in 1.2b0.
    "otel-v2": ("opentelemetry-instrumentation-openai-v2==2.4b0", "httpx", "opentelemetry-util-genai==1.1b0"),
    "openllmetry": ("opentelemetry-instrumentation-openai>=0.62,<0.63",),
    "openinference": ("openinference-instrumentation-openai>=0.1,<0.2",),
    "genai-openai": ("opentelemetry-instrumentation-genai-openai==1.3b0",),
    "openllmetry-anthropic": ("opentelemetry-instrumentation-anthropic>=0.62,<0.63",),
}
# Each variant runs for the providers its module lists (PROVIDERS), in this order.
VARIANTS = (
    "bare",
    "wrapt-noop",
    "floor",
    "llm-otel",
    "sdk-native",
    "otel-v2",
    "openllmetry",
    "openinference",
    "genai-openai",
    "openllmetry-anthropic",
)
PEERS = ("otel-v2", "openllmetry", "openinference", "genai-openai", "openllmetry-anthropic")
# Environment variables that would change what an instrumentation does; workers never inherit them.
SCRUBBED_PREFIXES = ("OTEL_", "TRACELOOP_", "OPENINFERENCE_", "LLM_OTEL_", "ANTHROPIC_", "OPENAI_", "PYTHONPATH")
CLOCKS = ("cpu", "wall")
METRICS = {
    "call_sync": "per call, sync",
    "call_async": "per call, async",
    "stream_setup": "stream set-up",
    "per_chunk": "per chunk",
}
CHUNK_ALLOWANCE_US = 1.0  # what llm-otel may add per chunk beyond one histogram record


@dataclass(frozen=True)
class Mode:
    """Rounds, and iterations per timed batch: a batch lasts ~0.25 s (full) on this kind of machine."""

    rounds: int
    epochs: int  # generations of worker processes the rounds are spread over
    calls: int
    streams: int
    long_streams: int
    records: int
    warmup: int


FULL = Mode(rounds=30, epochs=5, calls=300, streams=250, long_streams=14, records=20_000, warmup=200)
QUICK = Mode(rounds=6, epochs=2, calls=120, streams=100, long_streams=5, records=10_000, warmup=60)
# Scenario -> the Mode field giving its batch size.
BATCHES = {"call_sync": "calls", "call_async": "calls", "stream_1": "streams", "stream_201": "long_streams"}
# Iterations per callgrind region: counts are deterministic, so few are needed.
CALLGRIND_PLAN = (("call_sync", 100), ("call_async", 100), ("stream_1", 60), ("stream_201", 6), ("hist_record", 5000))

HEADER = """\
# Benchmarks

How much time llm-otel adds to a call made with the `openai`, `anthropic`, `ollama`, `mistralai`,
`cohere`, `botocore` (Bedrock) and `google-genai` SDKs, next to the hand-written minimum ("floor")
where it knows the SDK and to the other OpenTelemetry instrumentations of the same SDK. The SDK
talks to an in-process `MockTransport` of its HTTP library (`httpx2`; `httpx` for ollama, cohere
and google-genai; botocore's `before-send` event) returning canned, valid JSON, SSE, NDJSON or AWS
event-stream bytes of the provider's API (OpenAI chat completions; Anthropic Messages:
`message_start`, a text block's `content_block_start`/`ping`/`content_block_delta`s/
`content_block_stop`, `message_delta` with the usage, `message_stop`; Ollama `/api/chat`: a line
per token, then the `done` line with the counts; Mistral chat completions; Cohere v2 chat events;
Bedrock Converse and ConverseStream; Gemini `generateContent` and its SSE stream), built once, so
the numbers hold the SDK's own work and the instrumentation's, and no network. Each provider is
measured on its own, with the same method.

**This file is generated by `python benchmarks/run.py`; edit the header in that script.**

## Method

- Every variant runs in its own worker process (instrumentors patch the SDK globally), in a
  virtualenv of its own under `benchmarks/.envs` with the same `openai`, `anthropic`, OTel SDK and
  `wrapt` versions (the peers' environments are constrained to the versions the llm-otel one resolved).
  Every worker sets up the same SDK pipeline: a `TracerProvider` with a `BatchSpanProcessor` to an
  exporter that drops the spans, and a `MeterProvider` with an `InMemoryMetricReader` (so the
  instruments are real and aggregate).
- Workers warm up, then the runner asks them in turn for one timed batch each (round-robin,
  rotating the order every round), so that machine noise hits every variant alike. The rounds are
  spread over several generations of fresh worker processes, since one process can run a few
  percent faster or slower than another for reasons of its own (memory layout, hash seeds). A result is
  the per-iteration mean of a batch; the tables give the **median over rounds** and, after `±`,
  half the inter-quartile range over rounds.
- Each batch is timed twice: **CPU time** of the worker process (all its threads, so the span
  processor's export thread counts) and wall-clock time. The targets are judged on CPU time: on a
  shared machine other processes stretch a batch's wall time, hardly its CPU time.
- **Overhead** = variant - `bare`, taken per round (the two batches ran seconds apart), then the
  median. **x floor** = overhead / the floor's overhead.
- Scenarios: a non-streaming `chat.completions.create` / `messages.create` / `chat`, sync and
  async; **stream set-up**: a stream of 1 content chunk (with the other events of the stream: the
  finish chunk for OpenAI, the six around the text delta for Anthropic, the `done` line for
  Ollama), created and iterated; **per
  chunk**: (stream of 201 content chunks - stream of 1) / 200.
- Content capture is off for every peer, through its own environment variables (see each
  variant below).
- `--callgrind` runs each worker once more under `valgrind --tool=callgrind` and counts the
  instructions of each region (n iterations, then a span flush so that batch export is included):
  deterministic where times are not.
- The floor is defined as one span and three histogram records per call: the duration, and the
  input and the output token counts, as the conventions ask (until 2026-12 it recorded the input
  count only, and its figures were one record lower). llm-otel makes one cost record more for a
  model whose price it knows, such as the Anthropic model here.
- anthropic 2.x traces its own calls into the **global** tracer provider (the `openai` SDK does
  not). What that tracing does in each variant: `bare` and `wrapt-noop` leave the global providers
  as the API's no-op ones, as an application that has not set up OpenTelemetry does: the SDK gets
  an invalid span from the no-op tracer and goes on without one. `floor` leaves them no-op too
  (it traces into the providers it is given), so the SDK records no second span; since the floor's
  span is current during the call, the SDK takes a non-recording span carrying its context and
  propagates it with the request. `llm-otel` runs with the global providers set, as
  `llm_otel.configure()` leaves them: it replaces the SDK's span with its own (see
  [anthropic.md](anthropic.md)), so the SDK propagates llm-otel's span context, as in the floor.
  `sdk-native` is the SDK's own tracing alone, globals set: one span, no metrics (not a peer for
  the targets: it does less than the job). The peers run with the globals set, as their users do;
  OpenLLMetry's Anthropic instrumentation leaves the SDK's tracing on, so its calls have two
  spans (its own and the SDK's): the "spans/call" column shows it.
"""

TARGETS_TEXT = f"""\
Targets (checked by the runner, not by tests):

1. per call (sync and async), llm-otel's overhead <= 1.2x the floor's, and below every peer's;
2. stream set-up, llm-otel's overhead <= 1.5x the floor's;
3. per chunk, llm-otel's overhead <= one `Histogram.record` with the per-chunk attribute set
   (6 attributes, measured in the same run) + {CHUNK_ALLOWANCE_US:g} µs, and below every peer's.
"""


# --- virtualenvs ----------------------------------------------------------------------------------


def _uv() -> list[str]:
    found = shutil.which("uv")
    if found:
        return [found]
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "uv"], check=True)
    return [sys.executable, "-m", "uv"]


def env_python(venv: str) -> Path:
    return ENVS / venv / "bin" / "python"


def _spec_hash(venv: str, packages: Sequence[str], constraints: str) -> str:
    parts = [sys.version, *COMMON, *packages, constraints]
    if venv == "llm-otel":  # its dependencies come from pyproject.toml: a change there re-installs
        parts.append((ROOT / "pyproject.toml").read_text())
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _install(uv: list[str], venv: str, constraints: Path | None) -> bool:
    """Create or refresh one virtualenv; skipped when its stamp says it holds this exact spec."""
    packages = VENVS[venv]
    stamp = ENVS / venv / ".bench-spec"
    digest = _spec_hash(venv, packages, constraints.read_text() if constraints else "")
    if env_python(venv).exists() and stamp.exists() and stamp.read_text() == digest:
        return True
    print(f"[setup] installing {venv} ...", flush=True)
    if not env_python(venv).exists():
        subprocess.run([*uv, "venv", "-q", "--python", sys.executable, str(ENVS / venv)], check=True)
    command = [*uv, "pip", "install", "-q", "--python", str(env_python(venv)), *COMMON, *packages]
    attempts = [[*command, "-c", str(constraints)], command] if constraints else [command]
    for number, attempt in enumerate(attempts):
        if subprocess.run(attempt, cwd=ROOT, check=False).returncode == 0:
            if number:
                print(f"[setup] {venv}: installed without the shared constraints", flush=True)
            stamp.write_text(digest)
            return True
    print(f"[setup] {venv}: could not be installed; its variants are skipped", flush=True)
    return False


def setup_envs(needed: set[str]) -> set[str]:
    """Install what the chosen variants need; returns the virtualenvs that are usable."""
    ENVS.mkdir(parents=True, exist_ok=True)
    uv = _uv()
    if not _install(uv, "llm-otel", None):
        raise SystemExit("the llm-otel virtualenv could not be installed")
    # Peers get the versions the llm-otel env resolved (pydantic, httpx2, ...) wherever they allow it,
    # so that no variant runs a different SDK stack than the baseline.
    frozen = subprocess.run(
        [*uv, "pip", "freeze", "--python", str(env_python("llm-otel"))], capture_output=True, text=True, check=True
    ).stdout
    pins = sorted(line for line in frozen.splitlines() if "==" in line and not line.startswith(("-e", "llm-otel")))
    constraints = ENVS / "constraints.txt"
    text = "\n".join(pins) + "\n"
    if not constraints.exists() or constraints.read_text() != text:
        constraints.write_text(text)
    return {"llm-otel"} | {venv for venv in sorted(needed - {"llm-otel"}) if _install(uv, venv, constraints)}


# --- workers --------------------------------------------------------------------------------------


def load_variant(name: str) -> ModuleType:
    return importlib.import_module(f"variants.{name.replace('-', '_')}")


# A copy of src/ taken when the run starts. Workers are started afresh for every generation, and
# others may edit the working tree meanwhile: the llm-otel env's workers import this copy (ahead of
# the editable install's path), so that one run measures one version of llm-otel.
_snapshot: Path | None = None


def snapshot_source(into: Path) -> str:
    """Copy src/ into ``into`` for the workers; returns the copy's fingerprint."""
    global _snapshot  # noqa: PLW0603 (set once per run, read by worker_env)
    shutil.copytree(ROOT / "src", into, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
    _snapshot = into
    return source_fingerprint(into)


def worker_env(variant: ModuleType, extra: dict[str, str]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(SCRUBBED_PREFIXES)}
    if _snapshot is not None and variant.VENV == "llm-otel":
        env["PYTHONPATH"] = str(_snapshot)
    env.update(getattr(variant, "ENVIRON", {}))
    env.update(extra)
    return env


class Worker:
    """One variant's process, driven one JSON line at a time."""

    def __init__(self, provider: str, name: str, warmup: int) -> None:
        self.name = name
        variant = load_variant(name)
        # Kept for the worker's lifetime, to say why it died if it does.
        self.stderr = tempfile.TemporaryFile("w+")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [str(env_python(variant.VENV)), str(HERE / "_workload.py"), provider, name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            cwd=ROOT,
            env=worker_env(variant, {"BENCH_WARMUP": str(warmup)}),
            text=True,
        )

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            self.stderr.seek(0)
            last = (self.stderr.read().strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"worker {self.name} exited with {self.proc.returncode}: {last}")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def ready(self) -> str | None:
        """None once the worker is ready, else why it is not (e.g. its instrumentation failed)."""
        try:
            self._read()
        except RuntimeError as err:
            print(f"[timing] {err}", flush=True)
            return str(err).split(": ", 1)[-1]
        return None

    def ask(self, **command: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=60)
        self.stderr.close()


# --- timing ---------------------------------------------------------------------------------------

Times = dict[str, dict[str, list[float]]]  # variant -> scenario -> per-iteration µs, one per round


def _epoch(
    provider: str, names: Sequence[str], mode: Mode, rounds: range, times: dict[str, Times], skipped: dict[str, str]
) -> dict[str, Any]:
    """Fresh workers for every variant, then ``rounds`` round-robin rounds; returns their info."""
    # Their start-ups overlap.
    started_workers = [Worker(provider, name, mode.warmup) for name in names if name not in skipped]
    workers = []
    try:
        for worker in started_workers:
            failure = worker.ready()
            if failure is None:
                workers.append(worker)
            else:
                skipped[worker.name] = failure

        def measure(worker: Worker, scenario: str, n: int) -> None:
            reply = worker.ask(cmd="run", scenario=scenario, n=n)
            for clock in CLOCKS:
                series = times[clock].setdefault(worker.name, {s: [] for s in (*BATCHES, "hist_record")})
                series[scenario].append(reply[f"{clock}_ns"] / n / 1e3)

        for round_ in rounds:
            # Rotate the order so that no variant always runs right after the same one.
            order = workers[round_ % len(workers) :] + workers[: round_ % len(workers)]
            for scenario, size in BATCHES.items():
                for worker in order:
                    measure(worker, scenario, getattr(mode, size))
            for worker in workers:
                if worker.name == "floor":
                    measure(worker, "hist_record", mode.records)
            print(f"[timing] {provider} round {round_ + 1}/{mode.rounds}", flush=True)
        return {worker.name: worker.ask(cmd="info") for worker in workers}
    finally:
        for worker in started_workers:
            worker.close()


def time_variants(
    provider: str, names: Sequence[str], mode: Mode, skipped: dict[str, str]
) -> tuple[dict[str, Times], dict[str, Any]]:
    """Per clock, variant and scenario: the per-iteration mean (µs) of each round, for one provider.

    The rounds are spread over ``mode.epochs`` generations of worker processes: one process can be
    a few percent faster or slower than another for reasons of its own (memory layout, hash seeds),
    and fresh processes average that out. Workers that fail to start (an instrumentation that does
    not import, say) go to ``skipped``.
    """
    times: dict[str, Times] = {clock: {} for clock in CLOCKS}
    info: dict[str, Any] = {}
    epochs = max(1, min(mode.epochs, mode.rounds))
    for epoch in range(epochs):
        rounds = range(mode.rounds * epoch // epochs, mode.rounds * (epoch + 1) // epochs)
        for name, found in _epoch(provider, names, mode, rounds, times, skipped).items():
            if name in info:  # spans and calls add up over the epochs
                found["spans"] += info[name]["spans"]
                found["calls"] += info[name]["calls"]
            info[name] = found
    for clock in CLOCKS:  # a variant whose worker failed in a later epoch is dropped altogether
        times[clock] = {name: series for name, series in times[clock].items() if name not in skipped}
    return times, {name: found for name, found in info.items() if name not in skipped}


# --- callgrind ------------------------------------------------------------------------------------


def _region_totals(out_dir: Path, name: str) -> list[int]:
    """Instructions of each dump but the first (start-up and warm-up), in order."""
    dumps = [path for path in out_dir.glob(f"{name}.*.*") if path.suffix[1:].isdigit()]
    totals = []
    for path in sorted(dumps, key=lambda path: int(path.suffix[1:])):
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("summary:"):
                totals.append(int(line.split()[1]))
                break
    return totals[1:]


def _callgrind_one(provider: str, name: str, out_dir: Path) -> dict[str, float] | None:
    """One variant's worker under callgrind: instructions per iteration of each planned scenario."""
    variant = load_variant(name)
    label = f"{provider}-{name}"
    plan = ",".join(f"{scenario}:{n}" for scenario, n in CALLGRIND_PLAN)
    # A fixed hash seed, and no timer-driven batch export: the flush closing each region exports all.
    extra = {"BENCH_WARMUP": "30", "BENCH_CALLGRIND_PLAN": plan, "PYTHONHASHSEED": "0"}
    extra["OTEL_BSP_SCHEDULE_DELAY"] = "3600000"
    command = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",  # start-up runs uninstrumented, ~10x faster; see _workload.main
        f"--dump-before={CALLGRIND_MARKER}",
        f"--callgrind-out-file={out_dir / label}.%p",
        str(env_python(variant.VENV)),
        str(HERE / "_workload.py"),
        provider,
        name,
    ]
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        env=worker_env(variant, extra),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    armed = proc.stdout.readline()
    if armed:
        subprocess.run(["callgrind_control", "-i", "on", str(proc.pid)], capture_output=True, timeout=300, check=False)
        proc.stdin.write("go\n")
        proc.stdin.close()
    proc.wait()
    totals = _region_totals(out_dir, label)
    # No instructions at all would mean callgrind_control could not turn instrumentation on.
    if not armed or proc.returncode != 0 or len(totals) < len(CALLGRIND_PLAN) or min(totals) == 0:
        print(f"[callgrind] {label} failed (exit {proc.returncode})", flush=True)
        return None
    print(f"[callgrind] {label} done", flush=True)
    return {
        scenario: total / n for (scenario, n), total in zip(CALLGRIND_PLAN, totals[: len(CALLGRIND_PLAN)], strict=True)
    }


def callgrind_variants(provider: str, names: Sequence[str]) -> dict[str, dict[str, float]]:
    """Instructions per iteration of each scenario, two valgrind processes at a time (2 cores)."""
    if not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        print("[callgrind] valgrind not found; skipped", flush=True)
        return {}
    with tempfile.TemporaryDirectory(prefix="bench-callgrind-") as tmp, ThreadPoolExecutor(2) as pool:
        counts = list(pool.map(lambda name: _callgrind_one(provider, name, Path(tmp)), names))
    return {name: found for name, found in zip(names, counts, strict=True) if found is not None}


# --- statistics -----------------------------------------------------------------------------------


@dataclass
class Stat:
    median: float
    spread: float  # half the inter-quartile range; 0 for instruction counts


def stat(values: Sequence[float]) -> Stat:
    if len(values) < 4:
        return Stat(statistics.median(values), (max(values) - min(values)) / 2)
    q1, _, q3 = statistics.quantiles(values, n=4)
    return Stat(statistics.median(values), (q3 - q1) / 2)


@dataclass
class Table:
    """Absolute value and overhead (vs bare) per variant and metric."""

    unit: str  # "µs" or "instructions"
    absolute: dict[str, dict[str, Stat]] = field(default_factory=dict)
    overhead: dict[str, dict[str, Stat]] = field(default_factory=dict)
    hist_record: float | None = None

    def fmt(self, value: float) -> str:
        return f"{value:,.0f}" if self.unit == "instructions" else f"{value:.2f}"


def _metrics(scenarios: dict[str, Any], chunk: Any) -> dict[str, Any]:
    return {
        "call_sync": scenarios["call_sync"],
        "call_async": scenarios["call_async"],
        "stream_setup": scenarios["stream_1"],
        "per_chunk": chunk,
    }


def timing_table(times: Times) -> Table:
    table = Table("µs")
    per_round = {
        name: _metrics(
            series,
            [
                (long - short) / (LONG_STREAM - 1)
                for long, short in zip(series["stream_201"], series["stream_1"], strict=True)
            ],
        )
        for name, series in times.items()
    }
    base = per_round["bare"]
    for name, metrics in per_round.items():
        table.absolute[name] = {metric: stat(values) for metric, values in metrics.items()}
        table.overhead[name] = {
            metric: stat([v - b for v, b in zip(values, base[metric], strict=True)])
            for metric, values in metrics.items()
        }
    if "floor" in times and times["floor"]["hist_record"]:
        table.hist_record = statistics.median(times["floor"]["hist_record"])
    return table


def callgrind_table(counts: dict[str, dict[str, float]]) -> Table:
    table = Table("instructions")
    for name, c in counts.items():
        values = _metrics(c, (c["stream_201"] - c["stream_1"]) / (LONG_STREAM - 1))
        table.absolute[name] = {metric: Stat(value, 0) for metric, value in values.items()}
    if "bare" in table.absolute:
        base = table.absolute["bare"]
        for name, metrics in table.absolute.items():
            table.overhead[name] = {m: Stat(v.median - base[m].median, 0) for m, v in metrics.items()}
    if "floor" in counts:
        table.hist_record = counts["floor"]["hist_record"]
    return table


# --- targets --------------------------------------------------------------------------------------


@dataclass
class Check:
    text: str
    ok: bool


def check_targets(table: Table, chunk_allowance: float | None, allowance_note: str = "") -> list[Check]:
    """The targets on one table; ``chunk_allowance`` is the per-chunk allowance in the table's unit."""
    over = table.overhead
    if "llm-otel" not in over or "floor" not in over:
        return []
    ours = {metric: over["llm-otel"][metric].median for metric in METRICS}
    floor = {metric: over["floor"][metric].median for metric in METRICS}
    peers = [name for name in PEERS if name in over]
    fmt = table.fmt
    checks = []

    def vs_peers(metric: str) -> Check:
        beaten_by = [p for p in peers if over[p][metric].median <= ours[metric]]
        detail = ", ".join(f"{p} {fmt(over[p][metric].median)}" for p in peers)
        text = f"{METRICS[metric]}: llm-otel {fmt(ours[metric])} below every peer ({detail})"
        return Check(text + (f"; not below {', '.join(beaten_by)}" if beaten_by else ""), not beaten_by)

    for metric, limit in (("call_sync", 1.2), ("call_async", 1.2), ("stream_setup", 1.5)):
        ratio = ours[metric] / floor[metric] if floor[metric] > 0 else float("inf")
        text = f"{METRICS[metric]}: llm-otel {fmt(ours[metric])} = {ratio:.2f}x floor ({fmt(floor[metric])})"
        text += f", limit {limit}x"
        checks.append(Check(text, ratio <= limit))
        if metric != "stream_setup" and peers:
            checks.append(vs_peers(metric))
    if table.hist_record is not None and chunk_allowance is not None:
        limit = table.hist_record + chunk_allowance
        checks.append(
            Check(
                f"per chunk: llm-otel {fmt(ours['per_chunk'])} <= one histogram record ({fmt(table.hist_record)}) "
                f"+ {fmt(chunk_allowance)}{allowance_note} = {fmt(limit)} (floor: {fmt(floor['per_chunk'])})",
                ours["per_chunk"] <= limit,
            )
        )
    if peers:
        checks.append(vs_peers("per_chunk"))
    return checks


# --- report ---------------------------------------------------------------------------------------


def source_fingerprint(tree: Path) -> str:
    """A short hash of the ``*.py`` files under ``tree``."""
    digest = hashlib.sha256()
    for path in sorted(tree.rglob("*.py")):
        digest.update(path.relative_to(tree).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))  # what nproc reports
    except AttributeError:
        return os.cpu_count() or 0


def _table_md(table: Table, names: Sequence[str], title: str) -> list[str]:
    def cell(value: Stat) -> str:
        if table.unit == "instructions":
            return f"{value.median:,.0f}"
        digits = 1 if abs(value.median) >= 10 else 2
        return f"{value.median:.{digits}f} ±{value.spread:.{digits}f}"

    head, rule = "| variant |", "| --- |"
    for label in METRICS.values():
        head += f" {label} | overhead | x floor |"
        rule += " ---: | ---: | ---: |"
    lines = [f"### {title}", "", head, rule]
    floor = table.overhead.get("floor", {})
    for name in names:
        if name not in table.absolute:
            continue
        row = f"| {name} |"
        for metric in METRICS:
            row += f" {cell(table.absolute[name][metric])} |"
            overhead = table.overhead.get(name, {}).get(metric)
            if name == "bare" or overhead is None:
                row += " | |"
                continue
            ratio = (
                f"{overhead.median / floor[metric].median:.2f}" if metric in floor and floor[metric].median > 0 else ""
            )
            row += f" {cell(overhead)} | {ratio} |"
        lines.append(row)
    if table.hist_record is not None:
        unit = "instructions" if table.unit == "instructions" else "µs"
        lines += [
            "",
            f"One `Histogram.record` with the 6-attribute per-chunk set: {table.fmt(table.hist_record)} {unit}.",
        ]
    return [*lines, ""]


def _checks_md(checks: list[Check]) -> list[str]:
    return [f"- **{'PASS' if c.ok else 'FAIL'}** {c.text}" for c in checks] + [""]


@dataclass
class Report:
    """One provider's part of a run."""

    provider: str
    names: list[str]
    skipped: dict[str, str]
    info: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, Table] = field(default_factory=dict)
    timing_checks: dict[str, list[Check]] = field(default_factory=dict)
    counts: Table | None = None
    count_checks: list[Check] = field(default_factory=list)


@dataclass
class Run:
    mode_name: str
    mode: Mode
    reports: list[Report]
    callgrind: bool
    load: tuple[float, float] = (0.0, 0.0)
    duration: float = 0.0
    source: tuple[str, str] = ("", "")  # fingerprints of the measured copy of src/ and of src/ at the end


def _versions_md(report: Report) -> list[str]:
    info = {name: report.info[name] for name in report.names if name in report.info}
    if not info:
        return []
    common = [d for d in next(iter(info.values()))["versions"] if all(d in i["versions"] for i in info.values())]
    lines = [
        "| variant | spans/call | " + " | ".join(common) + " | instrumentation | metrics recorded |",
        "| --- | ---: |" + " --- |" * (len(common) + 2),
    ]
    for name, i in info.items():
        own = ", ".join(f"{d} {v}" for d, v in i["versions"].items() if d not in common) or "-"
        spans = i["spans"] / i["calls"] if i["calls"] else 0.0
        metrics = ", ".join(f"`{m}`" for m in i["metrics"] if not m.startswith("bench.")) or "-"
        cells = " | ".join(i["versions"][d] for d in common)
        lines.append(f"| {name} | {spans:.2f} | {cells} | {own} | {metrics} |")
    return [*lines, ""]


def _report_md(report: Report) -> list[str]:
    lines = [
        f"## {PROVIDERS[report.provider].title}",
        "",
        *_versions_md(report),
        "spans/call and the metrics show what each variant records (and that it was active).",
        "",
    ]
    lines += [f"- `{name}` was not measured: {why}" for name, why in report.skipped.items()]
    per_chunk = [name for name, i in report.info.items() if any("per_output_chunk" in m for m in i["metrics"])]
    if per_chunk:
        lines += [
            f"Variants that record a histogram per stream chunk (time per output chunk): {', '.join(per_chunk)}; "
            "the others' per-chunk cost is their stream proxy and accumulation alone.",
            "",
        ]
    if "cpu" in report.timings:
        lines += _table_md(
            report.timings["cpu"], report.names, "CPU time (µs per iteration): the targets are judged on it"
        )
        lines += ["Targets, CPU time:", "", *_checks_md(report.timing_checks["cpu"])]
    if report.counts is not None and report.counts.absolute:
        lines += _table_md(report.counts, report.names, "Instructions per iteration (callgrind)")
        lines += ["The same targets, instructions:", "", *_checks_md(report.count_checks)]
    if "wall" in report.timings:
        lines += _table_md(report.timings["wall"], report.names, "Wall-clock time (µs per iteration)")
        lines += ["The same targets, wall clock:", "", *_checks_md(report.timing_checks["wall"])]
    return lines


def write_doc(run: Run) -> None:
    lines = [
        HEADER,
        "## Running",
        "",
        "```",
        "python benchmarks/run.py               # full run",
        "python benchmarks/run.py --quick       # a quick look (fewer rounds and iterations)",
        "python benchmarks/run.py --rounds 20   # choose the number of rounds",
        "python benchmarks/run.py --callgrind   # also count instructions (valgrind)",
        "python benchmarks/run.py --variants floor,llm-otel   # a subset (bare is always in)",
        "python benchmarks/run.py --provider anthropic        # one provider (default: all)",
        "```",
        "",
        "The first run creates the virtualenvs under `benchmarks/.envs` (git-ignored) with `uv`; later",
        "runs reuse them while their package specification is unchanged. Raw results go to",
        "`benchmarks/results/last.json` (git-ignored).",
        "",
        "## Variants",
        "",
    ]
    for name in VARIANTS:
        variant = load_variant(name)
        text = (variant.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ").replace("``", "`")
        environ = getattr(variant, "ENVIRON", {})
        extra = f" Environment: {', '.join(f'`{k}={v}`' for k, v in environ.items())}." if environ else ""
        providers = ", ".join(variant.PROVIDERS)
        lines.append(f"- `{name}` ({providers}; env `{variant.VENV}`): {text}{extra}")
    python = next((i["python"] for r in run.reports for i in r.info.values()), platform.python_version())
    mode = run.mode
    lines += [
        "",
        "## Machine",
        "",
        f"- {_cpus()} CPUs (nproc), {_cpu_model()}, {platform.system()} {platform.release()}; "
        f"load average {run.load[0]:.2f} at the start of the run, {run.load[1]:.2f} at its end",
        f"- Python {python}; last run: {run.mode_name}, {', '.join(r.provider for r in run.reports)}, "
        f"{mode.rounds} rounds over {mode.epochs} generations of workers per provider, batches of {mode.calls} calls, "
        f"{mode.streams} short and {mode.long_streams} long streams; "
        f"{'with' if run.callgrind else 'without'} callgrind; took {run.duration / 60:.1f} min",
        f"- llm-otel measured: a copy of `src/` taken at the start of the run, fingerprint `{run.source[0]}` "
        "(sha256 of its `*.py` files)"
        + ("" if run.source[0] == run.source[1] else f"; `src/` had changed by the end (`{run.source[1]}`)"),
        "",
        "## Targets",
        "",
        TARGETS_TEXT,
    ]
    for report in run.reports:
        lines += _report_md(report)
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text("\n".join(lines).rstrip() + "\n")


def _print_table(label: str, table: Table, names: Sequence[str]) -> None:
    print(f"\n{'overhead, ' + label:<24}" + "".join(f"{title:>17}" for title in METRICS.values()))
    for name in names:
        if name in table.overhead:
            print(f"{name:<24}" + "".join(f"{table.fmt(table.overhead[name][m].median):>17}" for m in METRICS))
    if table.hist_record is not None:
        print(f"one histogram record: {table.fmt(table.hist_record)}")


# --- main -----------------------------------------------------------------------------------------


def run_timing(report: Report, mode: Mode) -> dict[str, Any]:
    """Time one provider's variants into ``report``; returns the raw data."""
    times, report.info = time_variants(report.provider, report.names, mode, report.skipped)
    report.names = [name for name in report.names if name not in report.skipped]
    for clock in CLOCKS:
        table = report.timings[clock] = timing_table(times[clock])
        report.timing_checks[clock] = check_targets(table, CHUNK_ALLOWANCE_US)
        _print_table(f"{report.provider}, {clock} µs", table, report.names)
    return {"times_us": times, "info": report.info}


def run_callgrind(report: Report) -> dict[str, dict[str, float]]:
    """Count one provider's variants' instructions into ``report``; returns the raw counts."""
    counts = callgrind_variants(report.provider, report.names)
    report.counts = callgrind_table(counts)
    # The 1 µs allowance in instructions, at the rate the bare SDK call runs on this machine.
    allowance, note = None, ""
    cpu = report.timings.get("cpu")
    if cpu and "bare" in report.counts.absolute:
        rate = report.counts.absolute["bare"]["call_sync"].median / cpu.absolute["bare"]["call_sync"].median
        allowance, note = rate * CHUNK_ALLOWANCE_US, f" (1 µs at {rate:,.0f} instructions/µs)"
    report.count_checks = check_targets(report.counts, allowance, note)
    _print_table(f"{report.provider}, instructions", report.counts, report.names)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and iterations")
    parser.add_argument("--rounds", type=int, help="rounds of timing (0: none, e.g. with --callgrind)")
    parser.add_argument("--callgrind", action="store_true", help="also count instructions under valgrind")
    parser.add_argument("--variants", help="comma-separated subset (bare is always included)")
    parser.add_argument("--provider", choices=[*PROVIDERS, "all"], default="all", help="the SDK(s) measured")
    parser.add_argument("--no-doc", action="store_true", help="leave docs/benchmarks.md alone")
    parser.add_argument(
        "--metrics",
        choices=("memory", "configured", "stock"),
        default="memory",
        help="the metric readers: one in-memory reader (the default, the only one docs/benchmarks.md reports); "
        "configure()'s pipeline in the llm-otel environment and the SDK's Prometheus and OTLP readers in the "
        "peers'; or the SDK's readers everywhere",
    )
    args = parser.parse_args()
    os.environ["BENCH_METRICS"] = args.metrics  # every worker inherits it (see _workload._readers)

    mode = QUICK if args.quick else FULL
    if args.rounds is not None:
        mode = replace(mode, rounds=args.rounds)
    wanted = set(args.variants.split(",")) if args.variants else set(VARIANTS)
    unknown = wanted - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants: {', '.join(sorted(unknown))}")
    providers = list(PROVIDERS) if args.provider == "all" else [args.provider]
    chosen = {
        provider: [n for n in VARIANTS if (n in wanted or n == "bare") and provider in load_variant(n).PROVIDERS]
        for provider in providers
    }
    started = time.monotonic()
    load_start = os.getloadavg()[0]
    snapshot = tempfile.TemporaryDirectory(prefix="bench-src-")
    source_start = snapshot_source(Path(snapshot.name))

    usable = setup_envs({load_variant(name).VENV for names in chosen.values() for name in names})
    run = Run("quick" if args.quick else "full", mode, [], args.callgrind)
    raw: dict[str, Any] = {"mode": asdict(mode)}
    for provider, names in chosen.items():
        skipped = {
            name: "its virtualenv could not be installed." for name in names if load_variant(name).VENV not in usable
        }
        report = Report(provider, [n for n in names if n not in skipped], skipped)
        run.reports.append(report)
        found: dict[str, Any] = {}
        raw[provider] = found
        if mode.rounds > 0:
            found.update(run_timing(report, mode))
        if args.callgrind:
            found["instructions"] = run_callgrind(report)
        found["skipped"] = report.skipped

    print()
    for report in run.reports:
        for label, checks in (*report.timing_checks.items(), ("instructions", report.count_checks)):
            for check in checks:
                print(f"{'PASS' if check.ok else 'FAIL'} [{report.provider}, {label}] {check.text}")
    run.duration = time.monotonic() - started
    run.load = (load_start, os.getloadavg()[0])
    run.source = (source_start, source_fingerprint(ROOT / "src"))
    snapshot.cleanup()
    if run.source[0] != run.source[1]:
        print(f"note: src/ changed during the run; the numbers are for the copy taken at its start ({source_start})")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "last.json").write_text(json.dumps(raw, indent=1))
    if not args.no_doc and args.metrics == "memory":
        write_doc(run)
        print(f"\nwrote {DOC.relative_to(ROOT)}")
    print(f"took {run.duration / 60:.1f} min")


if __name__ == "__main__":
    main()
