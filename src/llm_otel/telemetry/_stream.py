"""The one sync and one async stream proxy every provider's streams go through.

A proxy times each chunk, hands it to the provider's accumulator, and ends the call's span exactly
once: on exhaustion, on an exception, on ``close()``/``aclose()``, on leaving a ``with`` block, or
when an abandoned stream is garbage-collected. Everything else is forwarded to the SDK's object,
so the caller sees the same stream, lazily consumed as before.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

import wrapt
from opentelemetry import context, trace

from ._record import Invocation

# Streams opened while a stream manager (e.g. ``chat.completions.stream()``) enters, so that its
# exit can end their spans: the SDK's helper closes the HTTP response, not the stream we proxy.
_opened: ContextVar[list[_StreamBase] | None] = ContextVar("llm_otel_opened_streams", default=None)


class _StreamBase(wrapt.BaseObjectProxy[Any]):
    def __init__(self, wrapped: Any, invocation: Invocation) -> None:
        super().__init__(wrapped)
        self._self_invocation = invocation
        self._self_iterator: Any = None
        opened = _opened.get()
        if opened is not None:
            opened.append(self)

    def _self_call_context(self) -> context.Context:
        # A stream may send its request only when first read (a generator SDK's, such as
        # ollama's): that read runs under the call's span, so that a transport span nests under it.
        return trace.set_span_in_context(self._self_invocation.span)

    def _self_end(self, exc: BaseException | None = None) -> None:
        self._self_invocation.finish_stream(exc)

    def __del__(self) -> None:
        # An abandoned stream: end its span rather than leak it.
        # (A proxy's __dict__ is the wrapped object's, so probe the attribute instead.) At
        # interpreter exit the modules we need may be gone: nothing useful is left to do then.
        try:
            self._self_invocation  # noqa: B018
            self._self_end()
        except Exception:
            return


class SyncStream(_StreamBase):
    """Proxy for a synchronous SDK stream."""

    def __iter__(self) -> SyncStream:
        return self

    def __next__(self) -> Any:
        iterator = self._self_iterator
        if iterator is None:
            token = context.attach(self._self_call_context())
            try:
                self._self_iterator = iter(self.__wrapped__)
                return self.__next__()
            finally:
                context.detach(token)
        while True:
            try:
                chunk = next(iterator)
            except StopIteration:
                self._self_end()
                raise
            except BaseException as exc:
                self._self_end(exc)
                raise
            if not self._self_invocation.chunk(chunk):
                return chunk

    def __enter__(self) -> Any:
        entered = self.__wrapped__.__enter__()
        return self if entered is self.__wrapped__ else entered

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc_info)
        finally:
            self._self_end()

    # A property, as for AsyncStream: a stream without ``close`` (mistralai 1.x's) still lacks it.
    @property
    def close(self) -> Callable[[], Any]:
        return functools.partial(self._self_closing, self.__wrapped__.close)

    def _self_closing(self, close: Callable[[], Any]) -> Any:
        try:
            return close()
        finally:
            self._self_end()


class AsyncStream(_StreamBase):
    """Proxy for an asynchronous SDK stream; ``close`` and ``aclose`` stay awaitable."""

    def __aiter__(self) -> AsyncStream:
        return self

    async def __anext__(self) -> Any:
        iterator = self._self_iterator
        if iterator is None:
            token = context.attach(self._self_call_context())
            try:
                self._self_iterator = self.__wrapped__.__aiter__()
                return await self.__anext__()
            finally:
                context.detach(token)
        while True:
            try:
                chunk = await iterator.__anext__()
            except StopAsyncIteration:
                self._self_end()
                raise
            except BaseException as exc:
                self._self_end(exc)
                raise
            if not self._self_invocation.chunk(chunk):
                return chunk

    async def __aenter__(self) -> Any:
        entered = await self.__wrapped__.__aenter__()
        return self if entered is self.__wrapped__ else entered

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc_info)
        finally:
            self._self_end()

    # Properties, so that a stream without ``aclose`` (or ``close``) still appears to lack it.
    @property
    def close(self) -> Callable[[], Awaitable[Any]]:
        return functools.partial(self._self_closing, self.__wrapped__.close)

    @property
    def aclose(self) -> Callable[[], Awaitable[Any]]:
        return functools.partial(self._self_closing, self.__wrapped__.aclose)

    async def _self_closing(self, close: Callable[[], Any]) -> Any:
        try:
            result = close()
            return await result if hasattr(result, "__await__") else result
        finally:
            self._self_end()


class SyncManager(wrapt.BaseObjectProxy[Any]):
    """Proxy for a stream manager: streams opened on entry end when the block is left."""

    def __enter__(self) -> Any:
        token = _opened.set([])
        try:
            return self.__wrapped__.__enter__()
        finally:
            self._self_streams = _opened.get()
            _opened.reset(token)

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc_info)
        finally:
            for stream in getattr(self, "_self_streams", ()):
                stream._self_end()


class AsyncManager(wrapt.BaseObjectProxy[Any]):
    """Async twin of SyncManager."""

    async def __aenter__(self) -> Any:
        token = _opened.set([])
        try:
            return await self.__wrapped__.__aenter__()
        finally:
            self._self_streams = _opened.get()
            _opened.reset(token)

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc_info)
        finally:
            for stream in getattr(self, "_self_streams", ()):
                stream._self_end()
