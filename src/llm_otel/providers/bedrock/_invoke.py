"""Reading ``invoke_model`` and ``invoke_model_with_response_stream``: a JSON body per model family.

The request and response bodies are the model provider's own JSON (Anthropic's Messages API,
Amazon Nova's messages-v1, Meta Llama's and Mistral's prompt APIs, Cohere's chat and embed), so the
family, read from the model id, picks the readers. Usage comes from the body where the family
reports it, else from the ``x-amzn-bedrock-*-token-count`` headers Bedrock adds to every answer;
a stream's last chunk carries Bedrock's ``amazon-bedrock-invocationMetrics``, read first.

The response ``body`` is a ``StreamingBody`` the caller reads once: it is read here and replaced
by a body of the same class over the same bytes, so the caller still reads everything.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from llm_otel.providers._read import Reader, integer, number, request_reader, strings
from llm_otel.telemetry import Outcome
from llm_otel.telemetry import _names as n

from ._read import RequestReader, nested, reasons, request_id, set_usage

Body = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Family:
    """How one model family's bodies read: request parameters, usage and stop reason, stream chunks."""

    operation: str
    request: RequestReader
    body: Callable[[Body, Outcome], None]
    #: The stop reason a stream chunk carries, else None.
    chunk_reason: Callable[[Body], Any]


def _get(*path: str) -> Callable[[Body], Any]:
    def get(body: Body) -> Any:
        value: Any = body
        for key in path:
            value = value.get(key) if type(value) is dict else None
        return value

    return get


def _first_output(key: str) -> Callable[[Body], Any]:
    """A key of ``outputs[0]`` (Mistral's one completion per request)."""

    def get(body: Body) -> Any:
        outputs = body.get("outputs")
        first = outputs[0] if type(outputs) is list and outputs else None
        return first.get(key) if type(first) is dict else None

    return get


def _reading(
    input_key: str | None, output_key: str | None, reason: Callable[[Body], Any]
) -> Callable[[Body, Outcome], None]:
    """A body reader of top-level token counts (or none) and a stop reason."""

    def read(body: Body, outcome: Outcome) -> None:
        if input_key is not None and output_key is not None:
            outcome.input_tokens = integer(body.get(input_key))
            outcome.output_tokens = integer(body.get(output_key))
        outcome.finish_reasons = reasons(reason(body))

    return read


_ANTHROPIC_USAGE = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
_NOVA_USAGE = ("inputTokens", "outputTokens", "cacheReadInputTokenCount", "cacheWriteInputTokenCount")
_METRICS_USAGE = ("inputTokenCount", "outputTokenCount", "cacheReadInputTokenCount", "cacheWriteInputTokenCount")


def _anthropic(body: Body, outcome: Outcome) -> None:
    set_usage(outcome, body.get("usage"), _ANTHROPIC_USAGE)
    outcome.finish_reasons = reasons(body.get("stop_reason"))


def _nova(body: Body, outcome: Outcome) -> None:
    set_usage(outcome, body.get("usage"), _NOVA_USAGE)
    outcome.finish_reasons = reasons(body.get("stopReason"))


_TEMPERATURE: Reader = ("temperature", n.REQUEST_TEMPERATURE, number)


def _prompt_api(max_tokens: str, top_p: str, stop: str, top_k: str | None = None) -> RequestReader:
    readers: tuple[Reader, ...] = (
        (max_tokens, n.REQUEST_MAX_TOKENS, integer),
        _TEMPERATURE,
        (top_p, n.REQUEST_TOP_P, number),
        (stop, n.REQUEST_STOP_SEQUENCES, strings),
    )
    return request_reader((*readers, (top_k, n.REQUEST_TOP_K, integer)) if top_k else readers)


def _nothing(_body: Body) -> None:
    return None


ANTHROPIC = Family(
    n.OP_CHAT, _prompt_api("max_tokens", "top_p", "stop_sequences", "top_k"), _anthropic, _get("delta", "stop_reason")
)
NOVA = Family(
    n.OP_CHAT,
    nested(
        "inferenceConfig",
        (
            ("max_new_tokens", n.REQUEST_MAX_TOKENS, integer),
            _TEMPERATURE,
            ("top_p", n.REQUEST_TOP_P, number),
            ("top_k", n.REQUEST_TOP_K, integer),
            ("stopSequences", n.REQUEST_STOP_SEQUENCES, strings),
        ),
    ),
    _nova,
    _get("messageStop", "stopReason"),
)
_llama_reason = _get("stop_reason")
LLAMA = Family(
    n.OP_TEXT_COMPLETION,
    request_reader((("max_gen_len", n.REQUEST_MAX_TOKENS, integer), _TEMPERATURE, ("top_p", n.REQUEST_TOP_P, number))),
    _reading("prompt_token_count", "generation_token_count", _llama_reason),
    _llama_reason,
)
_mistral_reason = _first_output("stop_reason")
MISTRAL = Family(
    n.OP_TEXT_COMPLETION,
    _prompt_api("max_tokens", "top_p", "stop", "top_k"),
    _reading(None, None, _mistral_reason),
    _mistral_reason,
)
_cohere_reason = _get("finish_reason")
COHERE = Family(
    n.OP_CHAT,
    _prompt_api("max_tokens", "p", "stop_sequences", "k"),
    _reading(None, None, _cohere_reason),
    _cohere_reason,
)
EMBEDDINGS = Family(n.OP_EMBEDDINGS, request_reader(()), _reading(None, None, _nothing), _nothing)
OTHER = Family(n.OP_CHAT, request_reader(()), _reading(None, None, _nothing), _nothing)

