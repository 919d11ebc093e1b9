"""The generic sync and async wrappers: one code path for every provider's every method.

A provider declares an ``Operation`` per patched method; the wrapper starts the span, makes it
current for the SDK call (so a transport span nests under it), and finishes it from the result,
the exception, or, for streams, the stream proxy. Our failures are logged, never raised; the SDK's
results and exceptions reach the caller unchanged.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any, NamedTuple

import wrapt
from opentelemetry import context, trace
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, Context

from llm_otel._log import internal_error

from . import _content
from ._content import ContentReader
from ._frameworks import framework_scope
from ._instruments import Telemetry
from ._raw import AsyncRawResponse, SyncRawResponse
from ._record import Accumulator, Attributes, Invocation, Outcome
from ._stream import AsyncManager, AsyncStream, SyncManager, SyncStream

# True inside one of our calls, so that a low-level request method the call goes through (see
# ``request_wrapper``) does not record it a second time. A context variable of its own rather than a
# key of the OTel context: every request reads it, and this costs one C call, not a context copy.
_IN_CALL: ContextVar[bool] = ContextVar("llm_otel_in_call", default=False)


class Endpoint(NamedTuple):
    """Who answers a call: ``gen_ai.provider.name``, ``server.address``, ``server.port``."""

    provider: str
    address: str | None
    port: int | None


def model_argument(kwargs: Mapping[str, Any]) -> str | None:
    """The ``model=`` keyword, as most SDKs name it."""
    model = kwargs.get("model")
    return model if isinstance(model, str) else None


@dataclass(frozen=True, slots=True)
class Operation:
    """How to read one SDK method, declared by a provider; the core does the recording.

    ``request`` returns the span's request attributes (called only when the span records);
    ``response`` reads a non-stream result (``recording`` says whether span-only details are
    wanted); ``stream`` returns an accumulator when the result is a stream, else None;
    ``prepare``, when set, may edit the call's keyword arguments and says whether it did.
    ``entered``, when set, marks a method returning a stream manager that sends its request only
    when entered: the call is timed from entry, and the SDK stream kept in this attribute of the
    entered object is proxied (see ``entered_wrapper``).
    ``raw``, when set, says whether a result is a raw HTTP response whose body the caller reads
    later (``with_raw_response`` on a stream, ``with_streaming_response``): its ``parse()``
    result is then observed as a direct call's would be (see ``_raw``).
    ``stream_key``, when set, names the key of a result dict that holds its stream (botocore's
    ``{"stream": EventStream, ...}``): the proxy replaces the stream there, and the dict is returned.
    """

    name: str
    endpoint: Callable[[Any], Endpoint]
    request: Callable[[Mapping[str, Any]], Attributes]
    response: Callable[[Any, bool], Outcome]
    stream: Callable[[Any, bool], Accumulator | None]
    model: Callable[[Mapping[str, Any]], str | None] = model_argument
    prepare: Callable[[dict[str, Any]], bool] | None = None
    entered: str | None = None
    raw: Callable[[Any], bool] | None = None
    # How to read the call's message content; None for methods without any (embeddings).
    content: ContentReader | None = None
    stream_key: str | None = None


def _begin(
    telemetry: Telemetry, op: Operation, instance: Any, kwargs: dict[str, Any]
) -> tuple[Invocation, bool] | None:
    if context.get_current().get(_SUPPRESS_INSTRUMENTATION_KEY):
        return None
    if telemetry.frameworks is not None:
        scope = framework_scope(trace.get_current_span())
        if scope is not None:
            telemetry = telemetry.frameworks[scope]
    try:
        endpoint = op.endpoint(instance)
        invocation = Invocation(
            telemetry, op.name, endpoint.provider, op.model(kwargs), endpoint.address, endpoint.port
        )
    except Exception as err:
        internal_error("start", err)
        return None
    injected = False
    try:
        if invocation.recording:
            invocation.request_attributes = op.request(kwargs)
        if op.prepare is not None:
            injected = op.prepare(kwargs)
    except Exception as err:
        internal_error("request", err)
    # Off (the default), this is the whole cost of content capture: one check of the mode.
    invocation.content = _content.start(op.content, kwargs)
    return invocation, injected


_CallTokens = tuple[Token[Context], Token[bool]]


def _enter_call(invocation: Invocation) -> _CallTokens:
    """Make the call's span current and mark the context as inside one of our calls."""
    return context.attach(invocation.context), _IN_CALL.set(True)


