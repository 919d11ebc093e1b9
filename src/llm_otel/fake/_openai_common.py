"""Pieces shared by the OpenAI endpoints: error bodies, request checks, tool calls, output formats, usage JSON."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from ._behavior import Behavior
from ._model import Draft, Usage, fragments, json_mode_pieces, tool_arguments
from ._schema import SchemaError, instance_json
from ._wire import SSEEvent, WireError, WireRequest

FINGERPRINT = "fp_llmotelfake"
FINISH = {"stop": "stop", "length": "length", "tool": "tool_calls"}

# type / default message per HTTP status, as the live API words them.
_STATUS_ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("invalid_request_error", "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys."),
    403: ("request_forbidden", "Country, region, or territory not supported."),
    404: ("invalid_request_error", "The model does not exist or you do not have access to it."),
    409: ("invalid_request_error", "The request conflicts with the current state of the resource."),
    422: ("invalid_request_error", "The request could not be processed."),
    429: ("requests", "Rate limit reached for requests. Please try again later."),
    500: ("server_error", "The server had an error while processing your request. Sorry about that!"),
    503: ("server_error", "The engine is currently overloaded, please try again later."),
}  # fmt: skip
_STATUS_CODES = {401: "invalid_api_key", 403: "unsupported_country_region_territory", 404: "model_not_found"}
_STATUS_CODES[429] = "rate_limit_exceeded"
# Some codes carry their own type and message, whatever the status.
_CODE_ERRORS: dict[str, tuple[str, str]] = {
    "insufficient_quota": (
        "insufficient_quota",
        "You exceeded your current quota, please check your plan and billing details.",
    ),
    "context_length_exceeded": (
        "invalid_request_error",
        "This model's maximum context length is 128000 tokens. Please reduce the length of the messages.",
    ),
}
_CODE_PARAMS = {"context_length_exceeded": "messages"}


def error_object(status: int, code: str | None = None, message: str = "", param: str | None = None) -> dict[str, Any]:
    """The inner ``{"message", "type", "param", "code"}`` object of an OpenAI error.

    An injected status (no ``message``) gets the code and wording the live API uses for it.
    """
    if code is None and not message:
        code = _STATUS_CODES.get(status)
    kind, default = _CODE_ERRORS.get(code or "") or _STATUS_ERRORS.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", "Request failed.")
    )
    return {
        "message": message or default,
        "type": kind,
        "param": param if param is not None else _CODE_PARAMS.get(code or ""),
        "code": code,
    }


def request_body(req: WireRequest) -> dict[str, Any]:
    """The JSON object body with a string ``model``, or a 400 like the live API's.

    On a route naming the model (Azure's ``/openai/deployments/{model}/...``), that model
    stands in for a missing ``model`` field.
    """
    body = req.body
    if not isinstance(body, dict):
        raise WireError(400, "The request body must be a JSON object.")
    if "model" not in body and req.params.get("model"):
        body = {**body, "model": req.params["model"]}
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise WireError(400, "you must provide a model parameter", param="model")
    return body


def first_function_tool(tools: object, *, nested: bool) -> tuple[str, str]:
    """Name and example JSON arguments of the first function tool (chat nests it under ``function``)."""
    for tool in tools if isinstance(tools, list) else []:
        if isinstance(tool, dict) and tool.get("type", "function") == "function":
            spec = tool.get("function", {}) if nested else tool
            if isinstance(spec, dict) and isinstance(spec.get("name"), str):
                return spec["name"], _checked(tool_arguments, spec.get("parameters"), "tools")
    raise WireError(400, "Behavior.tool_call needs a function tool in the request's `tools`.", param="tools")


def structured_output(fmt: object, behavior: Behavior, *, nested: bool, param: str) -> tuple[str, ...] | None:
    """The JSON reply that an output format asks for, in pieces of one token; None for plain text.

    ``fmt`` is chat's ``response_format`` (``nested``: the schema sits under ``json_schema``)
    or the Responses API's ``text.format`` (the schema sits in the format itself).
    """
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "json_object":
        return json_mode_pieces(behavior)
    if kind != "json_schema":
        return None
    holder = fmt.get("json_schema") if nested and isinstance(fmt, dict) else fmt
    if not isinstance(holder, dict):
        raise WireError(400, f"Missing required parameter: '{param}.json_schema'.", param=f"{param}.json_schema")
    if not isinstance(holder.get("schema"), dict):  # the schema is optional: then any JSON object will do
        return json_mode_pieces(behavior)
    return fragments(_checked(instance_json, holder["schema"], param))


def _checked(build: Callable[[object], str], schema: object, param: str) -> str:
    try:
        return build(schema)
    except SchemaError as exc:
        raise WireError(400, f"Invalid schema: {exc}", param=param) from None


def limit_of(body: Mapping[str, Any], *names: str) -> int | None:
    """The first of the max-tokens parameters ``names`` that is set."""
    for name in names:
        if isinstance(body.get(name), int):
            return int(body[name])
    return None


def choice_count(body: Mapping[str, Any]) -> int:
    """The ``n`` parameter (1 when absent or invalid)."""
    n = body.get("n")
    return n if isinstance(n, int) and n > 0 else 1


def include_usage(body: Mapping[str, Any]) -> bool:
    """Whether a stream must end with a usage chunk (``stream_options.include_usage``)."""
    options = body.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


def now() -> int:
    """Unix time in whole seconds, as the API's ``created`` fields."""
    return int(time.time())


def completion_usage(u: Usage, *, details: bool = True) -> dict[str, Any]:
    """``CompletionUsage`` JSON (legacy completions omit the details, as the live API does)."""
    body: dict[str, Any] = {
        "prompt_tokens": u.input_tokens,
        "completion_tokens": u.output_tokens,
        "total_tokens": u.total_tokens,
    }
    if details:
        body["prompt_tokens_details"] = {"cached_tokens": u.cached_tokens, "audio_tokens": 0}
        body["completion_tokens_details"] = {
            "reasoning_tokens": u.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        }
    return body


def finish_reason(d: Draft) -> str:
    """``stop``, ``length`` or ``tool_calls``."""
    return FINISH["tool" if d.tool else "length" if d.cut else "stop"]


def stream_error(req: WireRequest) -> list[SSEEvent]:
    """The in-stream error of chat and legacy completions: the error envelope as a data line."""
    return [SSEEvent({"error": error_object(500, req.behavior.error_code)}, paced=False)]
