"""One table: what each provider error means for retry, the circuit breaker and fallback.

Provider SDKs generated from the same template (openai, anthropic, and most newer ones) share
their exception names (``APIStatusError`` with ``status_code`` and ``body``, ``APIConnectionError``,
``APITimeoutError``), so the table reads names, statuses and error bodies rather than importing
any SDK. Provider-specific signals (anthropic's 529 and in-stream ``overloaded_error``, openai's
``insufficient_quota`` and ``context_length_exceeded``, ollama's one ``ResponseError`` for every
status, mistralai's ``SDKError`` and its other ``MistralError``s, whose body is the response's
text, cohere's ``ApiError`` with one subclass per status, botocore's ``ClientError``s named by their
error code, google-genai's ``ClientError`` and ``ServerError``, whose status is their ``code``) are
rows of the same table.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

Fallback = Literal["any", "marked", "never"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do about one failed attempt.

    ``reason`` is a low-cardinality label (metrics, span events, logs); ``retry``: try the same
    route again; ``failure``: count against the route's circuit breaker (else the call is
    *ignored*: the caller's own mistake says nothing about the route's health); ``fallback``:
    ``"any"`` next route, ``"marked"`` only to a route whose ``fallback_for`` names the reason
    (a larger-context or content-policy route), ``"never"``.

    Example::

        def classify(exc):  # count 401s against the breaker: a revoked key takes the route down
            if getattr(exc, "status_code", None) == 401:
                return Verdict("auth", retry=False, failure=True, fallback="any")
            return None  # the built-in table decides
    """

    reason: str
    retry: bool
    failure: bool
    fallback: Fallback


def _v(reason: str, retry: bool, failure: bool, fallback: Fallback) -> Verdict:
    return Verdict(reason, retry, failure, fallback)


TIMEOUT = _v("timeout", True, True, "any")
CONNECTION = _v("connection", True, True, "any")
CONFLICT = _v("conflict", True, False, "any")
RATE_LIMITED = _v("rate_limited", True, True, "any")
QUOTA = _v("quota", False, True, "any")
SERVER_ERROR = _v("server_error", True, True, "any")
OVERLOADED = _v("overloaded", True, True, "any")
AUTH = _v("auth", False, False, "never")
NOT_FOUND = _v("not_found", False, False, "never")
CONTEXT_LENGTH = _v("context_length", False, False, "marked")
CONTENT_FILTER = _v("content_filter", False, False, "marked")
BAD_REQUEST = _v("bad_request", False, False, "never")
UNKNOWN = _v("unknown", False, False, "never")
CIRCUIT_OPEN = _v("circuit_open", False, False, "any")

# The status table. 529 is anthropic's "overloaded"; 499 (client closed) says nothing of health.
_BY_STATUS: Mapping[int, Verdict] = {
    400: BAD_REQUEST,
    401: AUTH,
    402: AUTH,
    403: AUTH,
    404: NOT_FOUND,
    408: TIMEOUT,
    409: CONFLICT,
    413: BAD_REQUEST,
    422: BAD_REQUEST,
    429: RATE_LIMITED,
    431: BAD_REQUEST,
    498: AUTH,  # cohere: invalid token
    529: OVERLOADED,
}
# Error ``type``/``code`` in a body (status errors and in-stream error events alike).
_BY_BODY: Mapping[str, Verdict] = {
    "insufficient_quota": QUOTA,  # openai: an empty account answers 429 too; waiting will not help
    "context_length_exceeded": CONTEXT_LENGTH,  # openai
    "content_filter": CONTENT_FILTER,  # openai
    "overloaded_error": OVERLOADED,  # anthropic, also inside a 200 stream
    "api_error": SERVER_ERROR,  # anthropic
    "server_error": SERVER_ERROR,  # openai, also inside a stream
    "rate_limit_error": RATE_LIMITED,  # anthropic
    "request_too_large": CONTEXT_LENGTH,  # anthropic 413
    "internal_server_error": SERVER_ERROR,  # mistral, also inside a stream
}
# The last is Gemini's: "The input token count (N) exceeds the maximum number of tokens allowed (M)."
_CONTEXT_PHRASES = (
    "prompt is too long",
    "maximum context length",
    "context window",
    "input is too long",
    "number of tokens allowed",
)
# botocore: every AWS service error is a ClientError whose response names its code (an error event
# inside a Bedrock stream names it in lower camel case: ``modelStreamErrorException``).
_BY_AWS_CODE: Mapping[str, Verdict] = {
    "ThrottlingException": RATE_LIMITED,
    "ServiceQuotaExceededException": QUOTA,
    "ModelNotReadyException": OVERLOADED,
    "ModelTimeoutException": TIMEOUT,
    "ServiceUnavailableException": SERVER_ERROR,
    "InternalServerException": SERVER_ERROR,
    "ModelErrorException": SERVER_ERROR,
    "ModelStreamErrorException": SERVER_ERROR,
    "AccessDeniedException": AUTH,
    "UnrecognizedClientException": AUTH,
    "ExpiredTokenException": AUTH,
    "ResourceNotFoundException": NOT_FOUND,
    "ValidationException": BAD_REQUEST,
}
# botocore's transport errors (no ClientError: no answer came).
_AWS_TIMEOUTS = frozenset({"ReadTimeoutError", "ConnectTimeoutError"})
_AWS_CONNECTION = frozenset({"HTTPClientError", "ConnectionError"})
# urllib3: botocore lets a connection lost mid-stream through unwrapped (``ProtocolError``).
_HTTP_PACKAGES = frozenset({"httpx", "httpx2", "httpcore", "aiohttp", "urllib3"})
# Status errors: the generated SDKs' APIStatusError, mistralai's SDKError and its MistralError base
# (every error of a response, a stream's error event included, whose status is then the 200), and
# cohere's ApiError, base of its TooManyRequestsError, BadRequestError ...
_STATUS_ERRORS = frozenset({"APIStatusError", "SDKError", "MistralError", "ApiError"})