def _leave_call(tokens: _CallTokens) -> None:
    _IN_CALL.reset(tokens[1])
    context.detach(tokens[0])


_async_parse: dict[type, bool] = {}


def _raw_proxy(op: Operation, invocation: Invocation, result: Any, injected: bool, is_async: bool) -> Any:
    kind = type(result)
    async_parse = _async_parse.get(kind)
    if async_parse is None:
        async_parse = _async_parse[kind] = inspect.iscoroutinefunction(getattr(kind, "parse", None))
    # A legacy raw response of an async client parses synchronously, into an async stream.
    settle = functools.partial(_settle, op, invocation, injected=injected, is_async=is_async)
    return (AsyncRawResponse if async_parse else SyncRawResponse)(result, invocation, settle)


def _settle(op: Operation, invocation: Invocation, result: Any, injected: bool, is_async: bool) -> Any:
    try:
        accumulator = op.stream(result, injected)
        if accumulator is not None:
            invocation.accumulator = accumulator if invocation.content is None else invocation.content.tee(accumulator)
            proxy = AsyncStream if is_async else SyncStream
            if op.stream_key is None:
                return proxy(result, invocation)
            result[op.stream_key] = proxy(result[op.stream_key], invocation)
            return result
        if op.raw is not None and op.raw(result):
            return _raw_proxy(op, invocation, result, injected, is_async)
        if invocation.content is not None:
            invocation.content.output(result)
        outcome = op.response(result, invocation.recording)
    except Exception as err:
        internal_error("response", err)
        outcome = None
    invocation.finish(outcome, outcome.error if outcome is not None else None)
    return result


def manager_wrapper(is_async: bool) -> Callable[..., Any]:
    """A wrapt wrapper for a method returning a stream manager (``.stream(...)`` helpers).

    The manager's own request goes through the wrapped ``create``, which owns the span; the SDK's
    helper closes the HTTP response on exit, not the stream we proxy, so the proxy ends it.
    """
    proxy = AsyncManager if is_async else SyncManager

    def manage(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        return proxy(wrapped(*args, **kwargs))

    return manage


class _EnteredManager(wrapt.BaseObjectProxy[Any]):
    """A stream manager whose request runs on entry: the call starts there, its stream is proxied."""

    def __init__(self, wrapped: Any, telemetry: Telemetry, op: Operation, instance: Any, kwargs: Any) -> None:
        super().__init__(wrapped)
        self._self_call = (telemetry, op, instance, kwargs)
        self._self_stream: SyncStream | AsyncStream | None = None

    def _self_begin(self) -> tuple[Invocation, _CallTokens] | None:
        telemetry, op, instance, kwargs = self._self_call
        begun = _begin(telemetry, op, instance, kwargs)
        if begun is None:
            return None
        return begun[0], _enter_call(begun[0])

    def _self_entered(self, invocation: Invocation, entered: Any, is_async: bool) -> None:
        op = self._self_call[1]
        try:
            attribute: str = op.entered  # type: ignore[assignment]
            stream = getattr(entered, attribute)
            accumulator = op.stream(stream, False)
            if accumulator is None:
                invocation.finish(None)
                return
            invocation.accumulator = accumulator if invocation.content is None else invocation.content.tee(accumulator)
            # The entered object reads its events from this attribute lazily, so every helper
            # (iteration, text streams, final-message getters) now goes through the proxy.
            self._self_stream = (AsyncStream if is_async else SyncStream)(stream, invocation)
            setattr(entered, attribute, self._self_stream)
        except Exception as err:
            internal_error("response", err)
            invocation.finish(None)

    def _self_exited(self) -> None:
        # The SDK's manager closes the HTTP response, not necessarily the stream we proxy.
        if self._self_stream is not None:
            self._self_stream._self_end()


class _SyncEnteredManager(_EnteredManager):
    def __enter__(self) -> Any:
        begun = self._self_begin()
        if begun is None:
            return self.__wrapped__.__enter__()
        invocation, token = begun
        try:
            entered = self.__wrapped__.__enter__()
        except BaseException as exc:
            invocation.finish(None, exc)
            raise
        finally:
            _leave_call(token)
        self._self_entered(invocation, entered, is_async=False)
        return entered

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc_info)
        finally:
            self._self_exited()


