"""The provider's own word on when to try again: ``Retry-After`` and the rate-limit reset headers."""

from __future__ import annotations

import math
import re
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

_GO_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)")
_GO_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return None if math.isnan(value) or value < 0 else value


def _go_duration(text: str) -> float | None:
    """``6m0s``, ``12ms``, ``1.5s``; a bare number (as Azure sends) is seconds."""
    bare = _number(text)
    if bare is not None:
        return bare
    parts = _GO_PART.findall(text)
    if not parts or "".join(a + b for a, b in parts) != text:
        return None
    return sum(float(amount) * _GO_UNIT[unit] for amount, unit in parts)


def _date(text: str, now_epoch: float) -> float | None:
    """An RFC 3339 or HTTP date, as seconds from now (never negative)."""
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now_epoch)


def _retry_after(headers: Any, now_epoch: float) -> float | None:
    millis = headers.get("retry-after-ms")
    if millis is not None:
        value = _number(str(millis))
        if value is not None:
            return value / 1000.0
    text = headers.get("retry-after")
    if text is None:
        return None
    return _number(str(text)) if _number(str(text)) is not None else _date(str(text), now_epoch)


def _resets(headers: Any, now_epoch: float) -> float | None:
    """The largest reset among exhausted dimensions; 0 or -1 (Azure) mean none.

    openai: ``x-ratelimit-{remaining,reset}-{requests,tokens}``; anthropic:
    ``anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{remaining,reset}``.
    """
    longest: float | None = None
    for raw, value in headers.items():
        name = str(raw).lower()
        if name.startswith("x-ratelimit-reset-"):
            dimension = name.removeprefix("x-ratelimit-reset-")
            remaining = headers.get(f"x-ratelimit-remaining-{dimension}")
            seconds = _go_duration(str(value))
        elif name.startswith("anthropic-ratelimit-") and name.endswith("-reset"):
            dimension = name.removeprefix("anthropic-ratelimit-").removesuffix("-reset")
            remaining = headers.get(f"anthropic-ratelimit-{dimension}-remaining")
            seconds = _date(str(value), now_epoch)
        else:
            continue
        if remaining is None or str(remaining).strip() != "0" or not seconds:
            continue
        longest = seconds if longest is None else max(longest, seconds)
    return longest


def retry_hint(exc: BaseException, now_epoch: float) -> float | None:
    """Seconds the provider asked us to wait, read from the error response's headers, or None.

    ``retry-after-ms``, then ``retry-after`` (seconds or an HTTP date); without either, the
    largest rate-limit reset among the dimensions whose ``remaining`` is 0. ``now_epoch`` is
    wall-clock time, used only to turn dates into delays.
    """
    headers: Any = getattr(getattr(exc, "response", None), "headers", None)
    if headers is None or not hasattr(headers, "get"):
        return None
    hint = _retry_after(headers, now_epoch)
    return hint if hint is not None else _resets(headers, now_epoch)
