"""Readers every provider module shares: defensive converters and the request-keyword reader.

Everything is read defensively (type checks, ``getattr`` with defaults): responses from
compatible servers and odd SDK versions omit or mistype fields, and a bad field must cost one
attribute, not the call's telemetry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from llm_otel.telemetry import Attributes
from llm_otel.telemetry import _names as n


def number(value: Any) -> float | int | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def string(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def strings(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and value and all(isinstance(item, str) for item in value):
        return list(value)
    return None


#: (keyword argument, attribute, converter returning None to skip it)
Reader = tuple[str, str, Callable[[Any], Any]]


def request_reader(readers: tuple[Reader, ...]) -> Callable[[Mapping[str, Any]], Attributes]:
    """A function turning call keywords into span attributes with the given readers; where several
    keywords name one attribute and more than one is given, the one listed last wins."""
    # The call's keywords are walked, not the readers: a call gives a few of the dozen a method takes.
    by_key = {key: (rank, attribute, convert) for rank, (key, attribute, convert) in enumerate(readers)}
    named = [attribute for _, attribute, _ in readers]
    shared = frozenset(attribute for attribute in named if named.count(attribute) > 1)

    def read(kwargs: Mapping[str, Any]) -> Attributes:
        attrs: Attributes = {}
        if kwargs.get("stream") is True:
            attrs[n.REQUEST_STREAM] = True
        ranks: dict[str, int] = {}
        for key, given in kwargs.items():
            reader = by_key.get(key)
            if reader is None:
                continue
            rank, attribute, convert = reader
            value = convert(given)
            if value is None:
                continue
            if attribute in shared:
                if ranks.get(attribute, -1) > rank:
                    continue
                ranks[attribute] = rank
            attrs[attribute] = value
        return attrs

    return read


RAW_RESPONSES = frozenset({"LegacyAPIResponse", "APIResponse", "AsyncAPIResponse"})


def deferred(result: Any) -> bool:
    """Whether a result is a raw response whose body is still unread: a stream behind
    ``with_raw_response``, or anything behind ``with_streaming_response``. The core observes what
    its ``parse()`` gives the caller (see ``Operation.raw``)."""
    return type(result).__name__ in RAW_RESPONSES and not result.http_response.is_closed


def parsed(result: Any) -> Any:
    """The model object behind a raw response whose body is read (``with_raw_response``, no stream)."""
    name = type(result).__name__
    if name not in RAW_RESPONSES:
        return result
    if name == "LegacyAPIResponse":
        return result.parse()  # cached by the SDK: the caller's own parse() returns the same object
    # APIResponse (anthropic 1.x+): its async twin parses in a coroutine, so read the kept body.
    http = result.http_response
    return http.json() if "json" in http.headers.get("content-type", "") else None


def response_format_type(value: Any) -> str | None:
    """``gen_ai.output.type`` of a ``response_format`` given as a dict or an SDK model with a ``type``
    (Mistral's and Cohere's): text, or JSON with or without a schema."""
    kind = field(value, "type")
    if kind == "text":
        return n.OUTPUT_TEXT
    return n.OUTPUT_JSON if kind in ("json_object", "json_schema") else None


def field(value: Any, name: str) -> Any:
    """A model's field, or a dict's key: older SDKs keep fields they do not know as plain dicts."""
    if type(value) is dict:  # not isinstance(Mapping): this runs several times per call
        return value.get(name)
    return getattr(value, name, None)
