"""A realistic mixed workload against the embedded fake provider: chat, streams, embeddings, faults, on the
OpenAI, Anthropic and (when installed) Ollama clients."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from llm_otel.fake import Behavior

MODELS = ("gpt-4o-mini", "gpt-4o")
CLAUDE_MODELS = ("claude-haiku-4-5", "claude-opus-4-1")  # priced in the shipped table
EMBEDDING_MODEL = "text-embedding-3-small"
OLLAMA_MODELS = ("llama3.2", "qwen2.5:7b")  # local: priced at 0
PROMPTS = (
    "Summarise the incident report in two sentences",
    "Translate good morning into French",
    "Write a haiku about observability and traces",
    "List three risks of shipping on a Friday afternoon",
)
# (kind of fault, weight): about one call in twelve fails, as a busy production service might.
FAULTS: tuple[tuple[Behavior, float], ...] = (
    (Behavior(status=429, retry_after=1), 0.035),
    (Behavior(status=500), 0.02),
    (Behavior(status=503), 0.01),
    (Behavior(hang=5.0), 0.005),  # the client's 1 s timeout fires first
    (Behavior(drop_after_chunks=3), 0.01),  # streams only: connection lost mid-stream
    (Behavior(status=529), 0.01),  # Anthropic only: overloaded
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


def _behavior(rng: random.Random, stream: bool, to_anthropic: bool) -> Behavior:
    roll = rng.random()
    for fault, weight in FAULTS:
        if (fault.drop_after_chunks and not stream) or (fault.status == 529 and not to_anthropic):
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


KINDS = (
    ("chat", 0.27),
    ("chat stream", 0.18),
    ("claude", 0.13),
    ("claude stream", 0.13),
    ("embeddings", 0.10),
    ("responses", 0.07),
    ("ollama", 0.06),
    ("ollama stream", 0.06),
)

# The ollama client takes no per-call headers: its requests read the call's behaviour from here.
_ollama_headers: ContextVar[dict[str, str] | None] = ContextVar("llm_otel_demo_ollama_headers", default=None)


def send_behavior(request: Any) -> None:
    """An httpx request hook of the demo's ollama client: the current call's behaviour header."""
    request.headers.update(_ollama_headers.get() or {})


def choose(rng: random.Random, with_ollama: bool = True) -> str:
    kinds = KINDS if with_ollama else tuple(entry for entry in KINDS if not entry[0].startswith("ollama"))
    roll = rng.random() * sum(weight for _, weight in kinds)
    for kind, weight in kinds:
        if roll < weight:
            return kind
        roll -= weight
    return kinds[-1][0]


def _ollama_chat(ollama_client: Any, headers: dict[str, str], prompt: str, stream: bool, rng: random.Random) -> None:
    token = _ollama_headers.set(headers)
    try:  # a stream sends its request when first read: read it while the header is set
        reply = ollama_client.chat(
            model=rng.choice(OLLAMA_MODELS), messages=[{"role": "user", "content": prompt}], stream=stream
        )
        if stream:
            for _ in reply:
                pass
    finally:
        _ollama_headers.reset(token)


def perform(client: Any, anthropic_client: Any, ollama_client: Any, kind: str, rng: random.Random) -> None:
    """Make one call of this kind on the OpenAI, Anthropic or Ollama client, consuming streams; raises what the
    SDK raises."""
    model = rng.choice(MODELS)
    prompt = rng.choice(PROMPTS)
    stream = kind.endswith(" stream")
    headers = _behavior(rng, stream, kind.startswith("claude")).header()
    if kind.startswith("ollama"):
        _ollama_chat(ollama_client, headers, prompt, stream, rng)
    elif kind.startswith("claude"):
        message = anthropic_client.messages.create(
            model=rng.choice(CLAUDE_MODELS),
            max_tokens=256,
            messages=[{"role": "user", "content": prompt}],
            stream=stream,
            extra_headers=headers,
        )
        if stream:
            for _ in message:
                pass
    elif kind == "embeddings":
        client.embeddings.create(model=EMBEDDING_MODEL, input=prompt, extra_headers=headers)
    elif kind == "responses":
        client.responses.create(model=model, input=prompt, extra_headers=headers)
    else:
        reply = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": prompt}], stream=stream, extra_headers=headers
        )
        if stream:
            for _ in reply:
                pass


def run(
    perform: Callable[[str, random.Random], None],
    *,
    with_ollama: bool,
    duration: float,
    rps: float,
    seed: int,
    on_progress: Callable[[Tally, float], None],
    stop: threading.Event,
    tally: Tally,
) -> None:
    """Issue about ``rps`` calls per second for ``duration`` seconds (until ``stop`` when 0) on a worker pool,
    each through ``perform(kind, rng)``, counting them in ``tally``; Ollama calls only ``with_ollama`` (its SDK
    is installed)."""
    rng_lock = threading.Lock()
    rng = random.Random(seed)

    def task() -> None:
        with rng_lock:
            local = random.Random(rng.random())
        kind = choose(local, with_ollama)
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