Classifier = Callable[[BaseException], "Verdict | None"]


def _error_fields(body: object) -> tuple[str, str, str]:
    """``type``, ``code`` and ``message`` of an error body, nested (``{"error": {...}}``) or not,
    parsed or (mistralai) the response's JSON text."""
    if isinstance(body, str):
        text = body
        try:
            body = json.loads(text)
        except ValueError:
            return "", "", text
    if isinstance(body, Mapping):
        inner = body.get("error")
        if isinstance(inner, Mapping):
            body = inner
    if not isinstance(body, Mapping):
        return "", "", ""
    return str(body.get("type") or ""), str(body.get("code") or ""), str(body.get("message") or "")


def _from_body(exc: BaseException) -> Verdict | None:
    kind, code, message = _error_fields(getattr(exc, "body", None))
    found = _BY_BODY.get(code) or _BY_BODY.get(kind)
    if found is None and any(phrase in message.lower() for phrase in _CONTEXT_PHRASES):
        found = CONTEXT_LENGTH
    return found


def _from_aws(exc: BaseException) -> Verdict:
    response = getattr(exc, "response", None)
    response = response if isinstance(response, Mapping) else {}
    error = response.get("Error")
    error = error if isinstance(error, Mapping) else {}
    code = str(error.get("Code") or "")
    found = _BY_AWS_CODE.get(code[:1].upper() + code[1:])
    if found is BAD_REQUEST and any(phrase in str(error.get("Message") or "").lower() for phrase in _CONTEXT_PHRASES):
        return CONTEXT_LENGTH
    if found is not None:
        return found
    metadata = response.get("ResponseMetadata")
    status = metadata.get("HTTPStatusCode") if isinstance(metadata, Mapping) else None
    if not isinstance(status, int):
        return UNKNOWN
    return _BY_STATUS.get(status, SERVER_ERROR if status >= 500 else BAD_REQUEST)


def classify(exc: BaseException) -> Verdict:
    """The built-in verdict for an exception raised by a route (see docs/resilience.md)."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "CircuitOpenError" in names:
        return CIRCUIT_OPEN
    if "APITimeoutError" in names or isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return TIMEOUT
    if "APIConnectionError" in names or isinstance(exc, ConnectionError):
        return CONNECTION
    if "ContentFilterFinishReasonError" in names:
        return CONTENT_FILTER
    status = getattr(exc, "status_code", None)
    if names & _STATUS_ERRORS and isinstance(status, int):
        by_body = _from_body(exc)
        if by_body is not None and (status != 400 or by_body in (CONTEXT_LENGTH, CONTENT_FILTER)):
            return by_body
        if status >= 500:
            return _BY_STATUS.get(status, SERVER_ERROR)
        # anthropic reports an in-stream error event as a status error of the stream's 200.
        return _BY_STATUS.get(status, BAD_REQUEST if status >= 400 else UNKNOWN)
    if "ClientError" in names and type(exc).__module__.startswith("botocore"):
        return _from_aws(exc)
    if names & _AWS_TIMEOUTS:
        return TIMEOUT
    if names & _AWS_CONNECTION and type(exc).__module__.startswith("botocore"):
        return CONNECTION
    if "HTTPValidationError" in names:  # mistralai 1.x: a 422 whose exception keeps no status
        return BAD_REQUEST
    if "ResponseError" in names and isinstance(status, int):
        # ollama: one class for every status, and -1 for an error line inside a stream (its runner failed).
        return _BY_STATUS.get(status, BAD_REQUEST if 400 <= status < 500 else SERVER_ERROR)
    code = getattr(exc, "code", None)
    if "APIError" in names and isinstance(code, int) and type(exc).__module__.startswith("google."):
        # google-genai: ClientError / ServerError (a stream's error chunk too) with the HTTP status in ``code``.
        if any(phrase in str(getattr(exc, "message", "") or "").lower() for phrase in _CONTEXT_PHRASES):
            return CONTEXT_LENGTH
        return _BY_STATUS.get(code) or (SERVER_ERROR if code >= 500 else BAD_REQUEST if code >= 400 else UNKNOWN)
    if "APIError" in names:  # openai's in-stream error event: no status, only a body
        return _from_body(exc) or SERVER_ERROR
    if type(exc).__module__.partition(".")[0] in _HTTP_PACKAGES:
        # Transport errors some SDK releases let through unwrapped mid-stream.
        return TIMEOUT if names & {"TimeoutException", "TimeoutError"} else CONNECTION
    return UNKNOWN


def verdict_for(exc: BaseException, custom: Classifier | None) -> Verdict:
    """The user's classifier first (None from it defers to the table), then the table."""
    if custom is not None:
        found = custom(exc)
        if found is not None:
            return found
    return classify(exc)
