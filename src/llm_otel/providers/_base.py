"""What every provider instrumentor shares: patching declared methods, deferred until import."""

from __future__ import annotations

import importlib
import os
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

import wrapt
from opentelemetry.instrumentation.dependencies import get_dependency_conflicts
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.trace import Span, TracerProvider

from llm_otel._log import internal_error, logger
from llm_otel.telemetry import (
    Operation,
    Route,
    Telemetry,
    async_wrapper,
    defer_to_frameworks,
    manager_wrapper,
    request_wrapper,
    sync_wrapper,
)
from llm_otel.telemetry import _names as n

FRAMEWORK_SPANS_ENV = "LLM_OTEL_FRAMEWORK_SPANS"


def is_ours(span: Span) -> bool:
    """Whether a span is one of our call spans (SDKs that trace themselves defer to it)."""
    scope = getattr(span, "instrumentation_scope", None)
    return getattr(scope, "name", None) == n.INSTRUMENTATION_SCOPE


def option(config: dict[str, Any], name: str, env: str) -> bool:
    """A yes/no instrumentor option: given to ``instrument()``, else from the environment variable."""
    given = config.get(name)
    if given is not None:
        return bool(given)
    return (os.environ.get(env) or "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True, slots=True)
class Patch:
    """One SDK method to wrap: ``target`` ("Class.method") found through ``module``.

    ``operation`` None marks a method returning a stream manager (see ``manager_wrapper``), or,
    with ``route``, the SDK's low-level request method (see ``request_wrapper``).
    """

    module: str
    target: str
    operation: Operation | None
    is_async: bool = False
    route: Route | None = None


class ProviderInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Base of every provider instrumentor: the provider only lists its patches.

    Patching waits for the SDK's import (a post-import hook), so instrumenting first and
    importing the SDK later works, and an SDK that is never imported costs nothing.
    """

    #: The distribution requirement, e.g. ``"openai >= 1.66"``.
    requirement: str
    #: The SDK's top-level modules, whose import triggers patching: one, or one per package layout
    #: when releases moved the SDK, since importing a namespace package (``mistralai`` 2.x) runs no hook.
    root_modules: tuple[str, ...]
    #: Other packages' instrumentor entry points that may run beside this one and still give a call
    #: one span (``llm-otel doctor`` does not warn of them).
    coexisting: tuple[str, ...] = ()

    # BaseInstrumentor makes one instance per class and calls __init__ on every construction,
    # so state lives in class-level defaults replaced per instance, never reset by __init__.
    _telemetry: Telemetry | None = None
    _config: dict[str, Any] = {}  # noqa: RUF012
    _patched: tuple[tuple[Any, str], ...] = ()

    def instrumentation_dependencies(self) -> Collection[str]:
        return (self.requirement,)

    def instrument(self, **kwargs: Any) -> None:
        """Instrument the SDK; a quiet no-op when it is absent or outside the supported range."""
        if not kwargs.get("skip_dep_check") and get_dependency_conflicts([self.requirement]) is not None:
            logger.debug("llm-otel: %s not installed or unsupported; not instrumenting", self.requirement)
            return
        super().instrument(**kwargs)

    def patches(self, config: dict[str, Any]) -> Iterable[Patch]:
        """The methods to wrap, for this configuration."""
        raise NotImplementedError

    def _instrument(self, **kwargs: Any) -> None:
        self._config = kwargs
        self._telemetry = self._make_telemetry(kwargs.get("tracer_provider"))
        # Runs at once when the SDK is already imported, else right after its import.
        for module in self.root_modules:
            wrapt.register_post_import_hook(self._apply, module)

    def _make_telemetry(self, tracer_provider: TracerProvider | None) -> Telemetry:
        """What the wrappers record into; ``framework_spans`` defers to frameworks' own spans."""
        meter_provider = self._config.get("meter_provider")
        telemetry = Telemetry(tracer_provider, meter_provider)
        if option(self._config, "framework_spans", FRAMEWORK_SPANS_ENV):
            defer_to_frameworks(telemetry, meter_provider)
        return telemetry

    def _apply(self, _module: object) -> None:
        # Runs inside the application's ``import``: a failure here must not fail the import.
        try:
            self._patch_all()
        except Exception as err:
            internal_error("patching", err)

    def _patch_all(self) -> None:
        telemetry = self._telemetry
        if telemetry is None:  # uninstrumented before the SDK was imported
            return
        done = {(id(owner), name) for owner, name in self._patched}
        for patch in self.patches(self._config):
            owner_name, _, method = patch.target.rpartition(".")
            try:
                owner = getattr(importlib.import_module(patch.module), owner_name)
                getattr(owner, method)
            except (ImportError, AttributeError):
                # This SDK version lacks the method; the coverage test guards the other direction.
                continue
            if (id(owner), method) in done:
                continue
            if patch.route is not None:
                wrapper = request_wrapper(telemetry, patch.route, patch.is_async)
            elif patch.operation is None:
                wrapper = manager_wrapper(patch.is_async)
            elif patch.is_async:
                wrapper = async_wrapper(telemetry, patch.operation)
            else:
                wrapper = sync_wrapper(telemetry, patch.operation)
            wrapt.wrap_function_wrapper(owner, method, wrapper)
            self._patched = (*self._patched, (owner, method))
            done.add((id(owner), method))

    def _uninstrument(self, **kwargs: Any) -> None:
        self._telemetry = None
        for owner, method in reversed(self._patched):
            _unwrap(owner, method)
        self._patched = ()


def _unwrap(owner: Any, method: str) -> None:
    """Remove our wrapper of ``owner.method`` wherever it is in the chain of wrappers.

    Another instrumentation may have wrapped the same method over ours (the contrib botocore
    one wraps ``_make_api_call`` too): removing the outermost wrapper, as OpenTelemetry's
    ``unwrap`` does, would remove theirs and leave ours recording.
    """
    outer: Any = None
    current = owner.__dict__.get(method)
    while isinstance(current, wrapt.FunctionWrapper):
        if getattr(current._self_wrapper, "__module__", "").startswith("llm_otel."):
            if outer is None:
                setattr(owner, method, current.__wrapped__)
            else:
                outer.__wrapped__ = current.__wrapped__
            return
        outer, current = current, current.__wrapped__
