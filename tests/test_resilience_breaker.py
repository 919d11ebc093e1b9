"""The circuit breaker: window arithmetic, thresholds, timing, permits, listeners, and a reference model."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from llm_otel.resilience import BreakerPolicy, CircuitBreaker, Permit, State, breaker_states, get_breaker

pytestmark = pytest.mark.usefixtures("fresh_breakers")


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def make(**policy: object) -> tuple[CircuitBreaker, Clock]:
    clock = Clock()
    defaults: dict[str, object] = {"open_jitter": 0.0, "consecutive_failures": 0}
    return CircuitBreaker("route", BreakerPolicy(**{**defaults, **policy}), clock=clock), clock  # type: ignore[arg-type]


def call(breaker: CircuitBreaker, *, failed: bool = False, duration: float = 0.0) -> Permit:
    permit = breaker.acquire()
    assert permit is not None
    breaker.record(permit, failed=failed, duration=duration)
    return permit


def test_count_window_trips_at_the_failure_rate_once_minimum_calls_are_seen() -> None:
    breaker, _ = make(window=10, window_kind="count", minimum_calls=4, failure_rate=0.5)
    for failed in (False, True, False):
        call(breaker, failed=failed)
    assert breaker.state is State.CLOSED  # 1 of 3 failed, but 3 < minimum_calls
    call(breaker, failed=True)
    assert breaker.state is State.OPEN  # 2 of 4


def test_count_window_forgets_the_oldest_call() -> None:
    breaker, _ = make(window=4, window_kind="count", minimum_calls=4, failure_rate=0.75)
    for failed in (True, True, False, False, False):
        call(breaker, failed=failed)
    call(breaker, failed=True)  # the last four: F F F T, 1 of 4
    assert breaker.state is State.CLOSED
    call(breaker, failed=True)
    call(breaker, failed=True)  # last four: F,T,T,T = 3 of 4
    assert breaker.state is State.OPEN


def test_time_window_forgets_calls_older_than_the_window() -> None:
    breaker, clock = make(window=10, buckets=10, minimum_calls=4, failure_rate=0.5)
    for _ in range(3):
        call(breaker, failed=True)
    clock.t = 10.5  # the bucket of t=0 has left the window
    call(breaker, failed=True)
    assert breaker.state is State.CLOSED
    for _ in range(3):
        call(breaker, failed=True)
    assert breaker.state is State.OPEN


def test_consecutive_failures_trip_a_window_that_never_fills() -> None:
    breaker, _ = make(consecutive_failures=3, minimum_calls=100)
    call(breaker, failed=True)
    call(breaker, failed=True)
    call(breaker)  # a success resets the run
    call(breaker, failed=True)
    call(breaker, failed=True)
    assert breaker.state is State.CLOSED
    call(breaker, failed=True)
    assert breaker.state is State.OPEN


def test_slow_call_rate_trips_and_slow_calls_are_counted_as_slow() -> None:
    breaker, _ = make(slow_call_duration=2.0, slow_call_rate=0.5, minimum_calls=4, window=4, window_kind="count")
    call(breaker, duration=0.1)
    call(breaker, duration=3.0)
    call(breaker, duration=0.1)
    assert breaker.state is State.CLOSED
    call(breaker, duration=2.0)
    assert breaker.state is State.OPEN
    assert breaker.outcomes == {"success": 2, "failure": 0, "ignored": 0, "rejected": 0, "slow": 2}


def test_ignored_calls_neither_count_nor_trip() -> None:
    breaker, _ = make(consecutive_failures=2, minimum_calls=1)
    for _ in range(5):
        permit = breaker.acquire()
        assert permit is not None
        breaker.record(permit, failed=False, ignored=True, error_type="openai.BadRequestError")
    assert breaker.state is State.CLOSED
    assert breaker.outcomes["ignored"] == 5
    assert breaker.attempts == {"openai.BadRequestError": 5}


def test_open_rejects_then_half_opens_lazily_and_closes_after_all_trials_succeed() -> None:
    breaker, clock = make(consecutive_failures=1, open_for=30, half_open_calls=2)
    call(breaker, failed=True)
    assert breaker.acquire() is None
    clock.t = 29.999
    assert breaker.acquire() is None
    clock.t = 30.0
    first, second = breaker.acquire(), breaker.acquire()
    assert breaker.state is State.HALF_OPEN
    assert first is not None and second is not None
    assert breaker.acquire() is None  # both trial permits are out
    breaker.record(first, failed=False)
    assert breaker.state is State.HALF_OPEN
    breaker.record(second, failed=False)
    assert breaker.state is State.CLOSED
    assert breaker.outcomes["rejected"] == 3


def test_a_failed_trial_reopens_for_longer_each_time_up_to_the_cap() -> None:
    breaker, clock = make(consecutive_failures=1, open_for=30, open_growth=2, open_max=100, half_open_calls=1)
    call(breaker, failed=True)
    waits = []
    opened = clock.t
    for _ in range(4):
        while (trial := breaker.acquire()) is None:
            clock.t += 1
        waits.append(clock.t - opened)
        opened = clock.t
        breaker.record(trial, failed=True)
        assert breaker.state is State.OPEN
    assert waits == [30, 60, 100, 100]


def test_an_opening_never_undercuts_the_retry_after_that_tripped_it() -> None:
    breaker, clock = make(consecutive_failures=1, open_for=30)
    permit = breaker.acquire()
    assert permit is not None
    breaker.record(permit, failed=True, hint=120.0)
    clock.t = 119.0
    assert breaker.acquire() is None
    clock.t = 120.0
    assert breaker.acquire() is not None


def test_a_trial_that_never_reports_back_is_reclaimed_after_its_lease() -> None:
    breaker, clock = make(consecutive_failures=1, open_for=1, half_open_calls=1, permit_lease=60)
    call(breaker, failed=True)
    clock.t = 1.0
    lost = breaker.acquire()
    assert lost is not None
    assert breaker.acquire() is None
    clock.t = 61.0
    again = breaker.acquire()
    assert again is not None
    breaker.record(lost, failed=True)  # the lost caller reports at last: its slot is gone, no effect
    assert breaker.state is State.HALF_OPEN
    breaker.record(again, failed=False)
    assert breaker.state is State.CLOSED


def test_released_trial_permit_frees_its_slot() -> None:
    breaker, clock = make(consecutive_failures=1, open_for=1, half_open_calls=1)
    call(breaker, failed=True)
    clock.t = 1.0
    permit = breaker.acquire()
    assert permit is not None
    breaker.release(permit)
    assert breaker.acquire() is not None
    assert breaker.outcomes["success"] == breaker.outcomes["failure"] - 1 == 0


def test_a_report_from_before_a_transition_does_not_count_in_the_new_state() -> None:
    breaker, _ = make(consecutive_failures=2)
    early = breaker.acquire()
    assert early is not None
    call(breaker, failed=True)
    call(breaker, failed=True)
    breaker.reset()
    breaker.record(early, failed=True)  # granted before the opening: counted, but not against the new window
    call(breaker, failed=True)
    assert breaker.state is State.CLOSED
    assert breaker.outcomes["failure"] == 4


def test_force_open_holds_until_reset_and_listeners_see_every_transition() -> None:
    breaker, clock = make(open_for=1)
    seen: list[tuple[str, str, str]] = []
    breaker.add_listener(lambda b, old, new, reason: seen.append((old.label, new.label, reason)))
    breaker.force_open()
    clock.t = 1000.0
    assert breaker.acquire() is None
    breaker.reset()
    assert breaker.acquire() is not None
    assert seen == [("closed", "open", "forced_open"), ("open", "closed", "reset")]


def test_a_failing_listener_is_logged_and_never_raised(caplog: pytest.LogCaptureFixture) -> None:
    breaker, _ = make()

    def broken(*_: object) -> None:
        raise RuntimeError("listener bug")

    breaker.add_listener(broken)
    breaker.force_open()
    assert breaker.state is State.OPEN
    logged = [r for r in caplog.records if "internal error in circuit breaker listener" in r.getMessage()]
    assert len(logged) == 1
    caplog.clear()  # the suite fails any test that leaves an internal error behind


def test_exactly_n_trial_permits_among_64_concurrent_callers() -> None:
    breaker, clock = make(consecutive_failures=1, open_for=1, half_open_calls=3)
    call(breaker, failed=True)
    clock.t = 5.0
    start = threading.Barrier(64)
    granted: list[Permit] = []
    lock = threading.Lock()

    def caller() -> None:
        start.wait()
        permit = breaker.acquire()
        if permit is not None:
            with lock:
                granted.append(permit)

    threads = [threading.Thread(target=caller) for _ in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(granted) == 3
    assert breaker.outcomes["rejected"] == 61
    assert breaker.state is State.HALF_OPEN


def test_registry_shares_one_breaker_per_name_and_reports_states() -> None:
    first = get_breaker("openai:gpt-4o")
    assert get_breaker("openai:gpt-4o", BreakerPolicy(open_for=1)) is first
    get_breaker("anthropic:claude").force_open()
    assert breaker_states() == {"openai:gpt-4o": "closed", "anthropic:claude": "open"}


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        BreakerPolicy(failure_rate=0)
    with pytest.raises(ValueError):
        BreakerPolicy(window=2.5, window_kind="count")
    with pytest.raises(ValueError):
        BreakerPolicy(open_for=60, open_max=30)


# --- a stateful comparison with a reference model ----------------------------------------------


@dataclass
class Model:
    """The breaker as its documentation states it, computed from a plain list of timestamped calls."""

    policy: BreakerPolicy
    state: str = "closed"
    calls: list[tuple[float, bool, bool]] = field(default_factory=list)
    run: int = 0
    trips: int = 0
    open_until: float = 0.0
    out: int = 0  # trial permits handed out and not yet reported
    successes: int = 0
    generation: int = 0  # bumped on every transition: a permit counts only in the state that granted it

    def in_window(self, now: float) -> list[tuple[float, bool, bool]]:
        width = self.policy.window / self.policy.buckets
        oldest = int(now // width) - self.policy.buckets
        return [c for c in self.calls if int(c[0] // width) > oldest]

    def open(self, now: float) -> None:
        self.state = "open"
        self.generation += 1
        self.trips += 1
        p = self.policy
        self.open_until = now + min(p.open_max, p.open_for * p.open_growth ** (self.trips - 1))

    def acquire(self, now: float) -> bool:
        if self.state == "open":
            if now < self.open_until:
                return False
            self.state, self.out, self.successes = "half_open", 0, 0
            self.generation += 1
        if self.state == "half_open":
            if self.out >= self.policy.half_open_calls:
                return False
            self.out += 1
        return True

    def record(self, now: float, failed: bool, slow: bool, generation: int) -> None:
        p = self.policy
        if generation != self.generation:
            return
        if self.state == "half_open":
            self.out -= 1
            if failed or slow:
                self.open(now)
            else:
                self.successes += 1
                if self.successes >= p.half_open_calls:
                    self.state, self.calls, self.run, self.trips = "closed", [], 0, 0
                    self.generation += 1
            return
        self.calls.append((now, failed, slow))
        self.run = self.run + 1 if failed else 0
        if not (failed or slow):
            return  # as documented: only a failed or slow call can trip the breaker
        window = self.in_window(now)
        rate_trip = len(window) >= p.minimum_calls and (
            sum(c[1] for c in window) >= p.failure_rate * len(window)
            or sum(c[2] for c in window) >= p.slow_call_rate * len(window)
        )
        if (p.consecutive_failures and self.run >= p.consecutive_failures) or rate_trip:
            self.open(now)


class BreakerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.policy = BreakerPolicy(
            window=10,
            buckets=5,
            minimum_calls=4,
            failure_rate=0.5,
            slow_call_duration=1.0,
            slow_call_rate=0.75,
            consecutive_failures=3,
            open_for=5,
            open_growth=2,
            open_max=20,
            open_jitter=0,
            half_open_calls=2,
            permit_lease=1e9,
        )
        self.clock = Clock()
        self.breaker = CircuitBreaker("model", self.policy, clock=self.clock)
        self.model = Model(self.policy)
        self.held: list[tuple[Permit, int]] = []  # granted, not yet reported, with the model's generation

    @rule(seconds=st.sampled_from([0.0, 0.5, 1.0, 2.0, 5.0, 11.0]))
    def advance(self, seconds: float) -> None:
        self.clock.t += seconds

    @rule()
    def acquire(self) -> None:
        admitted = self.model.acquire(self.clock.t)
        permit = self.breaker.acquire()
        assert (permit is not None) == admitted
        if permit is not None:
            self.held.append((permit, self.model.generation))

    @precondition(lambda self: self.held)
    @rule(index=st.integers(min_value=0), failed=st.booleans(), slow=st.booleans())
    def report(self, index: int, failed: bool, slow: bool) -> None:
        permit, generation = self.held.pop(index % len(self.held))
        self.breaker.record(permit, failed=failed, duration=2.0 if slow else 0.1)
        self.model.record(self.clock.t, failed, slow, generation)

    @invariant()
    def same_state(self) -> None:
        assert self.breaker.state.label == self.model.state


TestBreakerAgainstModel = BreakerMachine.TestCase
TestBreakerAgainstModel.settings = settings(max_examples=200, stateful_step_count=40, deadline=None)


def test_transition_logs_are_info_except_openings(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="llm_otel")
    breaker, clock = make(consecutive_failures=1, open_for=1, half_open_calls=1)
    call(breaker, failed=True)
    clock.t = 1.0
    call(breaker)
    logged = [(r.levelno, r.llm_otel_fields["reason"]) for r in caplog.records if hasattr(r, "llm_otel_event")]  # type: ignore[attr-defined]
    assert logged == [
        (logging.WARNING, "consecutive_failures"),
        (logging.INFO, "open_elapsed"),
        (logging.INFO, "trials_succeeded"),
    ]
