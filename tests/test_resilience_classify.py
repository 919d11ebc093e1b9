"""The error table, on the SDKs' real exception classes built from real HTTP responses; the hint headers."""

from __future__ import annotations

import email.utils
from typing import Any

import anthropic
import ollama
import openai
import pytest

from llm_otel.resilience import RetryPolicy, Verdict, classify
from llm_otel.resilience._hints import retry_hint

NOW = 1_700_000_000.0


def http(sdk: Any) -> Any:
    """httpx2 for openai 3.x / anthropic 2.x, httpx before."""
    client = sdk.OpenAI(api_key="k") if sdk is openai else sdk.Anthropic(api_key="k")
    return __import__(type(client.base_url).__module__.partition(".")[0])


def status_error(sdk: Any, status: int, body: object, headers: dict[str, str] | None = None) -> Exception:
    """The exception the SDK itself raises for this response."""
    module = http(sdk)
    response = module.Response(status, headers=headers or {}, request=module.Request("POST", "https://api.test/v1"))
    client = sdk.OpenAI(api_key="k") if sdk is openai else sdk.Anthropic(api_key="k")
    if sdk is openai and isinstance(body, dict):
        body = body.get("error", body)  # as openai's client unwraps it
    error: Exception = client._make_status_error(f"Error code: {status}", body=body, response=response)
    return error


def oa(status: int, code: str | None = None, kind: str = "invalid_request_error", message: str = "m") -> Exception:
    return status_error(openai, status, {"error": {"message": message, "type": kind, "code": code}})


def an(status: int, kind: str, message: str = "m") -> Exception:
    return status_error(anthropic, status, {"type": "error", "error": {"type": kind, "message": message}})


CASES: list[tuple[str, Exception, str, bool, bool, str]] = [
    # name, exception, reason, retry, breaker failure, fallback
    ("openai 400", oa(400), "bad_request", False, False, "never"),
    ("openai context", oa(400, "context_length_exceeded"), "context_length", False, False, "marked"),
    ("openai 401", oa(401, "invalid_api_key"), "auth", False, False, "never"),
    ("openai 403", oa(403), "auth", False, False, "never"),
    ("openai 404", oa(404, "model_not_found"), "not_found", False, False, "never"),
    ("openai 409", oa(409), "conflict", True, False, "any"),
    ("openai 422", oa(422), "bad_request", False, False, "never"),
    ("openai 429", oa(429, "rate_limit_exceeded", "requests"), "rate_limited", True, True, "any"),
    ("openai quota", oa(429, "insufficient_quota", "insufficient_quota"), "quota", False, True, "any"),
    ("openai 500", oa(500, None, "server_error"), "server_error", True, True, "any"),
    ("openai 502", oa(502, None, "server_error"), "server_error", True, True, "any"),
    ("openai 503", oa(503, None, "server_error"), "server_error", True, True, "any"),
    ("openai 504", oa(504, None, "server_error"), "server_error", True, True, "any"),
    ("anthropic 400", an(400, "invalid_request_error"), "bad_request", False, False, "never"),
    (
        "anthropic prompt too long",
        an(400, "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"),
        "context_length",
        False,
        False,
        "marked",
    ),
    ("anthropic 401", an(401, "authentication_error"), "auth", False, False, "never"),
    ("anthropic 402", an(402, "billing_error"), "auth", False, False, "never"),
    ("anthropic 413", an(413, "request_too_large"), "context_length", False, False, "marked"),
    ("anthropic 429", an(429, "rate_limit_error"), "rate_limited", True, True, "any"),
    ("anthropic 500", an(500, "api_error"), "server_error", True, True, "any"),
    ("anthropic 529", an(529, "overloaded_error"), "overloaded", True, True, "any"),
    # anthropic's in-stream error event: a generic status error carrying the stream's 200
    ("anthropic in-stream overload", an(200, "overloaded_error"), "overloaded", True, True, "any"),
    ("anthropic in-stream invalid", an(200, "invalid_request_error"), "unknown", False, False, "never"),
]


@pytest.mark.parametrize(
    ("exc", "reason", "retry", "failure", "fallback"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_status_errors_are_classified_by_the_table(
    exc: Exception, reason: str, retry: bool, failure: bool, fallback: str
) -> None:
    assert classify(exc) == Verdict(reason, retry, failure, fallback)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (400, "bad_request"),
        (404, "not_found"),  # the model is not pulled
        (429, "rate_limited"),  # the server's queue is full
        (500, "server_error"),
        (503, "server_error"),
        (-1, "server_error"),  # an error line inside a stream
    ],
)
def test_ollama_response_errors_are_classified_by_status(status: int, reason: str) -> None:
    assert classify(ollama.ResponseError('{"error": "m"}', status)).reason == reason
    assert classify(ConnectionError("Failed to connect to Ollama")).reason == "connection"


def test_transport_errors_and_openai_stream_errors() -> None:
    request = http(openai).Request("POST", "https://api.test/v1")
    assert classify(openai.APIConnectionError(request=request)).reason == "connection"
    assert classify(openai.APITimeoutError(request=request)).reason == "timeout"
    assert classify(anthropic.APITimeoutError(request=http(anthropic).Request("POST", "https://a"))).reason == "timeout"
    # openai raises a bare APIError for an SSE error event; its body is the inner error object
    assert classify(openai.APIError("boom", request, body={"type": "server_error", "message": "m"})).reason == (
        "server_error"
    )
    assert classify(TimeoutError()).reason == "timeout"
    assert classify(ConnectionResetError()).reason == "connection"
    assert classify(http(openai).RemoteProtocolError("peer closed")).reason == "connection"
    assert classify(ValueError("a bug in the caller's own function")) == Verdict("unknown", False, False, "never")


def test_content_filter_finish_is_fallback_to_a_marked_route_only() -> None:
    assert classify(openai.ContentFilterFinishReasonError()) == Verdict("content_filter", False, False, "marked")


def headers_error(headers: dict[str, str]) -> Exception:
    return status_error(openai, 429, {"error": {"message": "m", "type": "requests"}}, headers)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
        ({"retry-after": "2.5"}, 2.5),
        ({"retry-after": email.utils.formatdate(NOW + 30, usegmt=True)}, 30.0),
        ({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "6m0s"}, 360.0),
        (
            {
                "x-ratelimit-remaining-requests": "0",
                "x-ratelimit-reset-requests": "12ms",
                "x-ratelimit-remaining-tokens": "0",
                "x-ratelimit-reset-tokens": "1.5s",
            },
            1.5,
        ),
        ({"x-ratelimit-remaining-tokens": "5", "x-ratelimit-reset-tokens": "20s"}, None),  # not exhausted
        ({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "0"}, None),  # Azure: none
        (
            {
                "anthropic-ratelimit-tokens-remaining": "0",
                "anthropic-ratelimit-tokens-reset": "2023-11-14T22:14:05Z",  # NOW + 45 s
            },
            45.0,
        ),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_hints_from_headers(headers: dict[str, str], seconds: float | None) -> None:
    assert retry_hint(headers_error(headers), NOW) == seconds


def test_retry_delay_is_full_jitter_and_honours_hints_up_to_the_cap() -> None:
    policy = RetryPolicy(base=0.5, cap=4.0, max_hint=60.0, rng=lambda: 0.5)
    assert [policy.delay(n, None) for n in (1, 2, 3, 4, 5)] == [0.25, 0.5, 1.0, 2.0, 2.0]
    assert RetryPolicy(rng=lambda: 0.0).delay(3, None) == 0.0
    assert policy.delay(1, 42.0) == 42.0
    assert policy.delay(1, 61.0) is None
