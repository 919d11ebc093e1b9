"""Google's Gemini API and Vertex AI's Gemini endpoints: generate, stream, embed.

The paths are Google's custom methods on the model's resource name, as the google-genai SDK sends
them from ``http_options={"base_url": provider.url}``: ``/{version}/models/{model}:generateContent``
for the Gemini API (``v1beta``, and ``v1`` the SDK's default since 2.x), and for Vertex AI
``/{version}/publishers/google/models/{model}:...`` (express mode, an API key) or
``/{version}/projects/{project}/locations/{location}/publishers/google/models/{model}:...``.
Bodies follow the REST API field for field (camelCase): ``candidates`` with ``content.parts`` and a
``finishReason`` (``STOP``, ``MAX_TOKENS``), ``usageMetadata`` (``promptTokenCount``,
``candidatesTokenCount`` without the thoughts, ``thoughtsTokenCount``, ``cachedContentTokenCount``),
``modelVersion`` and ``responseId``. ``:streamGenerateContent?alt=sse`` answers SSE ``data:`` chunks
with no terminator, every chunk carrying the usage so far (the last one the whole call's). Errors are
``{"error": {"code", "message", "status"}}``, also as a chunk of a stream that already started.
Embeddings: ``:batchEmbedContents`` (the Gemini API's, which reports no usage) and ``:embedContent``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from ._model import (
    Draft,
    Usage,
    count_words,
    draft,
    embedding_vector,
    fragments,
    json_mode_pieces,
    random_id,
    tool_arguments,
    usage,
)
from ._openai_common import limit_of
from ._schema import SchemaError, instance_json
from ._wire import Handler, JSONReply, SSEEvent, SSEReply, WireError, WireRequest

_VERSIONS = ("v1beta", "v1", "v1beta1")
_RESOURCES = (
    "models/{model}",
    "publishers/google/models/{model}",
    "projects/{project}/locations/{location}/publishers/google/models/{model}",
)
_EMBEDDING_DIMENSIONS = 8
# status per HTTP code (google.rpc.Code names), with the live API's usual message.
_STATUS: dict[int, tuple[str, str]] = {
    400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    401: ("UNAUTHENTICATED", "Request had invalid authentication credentials."),
    403: ("PERMISSION_DENIED", "Method doesn't allow unregistered callers."),
    404: ("NOT_FOUND", "models/unknown is not found for API version v1beta."),
    429: ("RESOURCE_EXHAUSTED", "You exceeded your current quota, please check your plan and billing details."),
    500: ("INTERNAL", "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"),
    503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    504: ("DEADLINE_EXCEEDED", "Deadline expired before operation could complete."),
}  # fmt: skip


class GeminiWireFormat:
    """Gemini's REST API (and Vertex AI's) on the same port as the others."""

    name = "gemini"

    @property
    def routes(self) -> Mapping[tuple[str, str], Handler]:
        """Every method under every version and resource layout."""
        handlers: dict[str, Handler] = {
            "generateContent": generate,
            "streamGenerateContent": stream_generate,
            "embedContent": embed,
            "batchEmbedContents": batch_embed,
        }
        return {
            ("POST", f"/{version}/{resource}:{verb}"): handler
            for version in _VERSIONS
            for resource in _RESOURCES
            for verb, handler in handlers.items()
        }

    def error_reply(self, req: WireRequest, error: WireError) -> JSONReply:
        """``{"error": {"code", "message", "status"}}``."""
        return JSONReply(error_object(error.status, error.message), status=error.status)

    def response_headers(self, req: WireRequest, status: int) -> dict[str, str]:
        """Google's front ends send no request id or rate-limit headers, only the server's timing."""
        return {"server-timing": "gfet4t7; dur=1"}


GEMINI = GeminiWireFormat()


def error_object(status: int, message: str = "") -> dict[str, Any]:
    """The error body of ``status``, or of an error sent inside a stream."""
    kind, default = _STATUS.get(status, ("INTERNAL" if status >= 500 else "FAILED_PRECONDITION", "Request failed."))
    return {"error": {"code": status, "message": message or default, "status": kind}}


def _body(req: WireRequest) -> dict[str, Any]:
    if not isinstance(req.body, dict):
        raise WireError(400, "Invalid JSON payload received.")
    return req.body


def _texts(content: Any) -> list[str]:
    parts = content.get("parts") if isinstance(content, dict) else None
    return [part["text"] for part in parts or () if isinstance(part, dict) and isinstance(part.get("text"), str)]


def _lowered(schema: Any) -> Any:
    """A Gemini ``Schema`` (``"type": "OBJECT"``) as JSON Schema (``"type": "object"``)."""
    if isinstance(schema, dict):
        return {
            key: value.lower() if key == "type" and isinstance(value, str) else _lowered(value)
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_lowered(item) for item in schema]
    return schema


def _tool(body: Mapping[str, Any]) -> tuple[str, str]:
    for tool in body.get("tools") or ():
        for declaration in tool.get("functionDeclarations") or () if isinstance(tool, dict) else ():
            if isinstance(declaration, dict) and isinstance(declaration.get("name"), str):
                schema = declaration.get("parametersJsonSchema") or _lowered(declaration.get("parameters"))
                try:
                    return declaration["name"], tool_arguments(schema)
                except SchemaError as exc:
                    raise WireError(400, f"Invalid function declaration: {exc}") from None
    raise WireError(400, "Behavior.tool_call needs a function declaration in the request's `tools`.")


def _structured(config: Mapping[str, Any], req: WireRequest) -> tuple[str, ...] | None:
    if config.get("responseMimeType") != "application/json":
        return None
    schema = config.get("responseJsonSchema") or _lowered(config.get("responseSchema"))
    if not isinstance(schema, dict):
        return json_mode_pieces(req.behavior)
    try:
        return fragments(instance_json(schema))
    except SchemaError as exc:
        raise WireError(400, f"Invalid response schema: {exc}") from None


def _drafts(req: WireRequest) -> tuple[list[Draft], Usage, str]:
    body = _body(req)
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise WireError(400, "* GenerateContentRequest.contents: contents is not specified")
    given = body.get("generationConfig")
    config: dict[str, Any] = given if isinstance(given, dict) else {}
    limit = limit_of(config, "maxOutputTokens")
    count = config.get("candidateCount")
    count = count if isinstance(count, int) and count > 0 else 1
    tool = _tool(body) if req.behavior.tool_call else (None, "{}")
    structured = _structured(config, req)
    drafts = [
        draft(req.behavior, limit=limit, variant=i, tool_name=tool[0], arguments=tool[1], structured=structured)
        for i in range(count)
    ]
    prompt = count_words(text for content in (*contents, body.get("systemInstruction")) for text in _texts(content))
    return drafts, usage(req.behavior, prompt, drafts), req.params.get("model", "")


def _usage(u: Usage, visible: int) -> dict[str, Any]:
    """``usageMetadata`` with ``visible`` candidate tokens generated so far (all of them at the end)."""
    body: dict[str, Any] = {
        "promptTokenCount": u.input_tokens,
        "candidatesTokenCount": visible,
        "totalTokenCount": u.input_tokens + visible + u.reasoning_tokens,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": u.input_tokens}],
    }
    if u.cached_tokens:
        body["cachedContentTokenCount"] = u.cached_tokens
        body["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": u.cached_tokens}]
    if u.reasoning_tokens:
        body["thoughtsTokenCount"] = u.reasoning_tokens
    return body


def _finish(d: Draft) -> str:
    # A function call ends with STOP: Gemini has no finish reason of its own for it.
    return "MAX_TOKENS" if d.cut else "STOP"


def _parts(d: Draft, text: str) -> list[dict[str, Any]]:
    if d.tool:
        return [{"functionCall": {"name": d.tool.name, "args": json.loads(d.tool.arguments)}}]
    return [{"text": text}]


def _candidate(index: int, d: Draft, text: str, finished: bool) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": _parts(d, text), "role": "model"}, "index": index}
    if finished:
        candidate["finishReason"] = _finish(d)
    return candidate


def generate(req: WireRequest) -> JSONReply:
    """``:generateContent``."""
    drafts, u, model = _drafts(req)
    candidates = [_candidate(i, d, d.text, finished=True) for i, d in enumerate(drafts)]
    visible = u.output_tokens - u.reasoning_tokens
    head = {"modelVersion": model, "responseId": random_id(22)}
    return JSONReply({"candidates": candidates, "usageMetadata": _usage(u, visible), **head})


def stream_generate(req: WireRequest) -> SSEReply:
    """``:streamGenerateContent?alt=sse``: a chunk per generated piece (a function call whole)."""
    drafts, u, model = _drafts(req)
    return SSEReply(
        _chunks(drafts, u, {"modelVersion": model, "responseId": random_id(22)}),
        error_events=lambda _sent: [SSEEvent(error_object(500), paced=False)],
    )


def _chunks(drafts: list[Draft], u: Usage, head: dict[str, Any]) -> Iterator[SSEEvent]:
    lengths = [1 if d.tool else max(d.tokens, 1) for d in drafts]
    visible = 0
    for position in range(max(lengths)):
        candidates = []
        for i, d in enumerate(drafts):
            if position < lengths[i]:
                visible += 0 if position >= d.tokens else 1
                text = d.pieces[position] if position < d.tokens else ""
                candidates.append(_candidate(i, d, text, finished=position == lengths[i] - 1))
        yield SSEEvent({"candidates": candidates, "usageMetadata": _usage(u, visible), **head})


def _dimensions(config: Mapping[str, Any]) -> int:
    dimensions = config.get("outputDimensionality", _EMBEDDING_DIMENSIONS)
    if not isinstance(dimensions, int) or dimensions < 1:
        raise WireError(400, "* EmbedContentRequest.output_dimensionality: must be positive")
    return dimensions


def _embedding(content: Any, dimensions: int) -> dict[str, Any]:
    texts = _texts(content)
    if not texts:
        raise WireError(400, "* EmbedContentRequest.content: contents is not specified")
    return {"values": embedding_vector(" ".join(texts), dimensions)}


def embed(req: WireRequest) -> JSONReply:
    """``:embedContent``: one content, one vector."""
    body = _body(req)
    return JSONReply({"embedding": _embedding(body.get("content"), _dimensions(body))})


def batch_embed(req: WireRequest) -> JSONReply:
    """``:batchEmbedContents``: a vector per request, in order; the Gemini API reports no usage."""
    requests = _body(req).get("requests")
    if not isinstance(requests, list) or not requests:
        raise WireError(400, "* BatchEmbedContentsRequest.requests: requests is not specified")
    embeddings = [
        _embedding(item.get("content"), _dimensions(item)) if isinstance(item, dict) else _embedding(None, 1)
        for item in requests
    ]
    return JSONReply({"embeddings": embeddings})
