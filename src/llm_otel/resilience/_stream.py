"""Streams under a resilient wrapper: read ahead to the commit point, then hand over a replay.

A stream is committed at its first content-bearing chunk (text, a tool-call delta, a refusal or a
finish), not its first event: anthropic sends ``message_start`` and ``ping`` first, openai a role
chunk with empty content, and an overload can still arrive after those. Before the commit point
a failure may be retried or fall back; after it, errors reach the caller, so two answers are never
spliced together. The replay yields the chunks read ahead, then the rest of the stream, lazily.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import wrapt

# Event types that carry no content yet (anthropic, openai Responses).
_PREFACE_TYPES = frozenset({"message_start", "ping", "content_block_start", "response.created", "response.in_progress"})
# A stream that says nothing for this many events is committed anyway: reading ahead is bounded.
MAX_PREFACE = 16


def is_stream(result: object) -> bool:
    """A sync stream: an iterator (SDK streams are; a pydantic response only has ``__iter__``)."""
    return hasattr(type(result), "__next__")


def is_async_stream(result: object) -> bool:
    """An async stream: an async iterator."""
    return hasattr(type(result), "__anext__")


def is_content(chunk: object) -> bool:
    """Whether a chunk commits the stream (see the module docstring)."""
    if getattr(chunk, "type", None) in _PREFACE_TYPES:
        return False
    choices = getattr(chunk, "choices", None)
    if not isinstance(choices, list):
        return True
    for choice in choices:
        delta = getattr(choice, "delta", None)
        if getattr(choice, "finish_reason", None) or delta is None:
            return True
        if getattr(delta, "content", None) or getattr(delta, "tool_calls", None) or getattr(delta, "refusal", None):
            return True
    return False


def read_ahead(stream: Any) -> tuple[list[Any], bool]:
    """Chunks up to and including the first content-bearing one, and whether the stream ended."""
    preface: list[Any] = []
    while len(preface) < MAX_PREFACE:
        try:
            chunk = next(stream)
        except StopIteration:
            return preface, True
        preface.append(chunk)
        if is_content(chunk):
            break
    return preface, False


async def aread_ahead(stream: Any) -> tuple[list[Any], bool]:
    """Async twin of `read_ahead`."""
    preface: list[Any] = []
    while len(preface) < MAX_PREFACE:
        try:
            chunk = await stream.__anext__()
        except StopAsyncIteration:
            return preface, True
        preface.append(chunk)
        if is_content(chunk):
            break
    return preface, False


class Replay(wrapt.BaseObjectProxy[Any]):
    """The caller's stream: the chunks read ahead, then the SDK stream; everything else forwarded."""

    def __init__(self, wrapped: Any, preface: list[Any], ended: bool) -> None:
        super().__init__(wrapped)
        self._self_preface = deque(preface)
        self._self_ended = ended

    def __iter__(self) -> Replay:
        return self

    def __next__(self) -> Any:
        if self._self_preface:
            return self._self_preface.popleft()
        if self._self_ended:
            raise StopIteration
        return next(self.__wrapped__)

    def __enter__(self) -> Any:
        entered = self.__wrapped__.__enter__()
        return self if entered is self.__wrapped__ else entered

    def __exit__(self, *exc_info: Any) -> Any:
        return self.__wrapped__.__exit__(*exc_info)


class AsyncReplay(wrapt.BaseObjectProxy[Any]):
    """Async twin of `Replay`."""

    def __init__(self, wrapped: Any, preface: list[Any], ended: bool) -> None:
        super().__init__(wrapped)
        self._self_preface = deque(preface)
        self._self_ended = ended

    def __aiter__(self) -> AsyncReplay:
        return self

    async def __anext__(self) -> Any:
        if self._self_preface:
            return self._self_preface.popleft()
        if self._self_ended:
            raise StopAsyncIteration
        return await self.__wrapped__.__anext__()

    async def __aenter__(self) -> Any:
        entered = await self.__wrapped__.__aenter__()
        return self if entered is self.__wrapped__ else entered

    async def __aexit__(self, *exc_info: Any) -> Any:
        return await self.__wrapped__.__aexit__(*exc_info)


def discard(stream: Any) -> None:
    """Close a stream that failed before its commit point (its connection goes back to the pool)."""
    close = getattr(stream, "close", None)
    if callable(close):
        close()


async def adiscard(stream: Any) -> None:
    """Async twin of `discard`."""
    close = getattr(stream, "aclose", None) or getattr(stream, "close", None)
    if callable(close):
        result = close()
        if hasattr(result, "__await__"):
            await result