class _AsyncEnteredManager(_EnteredManager):
    async def __aenter__(self) -> Any:
        begun = self._self_begin()
        if begun is None:
            return await self.__wrapped__.__aenter__()
        invocation, token = begun
        try:
            entered = await self.__wrapped__.__aenter__()
        except BaseException as exc:
            invocation.finish(None, exc)
            raise
        finally:
            _leave_call(token)
        self._self_entered(invocation, entered, is_async=True)
        return entered

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc_info)
        finally:
            self._self_exited()


def entered_wrapper(telemetry: Telemetry, op: Operation) -> Callable[..., Any]:
    """A wrapt wrapper for a method returning a manager that sends its request when entered.

    Nothing is recorded for a manager that is never entered: no request was made.
    """

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        manager = wrapped(*args, **kwargs)
        proxy = _AsyncEnteredManager if hasattr(manager, "__aenter__") else _SyncEnteredManager
        return proxy(manager, telemetry, op, instance, kwargs)

    return wrapper


def _call(
    telemetry: Telemetry,
    op: Operation,
    request: dict[str, Any],
    wrapped: Callable[..., Any],
    instance: Any,
    args: Any,
    kwargs: Any,
) -> Any:
    """One call of a sync method; ``request`` is where its keywords are (its own, or a request body)."""
    begun = _begin(telemetry, op, instance, request)
    if begun is None:
        return wrapped(*args, **kwargs)
    invocation, injected = begun
    tokens = _enter_call(invocation)
    try:
        result = wrapped(*args, **kwargs)
    except BaseException as exc:
        invocation.finish(None, exc)
        raise
    finally:
        _leave_call(tokens)
    return _settle(op, invocation, result, injected, is_async=False)


async def _async_call(
    telemetry: Telemetry,
    op: Operation,
    request: dict[str, Any],
    wrapped: Callable[..., Any],
    instance: Any,
    args: Any,
    kwargs: Any,
) -> Any:
    """Async twin of ``_call``."""
    begun = _begin(telemetry, op, instance, request)
    if begun is None:
        return await wrapped(*args, **kwargs)
    invocation, injected = begun
    tokens = _enter_call(invocation)
    try:
        result = await wrapped(*args, **kwargs)
    except BaseException as exc:
        invocation.finish(None, exc)
        raise
    finally:
        _leave_call(tokens)
    return _settle(op, invocation, result, injected, is_async=True)


def sync_wrapper(telemetry: Telemetry, op: Operation) -> Callable[..., Any]:
    """A wrapt wrapper for a synchronous SDK method (or, with ``op.entered``, see ``entered_wrapper``)."""
    if op.entered is not None:
        return entered_wrapper(telemetry, op)

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        return _call(telemetry, op, kwargs, wrapped, instance, args, kwargs)

    return wrapper


def async_wrapper(telemetry: Telemetry, op: Operation) -> Callable[..., Any]:
    """A wrapt wrapper for an asynchronous SDK method (a coroutine function)."""

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        return _async_call(telemetry, op, kwargs, wrapped, instance, args, kwargs)

    return wrapper


#: Picks the operation of a low-level request and the request's keywords (its JSON body), from the
#: request method's instance and arguments; None for a request that is no inference call. The
#: instance matters where one method serves many APIs (botocore's ``_make_api_call``, every service).
Route = Callable[[Any, tuple[Any, ...], Mapping[str, Any]], "tuple[Operation, dict[str, Any]] | None"]


def request_wrapper(telemetry: Telemetry, route: Route, is_async: bool) -> Callable[..., Any]:
    """A wrapt wrapper for an SDK's low-level request method (openai's ``client.post``).

    Frameworks such as litellm call it directly, below the resource methods; such a call gets its
    span here. A request made inside one of our calls (every wrapped resource method goes through
    this method) is already recorded and passes through, so a call never has two spans.
    """
    call = _async_call if is_async else _call

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        if not _IN_CALL.get():
            try:
                routed = route(instance, args, kwargs)
            except Exception as err:
                internal_error("request", err)
                routed = None
            if routed is not None:
                return call(telemetry, routed[0], routed[1], wrapped, instance, args, kwargs)
        return wrapped(*args, **kwargs)

    return wrapper
