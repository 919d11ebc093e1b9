"""Bounds on attribute values that come from user input, applied before any metric sees them.

The SDK caps the attribute *sets* an instrument keeps (the View's cardinality limit), but by the
time that cap is hit every series has already been created and exported, and our own plain-number
stores (in-flight, cost) would have grown with it. A model, deployment, agent, tool or workflow
name is chosen by the application, sometimes from its own input: each such attribute keeps at most
``limit`` distinct values, and every later new value is reported as ``_OTHER``.

The hot path is one dict lookup: a value seen before maps to its stored (sanitised) form.
"""

from __future__ import annotations

import os
import threading

from llm_otel._log import warn_once

from . import _names as n

ENV_LIMIT = "LLM_OTEL_ATTRIBUTE_VALUE_LIMIT"
DEFAULT_LIMIT = 100
MAX_LENGTH = 128


def sanitize(value: str) -> str:
    """The label form of a value: trimmed, non-printable characters as ``_``, at most 128 characters."""
    value = value.strip()
    if not value.isprintable():
        value = "".join(ch if ch.isprintable() else "_" for ch in value)
    return value[:MAX_LENGTH]


def _limit_from_env() -> int:
    raw = os.environ.get(ENV_LIMIT, "").strip()
    if not raw:
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
        if limit < 1:
            raise ValueError("must be at least 1")
    except ValueError as err:
        warn_once(f"env:{ENV_LIMIT}", "llm-otel: ignoring %s=%r (%s); using %d", ENV_LIMIT, raw, err, DEFAULT_LIMIT)
        return DEFAULT_LIMIT
    return limit


class BoundedValues:
    """The distinct values one attribute may take: the first ``limit`` seen, then ``_OTHER``."""

    __slots__ = ("_full", "_lock", "_seen", "attribute", "limit")

    def __init__(self, attribute: str, limit: int) -> None:
        self.attribute = attribute
        self.limit = limit
        self._seen: dict[str, str] = {}
        self._full = False
        self._lock = threading.Lock()

    # A method, not __call__: calling an instance goes through a slot the interpreter does not
    # specialise, and this runs twice per call.
    def value(self, value: str) -> str:
        """The value to record for ``value``: its sanitised form, or ``_OTHER`` past the cap."""
        found = self._seen.get(value)
        if found is not None:
            return found
        if self._full:
            return n.OVERFLOW_VALUE
        return self._admit(value)

    def _admit(self, value: str) -> str:
        with self._lock:
            found = self._seen.get(value)
            if found is not None:
                return found
            if len(self._seen) >= self.limit:
                self._full = True
                warn_once(
                    f"cardinality:{self.attribute}",
                    "llm-otel: %s has reached its cap of %d distinct values; new values are recorded as %s",
                    self.attribute,
                    self.limit,
                    n.OVERFLOW_VALUE,
                )
                return n.OVERFLOW_VALUE
            # A value that is already clean is stored as itself, so that callers can compare by identity.
            clean = sanitize(value)
            stored = self._seen[value] = value if clean == value else clean
            return stored

    def __len__(self) -> int:
        return len(self._seen)

    def reset(self, limit: int) -> None:
        with self._lock:
            self.limit = limit
            self._seen = {}
            self._full = False


class Guard:
    """One ``BoundedValues`` per user-input attribute, all with the same cap."""

    def __init__(self, limit: int) -> None:
        self.request_model = BoundedValues(n.REQUEST_MODEL, limit)
        self.response_model = BoundedValues(n.RESPONSE_MODEL, limit)
        self.agent = BoundedValues(n.AGENT_NAME, limit)
        self.tool = BoundedValues(n.TOOL_NAME, limit)
        self.workflow = BoundedValues(n.WORKFLOW_NAME, limit)

    def all(self) -> tuple[BoundedValues, ...]:
        return (self.request_model, self.response_model, self.agent, self.tool, self.workflow)


guard = Guard(_limit_from_env())


def set_attribute_value_limit(limit: int) -> None:
    """Cap the distinct values of each user-input attribute (default 100, or ``LLM_OTEL_ATTRIBUTE_VALUE_LIMIT``).

    The bounded attributes are ``gen_ai.request.model``, ``gen_ai.response.model``,
    ``gen_ai.agent.name``, ``gen_ai.tool.name`` and ``gen_ai.workflow.name`` on metrics. Setting
    the cap forgets the values seen so far; call it at start-up, before the first call. Example::

        llm_otel.set_attribute_value_limit(500)
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"the attribute value limit must be an int >= 1, got {limit!r}")
    for bounded in guard.all():
        bounded.reset(limit)
