"""The circuit breaker: a small state machine over a sliding window, safe across threads and tasks.

One ``threading.Lock`` per breaker guards O(1) bookkeeping only, never the call itself, so the
same core serves sync code, threads and asyncio tasks. Time comes from a monotonic clock
(injectable): wall-clock breakers flip when NTP steps the clock. Listeners run after the lock is
released, and their exceptions are logged, never raised.
"""

from __future__ import annotations

import enum
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from llm_otel._log import internal_error
from llm_otel.telemetry import _names as n

from ._window import CountWindow, TimeWindow, Window


class State(enum.Enum):
    """Breaker states; the value is the gauge encoding (0 closed, 1 open, 2 half-open)."""

    CLOSED = 0
    OPEN = 1
    HALF_OPEN = 2

    @property
    def label(self) -> str:
        """``closed``, ``open`` or ``half_open``."""
        return _LABELS[self]


_LABELS = {State.CLOSED: n.STATE_CLOSED, State.OPEN: n.STATE_OPEN, State.HALF_OPEN: n.STATE_HALF_OPEN}


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    """When a route's circuit breaker opens, how long it stays open, and how it closes again.

    CLOSED -> OPEN when, over the window (``window`` seconds in ``buckets`` buckets, or the last
    ``window`` calls with ``window_kind="count"``) holding at least ``minimum_calls`` calls, the
    failure rate reaches ``failure_rate`` or the rate of calls slower than
    ``slow_call_duration`` seconds reaches ``slow_call_rate``; or after ``consecutive_failures``
    failures in a row (0: never), which trips low-traffic routes that never fill a window.
    OPEN rejects calls for ``open_for`` seconds, times ``open_growth`` per consecutive re-open up
    to ``open_max``, +/- ``open_jitter``, never less than a Retry-After that tripped it. Then
    HALF_OPEN admits ``half_open_calls`` trial calls: all succeed -> CLOSED, one fails (or is
    slow) -> OPEN. A trial permit whose call never reports back is reclaimed after
    ``permit_lease`` seconds, so a lost caller cannot wedge the breaker half-open.

    Example::

        BreakerPolicy(window=20, window_kind="count", minimum_calls=5, open_for=10)
    """

    failure_rate: float = 0.5
    slow_call_rate: float = 1.0
    slow_call_duration: float | None = None
    minimum_calls: int = 10
    consecutive_failures: int = 5
    window: float = 60.0
    window_kind: Literal["time", "count"] = "time"
    buckets: int = 10
    open_for: float = 30.0
    open_growth: float = 2.0
    open_max: float = 300.0
    open_jitter: float = 0.1
    half_open_calls: int = 2
    permit_lease: float = 120.0

    def __post_init__(self) -> None:
        if not (0 < self.failure_rate <= 1 and 0 < self.slow_call_rate <= 1):
            raise ValueError("failure_rate and slow_call_rate must be in (0, 1]")
        if self.minimum_calls < 1 or self.half_open_calls < 1 or self.buckets < 1 or self.consecutive_failures < 0:
            raise ValueError("minimum_calls, half_open_calls and buckets must be >= 1, consecutive_failures >= 0")
        if self.window <= 0 or self.open_for <= 0 or self.open_max < self.open_for or self.open_growth < 1:
            raise ValueError("window and open_for must be > 0, open_max >= open_for, open_growth >= 1")
        if not 0 <= self.open_jitter < 1 or self.permit_lease <= 0:
            raise ValueError("open_jitter must be in [0, 1), permit_lease > 0")
        if self.window_kind == "count" and int(self.window) != self.window:
            raise ValueError("a count-based window is a whole number of calls")

    def new_window(self) -> Window:
        if self.window_kind == "count":
            return CountWindow(int(self.window))
        return TimeWindow(self.window, self.buckets)


