"""The process-wide breakers, one per route name, shared by every wrapper naming that route."""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from ._breaker import BreakerPolicy, CircuitBreaker

# Bounded so that route names made up per request cannot grow memory or metric series without end.
MAX_BREAKERS = 512
_breakers: OrderedDict[str, CircuitBreaker] = OrderedDict()


class _Guard:
    lock = threading.Lock()  # replaced in a forked child: the parent's holder does not exist there
    epoch = 0  # bumped whenever a breaker is forgotten, so that wrappers caching breakers look again


def get_breaker(
    name: str, policy: BreakerPolicy | None = None, *, clock: Callable[[], float] = time.monotonic
) -> CircuitBreaker:
    """The breaker of route ``name``, created with ``policy`` (and ``clock``) on first use.

    The first wrapper to name a route decides its policy; later ones share that breaker as it is.
    Beyond 512 routes the least recently used breaker is forgotten.

    Example::

        llm_otel.get_breaker("openai:gpt-4o").state
    """
    with _Guard.lock:
        found = _breakers.get(name)
        if found is None:
            found = _breakers[name] = CircuitBreaker(name, policy, clock=clock)
            if len(_breakers) > MAX_BREAKERS:
                _breakers.popitem(last=False)
                _Guard.epoch += 1
        else:
            _breakers.move_to_end(name)
        return found


_calls: dict[tuple[str, str], int] = {}  # (wrapper name, outcome) -> finished resilient calls


def count_call(name: str, outcome: str) -> None:
    """One finished resilient call, by outcome (success, failure, rejected); a plain integer, no OTel record."""
    key = (name, outcome)
    with _Guard.lock:
        count = _calls.get(key)
        if count is not None:
            _calls[key] = count + 1
        elif len(_calls) < 3 * MAX_BREAKERS:  # wrapper names are as bounded as route names
            _calls[key] = 1


def call_counts() -> dict[tuple[str, str], int]:
    """A snapshot of `count_call`'s integers."""
    with _Guard.lock:
        return dict(_calls)


def epoch() -> int:
    """Changes whenever a breaker is forgotten: a wrapper's cached breakers are stale then."""
    return _Guard.epoch


def all_breakers() -> list[CircuitBreaker]:
    """A snapshot of the registered breakers."""
    with _Guard.lock:
        return list(_breakers.values())


def breaker_states() -> dict[str, str]:
    """Route name -> ``closed``, ``open`` or ``half_open``, for /v1/stats and /health."""
    return {breaker.name: breaker.state.label for breaker in all_breakers()}


def clear_breakers() -> None:
    """Forget every breaker and call count (tests, and a fresh start after reconfiguration)."""
    with _Guard.lock:
        _breakers.clear()
        _calls.clear()
        _Guard.epoch += 1


def _after_fork() -> None:
    _Guard.lock = threading.Lock()
    for breaker in _breakers.values():
        breaker._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