# Inference profiles prefix the model id with a geography (``us.anthropic.claude-...``).
_GEOGRAPHIES = frozenset({"us", "eu", "apac", "global", "us-gov", "jp", "au", "ca"})
_FAMILIES = {"anthropic": ANTHROPIC, "meta": LLAMA, "mistral": MISTRAL, "cohere": COHERE}


def family(model: str | None) -> Family:
    """The family of a model id, an inference profile's id, or the ARN of either."""
    if not model:
        return OTHER
    name = model.rpartition("/")[2]  # arn:aws:bedrock:<region>::foundation-model/<id>
    vendor, _, rest = name.partition(".")
    if vendor in _GEOGRAPHIES:
        vendor, _, rest = rest.partition(".")
    if "embed" in rest:
        return EMBEDDINGS
    if vendor == "amazon":
        return NOVA if rest.startswith("nova") else OTHER
    return _FAMILIES.get(vendor, OTHER)


def read_invoke_request(read: RequestReader) -> RequestReader:
    """A request reader of ``invoke_model``'s JSON ``body`` (bytes or text; a file is left unread)."""

    def read_body(params: Mapping[str, Any]) -> Any:
        body = params.get("body")
        if not isinstance(body, (bytes, bytearray, str)):
            return {}
        parsed = json.loads(body)
        return read(parsed) if type(parsed) is dict else {}

    return read_body


class _Failed:
    """A raw stream whose read raises what reading the original body raised, for the caller to see."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def read(self, *_args: Any) -> bytes:
        raise self.error

    def close(self) -> None:
        """Nothing is left to release: the original body's connection is gone."""


def _replace_body(result: dict[str, Any], outcome: Outcome) -> bytes | None:
    """Read the response's ``StreamingBody`` and put an identical, unread one in its place."""
    body: Any = result.get("body")
    kind: Any = type(body)
    if kind.__name__ != "StreamingBody":
        return None
    try:
        data: bytes = body.read()
    except Exception as err:  # botocore's: the caller's own read() raises it, and the call failed
        result["body"] = kind(_Failed(err), None)
        outcome.error = err
        return None
    result["body"] = kind(io.BytesIO(data), len(data))
    return data


_HEADER_USAGE: tuple[str, str, str, str] = (
    "x-amzn-bedrock-input-token-count",
    "x-amzn-bedrock-output-token-count",
    "x-amzn-bedrock-cache-read-input-token-count",
    "x-amzn-bedrock-cache-write-input-token-count",
)


def _header_usage(result: dict[str, Any], outcome: Outcome) -> None:
    """The token counts of the headers, when the body reported none (Mistral's, Cohere's...)."""
    headers = (result.get("ResponseMetadata") or {}).get("HTTPHeaders")
    if type(headers) is not dict or outcome.input_tokens is not None or outcome.output_tokens is not None:
        return
    counts = {
        key: int(value) for key in _HEADER_USAGE if isinstance(value := headers.get(key), str) and value.isdigit()
    }
    set_usage(outcome, counts, _HEADER_USAGE)


def invoke_response(kind: Family) -> Callable[[Any, bool], Outcome]:
    """The response reader of ``invoke_model`` for one family."""

    def read(result: Any, recording: bool) -> Outcome:
        outcome = Outcome()
        if type(result) is not dict:
            return outcome
        data = _replace_body(result, outcome)
        if data is not None and "json" in str(result.get("contentType", "")):
            body = json.loads(data)
            if type(body) is dict:
                kind.body(body, outcome)
        _header_usage(result, outcome)
        if recording:
            outcome.response_id = request_id(result)
        return outcome

    return read


_METRICS = "amazon-bedrock-invocationMetrics"


class InvokeChunks:
    """``invoke_model_with_response_stream``'s ``{"chunk": {"bytes": ...}}`` events: the family's
    stop reason, and the usage of Bedrock's metrics on the last chunk."""

    __slots__ = ("kind", "metrics", "reason", "request_id")

    def __init__(self, kind: Family, request: str | None) -> None:
        self.kind = kind
        self.request_id = request
        self.reason: Any = None
        self.metrics: Any = None

    def add(self, event: Any) -> bool:
        chunk = event.get("chunk")
        data = chunk.get("bytes") if chunk is not None else None
        if data:
            body = json.loads(data)
            if type(body) is dict:
                reason = self.kind.chunk_reason(body)
                if reason is not None:
                    self.reason = reason
                metrics = body.get(_METRICS)
                if metrics is not None:
                    self.metrics = metrics
        return False

    def outcome(self) -> Outcome:
        outcome = Outcome()
        outcome.response_id = self.request_id
        set_usage(outcome, self.metrics, _METRICS_USAGE)
        outcome.finish_reasons = reasons(self.reason)
        return outcome
