"""The circuit breaker's sliding windows: the last N calls, or the calls of the last T seconds.

Both keep running totals so that asking for the failure rate costs O(1) (count-based) or
O(buckets) (time-based), never O(calls).
"""

from __future__ import annotations

from typing import Protocol

_FAILED = 1
_SLOW = 2


class Window(Protocol):
    """Outcomes of recent calls: ``totals`` gives (calls, failures, slow calls)."""

    def add(self, now: float, failed: bool, slow: bool) -> None: ...

    def totals(self, now: float) -> tuple[int, int, int]: ...

    def clear(self) -> None: ...


class CountWindow:
    """The last ``size`` calls, in a ring."""

    __slots__ = ("_calls", "_failures", "_next", "_ring", "_slow")

    def __init__(self, size: int) -> None:
        self._ring: list[int | None] = [None] * size
        self.clear()

    def clear(self) -> None:
        self._ring = [None] * len(self._ring)
        self._next = 0
        self._calls = self._failures = self._slow = 0

    def add(self, now: float, failed: bool, slow: bool) -> None:
        old = self._ring[self._next]
        if old is not None:
            self._calls -= 1
            self._failures -= old & _FAILED
            self._slow -= (old & _SLOW) >> 1
        code = (_FAILED if failed else 0) | (_SLOW if slow else 0)
        self._ring[self._next] = code
        self._next = (self._next + 1) % len(self._ring)
        self._calls += 1
        self._failures += failed
        self._slow += slow

    def totals(self, now: float) -> tuple[int, int, int]:
        return self._calls, self._failures, self._slow


class TimeWindow:
    """The calls of the current bucket and the ``buckets - 1`` before it (``seconds`` in all).

    A bucket is reused, and emptied, when the clock reaches the next lap of the ring.
    """

    __slots__ = ("_calls", "_epochs", "_failures", "_slow", "_width")

    def __init__(self, seconds: float, buckets: int) -> None:
        self._width = seconds / buckets
        self._epochs = [-1] * buckets
        self._calls = [0] * buckets
        self._failures = [0] * buckets
        self._slow = [0] * buckets

    def clear(self) -> None:
        size = len(self._epochs)
        self._epochs = [-1] * size
        self._calls, self._failures, self._slow = [0] * size, [0] * size, [0] * size

    def add(self, now: float, failed: bool, slow: bool) -> None:
        epoch = int(now // self._width)
        index = epoch % len(self._epochs)
        if self._epochs[index] != epoch:
            self._epochs[index] = epoch
            self._calls[index] = self._failures[index] = self._slow[index] = 0
        self._calls[index] += 1
        self._failures[index] += failed
        self._slow[index] += slow

    def totals(self, now: float) -> tuple[int, int, int]:
        oldest = int(now // self._width) - len(self._epochs)
        calls = failures = slow = 0
        for index, epoch in enumerate(self._epochs):
            if epoch > oldest:
                calls += self._calls[index]
                failures += self._failures[index]
                slow += self._slow[index]
        return calls, failures, slow
