"""Retry timing: full-jitter exponential backoff, the provider's hints, and a clock to wait on."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry one route before falling back or giving up.

    ``attempts`` per route (1: no retry). Without a hint the n-th retry waits a full-jitter
    ``U(0, min(cap, base * 2**(n-1)))`` seconds, which spreads a crowd of clients that failed
    together. A provider hint (Retry-After, or the rate-limit reset headers) is honoured as given
    up to ``max_hint`` seconds; a longer one ends the route's retries at once (fall back, or
    raise). With ``prefer_fallback``, a rate-limited or overloaded route is left at once for the
    next route if that route's breaker is closed, rather than waiting.

    Example::

        RetryPolicy(attempts=5, base=0.25, cap=4.0)
    """

    attempts: int = 3
    base: float = 0.5
    cap: float = 8.0
    max_hint: float = 60.0
    prefer_fallback: bool = True
    rng: Callable[[], float] = field(default=random.random, compare=False)

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.base < 0 or self.cap < self.base or self.max_hint < 0:
            raise ValueError("attempts must be >= 1, 0 <= base <= cap, max_hint >= 0")

    def delay(self, retry: int, hint: float | None) -> float | None:
        """Seconds before the ``retry``-th retry (1-based), or None when the hint is beyond ``max_hint``."""
        if hint is not None:
            return hint if hint <= self.max_hint else None
        jitter: float = self.rng()
        return jitter * min(self.cap, self.base * 2.0 ** (retry - 1))


class Clock(Protocol):
    """Monotonic time and waiting; injectable so that tests control time instead of sleeping."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...

    async def asleep(self, seconds: float) -> None: ...


class SystemClock:
    """``time.monotonic``, ``time.sleep`` and ``asyncio.sleep``."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


SYSTEM_CLOCK = SystemClock()
