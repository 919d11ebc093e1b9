"""The create methods behind a pass-through wrapt wrapper: the cost of wrapt itself."""

from __future__ import annotations

from typing import Any

VENV = "llm-otel"
DISTRIBUTIONS = ("wrapt",)


def instrument(tracer_provider: Any, meter_provider: Any) -> None:
    import wrapt

    def passthrough(wrapped: Any, _instance: Any, args: Any, kwargs: Any) -> Any:
        return wrapped(*args, **kwargs)  # for the async method this returns the coroutine as is

    for target in ("Completions.create", "AsyncCompletions.create"):
        wrapt.wrap_function_wrapper("openai.resources.chat.completions", target, passthrough)
