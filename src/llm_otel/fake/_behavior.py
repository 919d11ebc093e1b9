"""`Behavior`: how the fake provider answers one request."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any

BEHAVIOR_HEADER = "x-fake-behavior"
"""Request header carrying a `Behavior` as JSON; it overrides the script and the default."""

_SECONDS = ("latency", "ttft", "chunk_delay", "hang")
_COUNTS = ("drop_after_chunks", "stream_error_after_chunks")
_TOKENS = ("output_tokens", "cached_tokens", "reasoning_tokens")
_FLAGS = ("tool_call", "malformed")


@dataclass(frozen=True)
class Behavior:
    """How to answer ONE request. Every field defaults to "behave like a healthy provider".

    Timing (seconds): ``latency`` before the response headers, ``ttft`` before the first
    generated stream chunk, ``chunk_delay`` between later generated chunks. ``hang`` > 0 holds
    the request without answering for that long (or until the server stops), then closes the
    connection, so that a client timeout fires first.

    Failures: ``status`` (>= 400) answers with the provider's error body instead of a success;
    ``error_code`` goes into that body's ``code`` (and into in-stream errors); ``retry_after``
    sets the ``Retry-After`` header (sent for every 429, defaulting to 1 second, and for any
    other error status when set explicitly). ``drop_after_chunks`` closes the connection
    after N stream events, with no terminator; ``stream_error_after_chunks`` sends the
    provider's in-stream error event after N stream events; ``malformed`` turns a success
    body (or the first stream event) into truncated, invalid JSON.

    Content: ``output_tokens`` words in the reply (one token each), ``cached_tokens`` and
    ``reasoning_tokens`` reported in the usage details, ``tool_call`` answers with a call
    to the first function tool of the request.
    """

    latency: float = 0.0
    ttft: float = 0.0
    chunk_delay: float = 0.0
    status: int | None = None
    retry_after: float | None = None
    error_code: str | None = None
    hang: float = 0.0
    drop_after_chunks: int | None = None
    stream_error_after_chunks: int | None = None
    output_tokens: int = 12
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    tool_call: bool = False
    malformed: bool = False

    def __post_init__(self) -> None:
        # Validate eagerly: a typo in a test's behaviour should fail at the call site,
        # not as a confusing answer from a server thread.
        for name in _SECONDS:
            _check_number(name, getattr(self, name))
        if self.retry_after is not None:
            _check_number("retry_after", self.retry_after)
        for name in (*_COUNTS, "status"):
            value = getattr(self, name)
            if value is not None:
                _check_int(name, value)
        for name in _TOKENS:
            _check_int(name, getattr(self, name))
        for name in _FLAGS:
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"Behavior.{name} must be a bool")
        if self.status is not None and not 400 <= self.status <= 599:
            raise ValueError(f"Behavior.status must be an HTTP error status (400-599), got {self.status}")
        if self.error_code is not None and not isinstance(self.error_code, str):
            raise TypeError("Behavior.error_code must be a string")

    def to_json(self) -> str:
        """JSON of the fields that differ from their defaults (what `from_json` reads back)."""
        defaults = Behavior()
        changed = {k: v for k, v in asdict(self).items() if v != getattr(defaults, k)}
        return json.dumps(changed, separators=(",", ":"), sort_keys=True)

    def header(self) -> dict[str, str]:
        """The request header selecting this behaviour, e.g. for the SDK's ``extra_headers=``."""
        return {BEHAVIOR_HEADER: self.to_json()}

    @classmethod
    def from_json(cls, text: str) -> Behavior:
        """Parse a JSON object of `Behavior` fields; unknown fields are an error."""
        data: Any = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("the behaviour must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown Behavior fields: {', '.join(unknown)}")
        return cls(**data)


def _check_number(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"Behavior.{name} must be a number")
    if value < 0:
        raise ValueError(f"Behavior.{name} must be >= 0")


def _check_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"Behavior.{name} must be an int")
    if value < 0:
        raise ValueError(f"Behavior.{name} must be >= 0")
