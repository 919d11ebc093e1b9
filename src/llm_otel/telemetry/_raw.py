"""Proxies for raw HTTP responses (``with_raw_response`` / ``with_streaming_response``) whose body is read later.

The SDK hands the caller a response object instead of its result; the result (a stream, or a
model when the body is streamed) exists only once the caller asks ``parse()`` for it. The proxy
sends that result through the same settling as a direct call's, so a stream read this way is
observed chunk by chunk, and ends the call when the response is closed (a ``with`` block's exit
closes it) or garbage-collected, with what is known by then, if nothing else ended it first. A
caller reading the raw bytes (``iter_lines()``, ``iter_bytes()``, ``read()``) gets them untouched:
the call then ends without response details.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import wrapt

from ._record import Invocation

#: Settles a parsed result: returns what the caller gets (a stream proxy, or the result itself).
Settle = Callable[[Any], Any]


class _RawResponse(wrapt.BaseObjectProxy[Any]):
    def __init__(self, wrapped: Any, invocation: Invocation, settle: Settle) -> None:
        super().__init__(wrapped)
        self._self_invocation = invocation
        self._self_settle = settle
        # (the SDK's parsed object, what the caller got for it): the SDK caches parse() per type.
        self._self_parsed: tuple[Any, Any] | None = None

    def _self_deliver(self, parsed: Any) -> Any:
        known = self._self_parsed
        if known is not None and known[0] is parsed:
            return known[1]
        if self._self_invocation.done:
            return parsed  # closed before parsing, or parsed again to another type
        delivered = self._self_settle(parsed)
        self._self_parsed = (parsed, delivered)
        return delivered

    def _self_end(self) -> None:
        invocation = self._self_invocation
        if invocation.accumulator is not None:
            invocation.finish_stream()
        else:
            invocation.finish(None)

    def __del__(self) -> None:
        # A stream handed out lives on without us: it ends the call itself (see _stream).
        try:
            if self._self_invocation.accumulator is None:
                self._self_invocation.finish(None)
        except Exception:
            return


class SyncRawResponse(_RawResponse):
    """A raw response whose ``parse()`` and ``close()`` are plain methods."""

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        return self._self_deliver(self.__wrapped__.parse(*args, **kwargs))

    def close(self) -> Any:
        try:
            return self.__wrapped__.close()
        finally:
            self._self_end()


class AsyncRawResponse(_RawResponse):
    """A raw response whose ``parse()`` and ``close()`` are coroutines."""

    async def parse(self, *args: Any, **kwargs: Any) -> Any:
        return self._self_deliver(await self.__wrapped__.parse(*args, **kwargs))

    async def close(self) -> Any:
        try:
            return await self.__wrapped__.close()
        finally:
            self._self_end()
