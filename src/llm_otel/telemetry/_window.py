"""Calls and provider-side failures per provider over a sliding window, for /health and its gauge.

Cumulative histograms cannot answer "what failed in the last minute" without keeping old
snapshots; a ring of time buckets can, for about half a microsecond per call.
"""

from __future__ import annotations

import threading
from time import perf_counter

_BUCKETS = 12
_MAX_PROVIDERS = 64
# Failures that say the provider (or the way to it) is unwell; a caller's own 4xx mistakes do not.
_FAULT_CLASSES = frozenset(
    {"APIConnectionError", "APITimeoutError", "APIError", "TransportError", "TimeoutException", "TimeoutError"}
)


def provider_fault(exc: BaseException) -> bool:
    """True for 5xx, 408, 429, errors inside a 2xx stream, and connection or timeout errors."""
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return status >= 500 or status < 400 or status in (408, 429)
    return any(cls.__name__ in _FAULT_CLASSES for cls in type(exc).__mro__)


class Ring:
    """One provider's calls and faults in each of the last buckets, by the bucket's time slot."""

    __slots__ = ("calls", "epochs", "faults", "live")

    def __init__(self) -> None:
        self.epochs = [-1] * _BUCKETS
        self.calls = [0] * _BUCKETS
        self.faults = [0] * _BUCKETS
        self.live = True  # False once its window was resized: its holders must fetch a new one

    def add(self, slot: int, fault: bool) -> None:
        """Count one call ended in time slot ``slot``; the caller holds the window's lock."""
        index = slot % _BUCKETS
        if self.epochs[index] != slot:
            self.epochs[index] = slot
            self.calls[index] = self.faults[index] = 0
        self.calls[index] += 1
        if fault:
            self.faults[index] += 1


class CallWindow:
    """Per-provider call and fault counts over the last ``window_s`` seconds (12 buckets).

    The ledger's entries (``_ledger``) hold their provider's ring and count a call in it at its end
    under ``lock``, the lock the rest of the call's bookkeeping takes too: one lock for all of it.
    """

    def __init__(self, window_s: float = 60.0) -> None:
        self.lock = threading.Lock()
        self._rings: dict[str, Ring] = {}
        self.resize(window_s)

    def resize(self, window_s: float) -> None:
        with self.lock:
            self.window_s = window_s
            self.width = window_s / _BUCKETS
            for ring in self._rings.values():
                ring.live = False
            self._rings.clear()

    def after_fork(self) -> None:
        """In a forked child: a lock held by another thread at the fork would never be released."""
        self.lock = threading.Lock()

    def ring(self, provider: str) -> Ring | None:
        """The ring counting ``provider``'s calls; None past the providers kept."""
        with self.lock:
            ring = self._rings.get(provider)
            if ring is None and len(self._rings) < _MAX_PROVIDERS:
                ring = self._rings[provider] = Ring()
            return ring

    def slot(self, now: float) -> int:
        """The time slot of ``now`` (``time.perf_counter()``, the clock of a call's duration)."""
        return int(now / self.width)

    def totals(self, now: float | None = None) -> dict[str, tuple[int, int]]:
        """provider -> (calls, faults) within the window."""
        oldest = self.slot(perf_counter() if now is None else now) - _BUCKETS + 1
        out = {}
        with self.lock:
            for provider, ring in self._rings.items():
                live = [i for i, epoch in enumerate(ring.epochs) if epoch >= oldest]
                out[provider] = (sum(ring.calls[i] for i in live), sum(ring.faults[i] for i in live))
        return out


calls = CallWindow()