class Permit:
    """Leave to make one call; handed back through `CircuitBreaker.record` or `release`."""

    __slots__ = ("expires", "generation")

    def __init__(self, generation: int, expires: float) -> None:
        self.generation = generation
        self.expires = expires


Listener = Callable[["CircuitBreaker", State, State, str], None]
"""Called after each transition with (breaker, from, to, reason)."""
_global_listeners: list[Listener] = []


class CircuitBreaker:
    """One route's breaker. Get the shared one with `get_breaker`; build one directly for tests.

    Example::

        breaker = llm_otel.get_breaker("openai:gpt-4o")
        breaker.force_open()  # take the route out of rotation by hand
        breaker.reset()
    """

    def __init__(
        self,
        name: str,
        policy: BreakerPolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.name = name
        self.policy = policy or BreakerPolicy()
        self._clock = clock
        self._rng = rng
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._window = self.policy.new_window()
        self._state = State.CLOSED
        self._generation = 0
        self._consecutive = 0
        self._open_until = 0.0
        self._trips = 0
        self._forced = False
        self._trials: set[Permit] = set()
        self._trial_successes = 0
        self._closed_permit = Permit(0, float("inf"))
        # Plain integers, exported by observable instruments: no OTel record per call.
        self.outcomes = dict.fromkeys(
            (n.OUTCOME_SUCCESS, n.OUTCOME_FAILURE, n.OUTCOME_IGNORED, n.OUTCOME_REJECTED, n.OUTCOME_SLOW), 0
        )
        self.attempts: dict[str, int] = {}  # by error.type, "" for a success

    @property
    def state(self) -> State:
        """The current state (an OPEN breaker whose wait is over still reads OPEN until the next call)."""
        return self._state

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(breaker, from_state, to_state, reason)`` after each transition."""
        self._listeners.append(listener)

    def acquire(self) -> Permit | None:
        """A permit to call the route, or None when the breaker rejects the call."""
        changes: list[tuple[State, State, str]] = []
        with self._lock:
            permit = self._admit(self._clock(), changes)
        if changes:
            self._notify(changes)
        return permit

    def _admit(self, now: float, changes: list[tuple[State, State, str]]) -> Permit | None:
        state = self._state
        if state is State.CLOSED:
            return self._closed_permit
        if state is State.OPEN:
            if self._forced or now < self._open_until:
                self.outcomes[n.OUTCOME_REJECTED] += 1
                return None
            self._move(State.HALF_OPEN, now, "open_elapsed", changes)
        for trial in [t for t in self._trials if t.expires <= now]:
            self._trials.discard(trial)  # a caller that never reported back: reclaim its slot
        if len(self._trials) >= self.policy.half_open_calls:
            self.outcomes[n.OUTCOME_REJECTED] += 1
            return None
        permit = Permit(self._generation, now + self.policy.permit_lease)
        self._trials.add(permit)
        return permit

    def record(
        self,
        permit: Permit,
        *,
        failed: bool,
        ignored: bool = False,
        duration: float = 0.0,
        error_type: str = "",
        hint: float | None = None,
    ) -> None:
        """Report how a permitted call ended.

        ``ignored``: it failed for reasons that are not the route's (the caller's own 4xx); ``hint``:
        the provider's Retry-After, which an opening this failure causes never undercuts.
        """
        changes: list[tuple[State, State, str]] = []
        threshold = self.policy.slow_call_duration
        slow = threshold is not None and duration >= threshold
        with self._lock:
            self.attempts[error_type] = self.attempts.get(error_type, 0) + 1
            label = (
                n.OUTCOME_FAILURE
                if failed
                else n.OUTCOME_IGNORED
                if ignored
                else n.OUTCOME_SLOW
                if slow
                else n.OUTCOME_SUCCESS
            )
            self.outcomes[label] += 1
            if permit.generation == self._generation:  # else the state moved on since it was granted
                self._settle(permit, failed, ignored, slow, hint, changes)
        if changes:
            self._notify(changes)

    def _settle(
        self,
        permit: Permit,
        failed: bool,
        ignored: bool,
        slow: bool,
        hint: float | None,
        changes: list[tuple[State, State, str]],
    ) -> None:
        now = self._clock()
        if self._state is State.HALF_OPEN:
            if permit not in self._trials:
                return  # reclaimed after its lease: its slot went to another trial
            self._trials.discard(permit)
            if ignored:
                return
            if failed or slow:
                self._move(State.OPEN, now, "trial_failed", changes, hint)
                return
            self._trial_successes += 1
            if self._trial_successes >= self.policy.half_open_calls:
                self._move(State.CLOSED, now, "trials_succeeded", changes)
            return
        if self._state is not State.CLOSED or ignored:
            return
        self._window.add(now, failed, slow)
        if not (failed or slow):
            self._consecutive = 0
            return  # a clean success cannot be what trips the breaker: skip the rate arithmetic
        self._consecutive = self._consecutive + 1 if failed else 0
        reason = self._trip_reason(now)
        if reason:
            self._move(State.OPEN, now, reason, changes, hint)

    def _trip_reason(self, now: float) -> str | None:
        policy = self.policy
        if policy.consecutive_failures and self._consecutive >= policy.consecutive_failures:
            return "consecutive_failures"
        calls, failures, slow = self._window.totals(now)
        if calls < policy.minimum_calls:
            return None
        if failures >= policy.failure_rate * calls:
            return "failure_rate"
        if policy.slow_call_duration is not None and slow >= policy.slow_call_rate * calls:
            return "slow_call_rate"
        return None

    def release(self, permit: Permit) -> None:
        """Hand back a permit whose call was abandoned (cancelled, interrupted): no outcome counts."""
        with self._lock:
            if permit.generation == self._generation:
                self._trials.discard(permit)

    def force_open(self) -> None:
        """Open the breaker until `reset`: every call is rejected, no trial is let through."""
        changes: list[tuple[State, State, str]] = []
        with self._lock:
            self._forced = True
            if self._state is not State.OPEN:
                self._move(State.OPEN, self._clock(), "forced_open", changes)
        self._notify(changes)

    def reset(self) -> None:
        """Close the breaker and forget its window (also ends a `force_open`)."""
        changes: list[tuple[State, State, str]] = []
        with self._lock:
            self._forced = False
            self._move(State.CLOSED, self._clock(), "reset", changes)
        self._notify(changes)

    def _move(
        self,
        new: State,
        now: float,
        reason: str,
        changes: list[tuple[State, State, str]],
        hint: float | None = None,
    ) -> None:
        old = self._state
        self._state = new
        self._generation += 1
        self._trials.clear()
        self._trial_successes = 0
        if new is State.CLOSED:
            self._trips = 0
            self._consecutive = 0
            self._window.clear()
            self._closed_permit = Permit(self._generation, float("inf"))
        elif new is State.OPEN:
            policy = self.policy
            self._trips += 1
            wait = min(policy.open_max, policy.open_for * policy.open_growth ** (self._trips - 1))
            wait *= 1 + policy.open_jitter * (2 * self._rng() - 1)
            self._open_until = now + max(wait, hint or 0.0)
        if old is not new:
            changes.append((old, new, reason))

    def _notify(self, changes: list[tuple[State, State, str]]) -> None:
        for old, new, reason in changes:
            for listener in (*_global_listeners, *self._listeners):
                try:
                    listener(self, old, new, reason)
                except Exception as err:
                    internal_error("circuit breaker listener", err)

    def _after_fork(self) -> None:
        self._lock = threading.Lock()  # a lock held by another thread at fork() would never be released


def add_global_listener(listener: Listener) -> None:
    """Call ``listener`` on every breaker's transitions (the telemetry subscribes here, once)."""
    if listener not in _global_listeners:
        _global_listeners.append(listener)
