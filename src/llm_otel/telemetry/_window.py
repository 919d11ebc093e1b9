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


class _Ring:
    __slots__ = ("calls", "epochs", "faults")

    def __init__(self) -> None:
        self.epochs = [-1] * _BUCKETS
        self.calls = [0] * _BUCKETS
        self.faults = [0] * _BUCKETS


class CallWindow:
    """Per-provider call and fault counts over the last ``window_s`` seconds (12 buckets)."""

    def __init__(self, window_s: float = 60.0) -> None:
        self._lock = threading.Lock()
        self._rings: dict[str, _Ring] = {}
        self.resize(window_s)

    def resize(self, window_s: float) -> None:
        with self._lock:
            self.window_s = window_s
            self._width = window_s / _BUCKETS
            self._rings.clear()

    def after_fork(self) -> None:
        """In a forked child: a lock held by another thread at the fork would never be released."""
        self._lock = threading.Lock()

    def record(self, provider: str, exc: BaseException | None, now: float) -> None:
        """Count one call that ended at ``now`` (``time.perf_counter()``, the clock of the call's duration)."""
        fault = exc is not None and provider_fault(exc)
        slot = int(now / self._width)
        index = slot % _BUCKETS
        with self._lock:
            ring = self._rings.get(provider)
            if ring is None:
                if len(self._rings) >= _MAX_PROVIDERS:
                    return
                ring = self._rings[provider] = _Ring()
            if ring.epochs[index] != slot:
                ring.epochs[index] = slot
                ring.calls[index] = ring.faults[index] = 0
            ring.calls[index] += 1
            if fault:
                ring.faults[index] += 1

    def totals(self, now: float | None = None) -> dict[str, tuple[int, int]]:
        """provider -> (calls, faults) within the window."""
        oldest = int((perf_counter() if now is None else now) / self._width) - _BUCKETS + 1
        out = {}
        with self._lock:
            for provider, ring in self._rings.items():
                live = [i for i, epoch in enumerate(ring.epochs) if epoch >= oldest]
                out[provider] = (sum(ring.calls[i] for i in live), sum(ring.faults[i] for i in live))
        return out


calls = CallWindow()
