"""A realistic mixed workload against the embedded fake provider: chat, streams, embeddings and faults, on
the clients of every provider of the demo whose SDK is installed (``_providers.PROVIDERS``)."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from llm_otel.fake import Behavior

from ._providers import Connected, streams

# (kind of fault, weight): about one call in twelve fails, as a busy production service might; a provider
# may add faults of its own (DemoProvider.faults).
FAULTS: tuple[tuple[Behavior, float], ...] = (
    (Behavior(status=429, retry_after=1), 0.035),
    (Behavior(status=500), 0.02),
    (Behavior(status=503), 0.01),
    (Behavior(hang=5.0), 0.005),  # the client's 1 s timeout fires first
    (Behavior(drop_after_chunks=3), 0.01),  # streams only: connection lost mid-stream
)


class Failed(Exception):
    """A call that failed out of reach (behind the demo's HTTP service); the message names its exception."""


@dataclass
class Tally:
    """What the workload did, by its own count (the summary reads the recorded metrics instead)."""

    calls: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, failure: str | None) -> None:
        with self.lock:
            self.calls[kind] += 1
            if failure:
                self.failures[failure] += 1


def _behavior(rng: random.Random, stream: bool, extra: tuple[tuple[Behavior, float], ...]) -> Behavior:
    roll = rng.random()
    for fault, weight in (*FAULTS, *extra):
        if fault.drop_after_chunks and not stream:
            continue
        if roll < weight:
            return fault
        roll -= weight
    return Behavior(
        latency=rng.uniform(0.02, 0.25),
        ttft=rng.uniform(0.01, 0.12) if stream else 0.0,
        chunk_delay=rng.uniform(0.002, 0.01) if stream else 0.0,
        output_tokens=rng.randint(8, 40),
        cached_tokens=rng.choice((0, 0, 2)),
    )


def mix(clients: Sequence[Connected]) -> list[tuple[str, float]]:
    """The kinds of call of these providers, with their weights in the mix."""
    return [kind for connected in clients for kind in connected.provider.kinds]


def choose(rng: random.Random, kinds: Sequence[tuple[str, float]]) -> str:
    """A kind of call, drawn by weight."""
    roll = rng.random() * sum(weight for _, weight in kinds)
    for kind, weight in kinds:
        if roll < weight:
            return kind
        roll -= weight
    return kinds[-1][0]


def perform(clients: Sequence[Connected], kind: str, rng: random.Random) -> None:
    """Make one call of this kind on the client of the provider that makes it, with a behaviour drawn from
    the mix of faults, consuming streams; raises what the SDK raises."""
    for connected in clients:
        if any(kind == name for name, _ in connected.provider.kinds):
            behavior = _behavior(rng, streams(kind), connected.provider.faults)
            connected.provider.call(connected.client, kind, behavior, rng)
            return
    raise ValueError(f"no provider of the demo makes {kind!r} calls")


def run(
    perform: Callable[[str, random.Random], None],
    *,
    kinds: Sequence[tuple[str, float]],
    duration: float,
    rps: float,
    seed: int,
    on_progress: Callable[[Tally, float], None],
    stop: threading.Event,
    tally: Tally,
) -> None:
    """Issue about ``rps`` calls per second for ``duration`` seconds (until ``stop`` when 0) on a worker pool,
    each through ``perform(kind, rng)`` with a kind drawn from ``kinds`` by weight, counting them in
    ``tally``."""
    rng_lock = threading.Lock()
    rng = random.Random(seed)

    def task() -> None:
        with rng_lock:
            local = random.Random(rng.random())
        kind = choose(local, kinds)
        try:
            perform(kind, local)
        except Exception as exc:  # the demo shows failures; it does not stop on them
            tally.add(kind, str(exc) if isinstance(exc, Failed) else type(exc).__name__)
            return
        tally.add(kind, None)

    start = time.monotonic()
    interval = 1.0 / rps
    with ThreadPoolExecutor(max_workers=max(4, int(rps))) as pool:
        issued = 0
        while not stop.is_set():
            elapsed = time.monotonic() - start
            if duration and elapsed >= duration:
                break
            due = start + issued * interval
            if due > time.monotonic():
                stop.wait(due - time.monotonic())
                continue
            pool.submit(task)
            issued += 1
            on_progress(tally, elapsed)
