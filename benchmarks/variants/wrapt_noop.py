"""The measured methods (create, chat) behind a pass-through wrapt wrapper: the cost of wrapt itself. Global
providers left no-op, as for `bare`.
"""

from __future__ import annotations

from typing import Any

PROVIDERS = ("openai", "anthropic", "ollama")
VENV = "llm-otel"
DISTRIBUTIONS = ("wrapt",)
SET_GLOBALS = False


def instrument(provider: Any, tracer_provider: Any, meter_provider: Any) -> None:
    import wrapt

    def passthrough(wrapped: Any, _instance: Any, args: Any, kwargs: Any) -> Any:
        return wrapped(*args, **kwargs)  # for the async method this returns the coroutine as is

    module, sync_class, async_class = provider.target
    method = provider.method.rpartition(".")[2]
    for target in (sync_class, async_class):
        wrapt.wrap_function_wrapper(module, f"{target}.{method}", passthrough)
