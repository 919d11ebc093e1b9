"""The price table: USD per million tokens by provider and model, from the shipped file and the user's.

Prices are looked up by ``gen_ai.provider.name`` and a model name normalised step by step (provider
prefix, cloud region and version, dated snapshot): the first step that names a priced model wins,
so a dated snapshot priced differently from its family (``gpt-4o-2024-05-13``) can be listed as
such. A model is looked up in its provider's table first, then in every table in file order, so an
OpenAI-compatible host we do not know still finds ``gpt-4o``. A model found nowhere has no price:
the call records no cost rather than a guessed one.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from llm_otel._log import logger, warn_once

ENV_FILE = "LLM_OTEL_PRICING_FILE"
_MILLION = 1_000_000  # the table is per million tokens
_CACHE_MAX = 1024
_UNPRICED_LOGGED_MAX = 20
_MISSING = object()

# Normalisation steps, each tried in turn (see _candidates).
_REGION = re.compile(r"^(us|eu|apac|global|us-gov|ca|jp|au)\.(?=[a-z]+\.)")  # Bedrock cross-region profiles
_VERSION = re.compile(r"-v\d+(:\d+)?$")  # Bedrock model versions (-v1:0), Vertex -v2
_DATE = re.compile(r"[-@](\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|\d{2}-\d{2})$")  # dated snapshots
_SUFFIX = re.compile(r"-(preview|latest|exp)$")
_VENDOR = re.compile(r"^[a-z]+\.(?=[a-z])")  # Bedrock's vendor prefix (anthropic.claude-...)


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens. Cached input defaults to the input rate, reasoning to the output rate.

    Example::

        Price(input=2.5, output=10.0, cache_read=1.25)
    """

    input: float
    output: float = 0.0
    cache_read: float | None = None
    cache_write: float | None = None
    reasoning: float | None = None

    def __post_init__(self) -> None:
        for name in ("input", "output", "cache_read", "cache_write", "reasoning"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or value < 0):
                raise ValueError(f"Price.{name} must be a number >= 0, got {value!r}")

    def per_token(self) -> tuple[float, float, float, float, float]:
        """USD per token of: uncached input, cache read, cache write, non-reasoning output, reasoning."""
        cache_read = self.input if self.cache_read is None else self.cache_read
        cache_write = self.input if self.cache_write is None else self.cache_write
        reasoning = self.output if self.reasoning is None else self.reasoning
        return (
            self.input / _MILLION,
            cache_read / _MILLION,
            cache_write / _MILLION,
            self.output / _MILLION,
            reasoning / _MILLION,
        )


PerToken = tuple[float, float, float, float, float]
PriceInput = Price | Mapping[str, float]


def _price(value: PriceInput) -> Price:
    if isinstance(value, Price):
        return value
    known = {"input", "output", "cache_read", "cache_write", "reasoning"}
    unknown = sorted(set(value) - known)
    if unknown:
        raise ValueError(f"unknown price fields {', '.join(unknown)}; use {', '.join(sorted(known))}")
    return Price(**value)


def _candidates(model: str) -> Iterator[str]:
    name = model.strip().lower().rpartition("/")[2]  # openai/gpt-4o, models/gemini-2.5-pro
    yield name
    name = _VERSION.sub("", _REGION.sub("", name))
    yield name
    name = _VERSION.sub("", _DATE.sub("", name))
    yield name
    name = _SUFFIX.sub("", name)
    yield name
    yield _VENDOR.sub("", name)


class PriceTable:
    """Provider -> model -> price, with user aliases (deployment names) and a bounded lookup cache."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tables: dict[str, dict[str, PerToken]] = {}
        self._shared: dict[str, str] = {}  # provider -> provider whose table it uses (azure.ai.openai -> openai)
        self._aliases: dict[str, str] = {}
        self._cache: dict[tuple[str, str], PerToken | None] = {}
        self._unpriced_logged: set[tuple[str, str]] = set()
        self.effective_date: str | None = None

    def load(self, data: Mapping[str, Any]) -> None:
        """Merge a pricing document (the shipped file's schema) into the table."""
        providers = data.get("providers", {})
        aliases = data.get("aliases", {})
        if not isinstance(providers, Mapping) or not isinstance(aliases, Mapping):
            raise ValueError("'providers' and 'aliases' must be JSON objects")
        # Parse everything before changing anything: a bad entry leaves the table as it was.
        parsed = {
            str(provider): {
                str(model).lower(): _price(price).per_token() for model, price in entry.get("models", {}).items()
            }
            for provider, entry in providers.items()
        }
        shared = {str(other): str(provider) for provider, entry in providers.items() for other in entry.get("also", ())}
        with self._lock:
            for provider, models in parsed.items():
                self._tables.setdefault(provider, {}).update(models)
            self._shared.update(shared)
            self._aliases.update({str(k): str(v) for k, v in aliases.items()})
            if "effective_date" in data:
                self.effective_date = str(data["effective_date"])
            self._cache = {}

    def update(self, prices: Mapping[str, Mapping[str, PriceInput]], aliases: Mapping[str, str]) -> None:
        """Add or replace prices (provider -> model -> Price) and model aliases."""
        self.load(
            {
                "providers": {provider: {"models": models} for provider, models in prices.items()},
                "aliases": aliases,
            }
        )

    def clear(self) -> None:
        with self._lock:
            self._tables = {}
            self._shared = {}
            self._aliases = {}
            self._cache = {}
            self.effective_date = None

    def per_token(self, provider: str, model: str) -> PerToken | None:
        """USD per token of each part for this call's model, or None when the model has no price."""
        key = (provider, model)
        cache = self._cache
        found = cache.get(key, _MISSING)
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        found = self._find(provider, model)
        if len(cache) >= _CACHE_MAX:
            cache.clear()  # a burst of distinct names must not grow the cache without bound
        cache[key] = found
        return found

    def _find(self, provider: str, model: str) -> PerToken | None:
        model = self._aliases.get(model, model)
        own = self._tables.get(self._shared.get(provider, provider), {})
        tables = self._tables.values()
        for step in _candidates(model):
            candidate = self._aliases.get(step, step)
            found = own.get(candidate)
            if found is not None:
                return found
            for table in tables:
                found = table.get(candidate)
                if found is not None:
                    return found
        return None

    def report_unpriced(self, provider: str, model: str) -> None:
        """Log a model without a price, once; after 20 such models, once that there are more."""
        key = (provider, model)
        logged = self._unpriced_logged
        if key in logged or len(logged) > _UNPRICED_LOGGED_MAX:
            return
        with self._lock:
            if key in logged or len(logged) > _UNPRICED_LOGGED_MAX:
                return
            logged.add(key)
        if len(logged) <= _UNPRICED_LOGGED_MAX:
            logger.warning(
                "llm-otel: no price for model %r (provider %s); its calls record no cost. "
                "Add it with llm_otel.set_prices() or the file named by %s.",
                model,
                provider,
                ENV_FILE,
            )
        else:
            logger.warning("llm-otel: more models without a price; they are no longer logged one by one")


def _read(path: str | os.PathLike[str]) -> Mapping[str, Any]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, Mapping):
        raise ValueError("a pricing file must hold a JSON object")
    return data


def _default_table() -> PriceTable:
    table = PriceTable()
    table.load(json.loads(resources.files(__package__).joinpath("pricing.json").read_text(encoding="utf-8")))
    path = os.environ.get(ENV_FILE, "").strip()
    if path:
        try:
            table.load(_read(path))
        except (OSError, ValueError, TypeError, AttributeError) as err:
            warn_once(f"env:{ENV_FILE}", "llm-otel: ignoring the pricing file %s=%r (%s)", ENV_FILE, path, err)
    return table


prices = _default_table()


def set_prices(
    models: Mapping[str, Mapping[str, PriceInput]] | None = None,
    *,
    aliases: Mapping[str, str] | None = None,
    file: str | os.PathLike[str] | None = None,
    replace: bool = False,
) -> None:
    """Override or extend the price table (USD per million tokens), in code or from a JSON file.

    ``models`` maps a provider name (``gen_ai.provider.name``; any name works for a model no
    provider table lists) to model names and prices; ``aliases`` maps a name the application uses
    (an Azure deployment, a proxy's alias) to the model it stands for; ``file`` is a JSON document
    in the shipped ``pricing.json`` schema, as ``LLM_OTEL_PRICING_FILE`` names one at start-up;
    ``replace=True`` drops every price first, the shipped ones included. Raises ``ValueError`` on
    a malformed price. Example::

        llm_otel.set_prices(
            {"openai": {"ft:gpt-4o-mini:acme": {"input": 0.3, "output": 1.2, "cache_read": 0.15}}},
            aliases={"prod-chat": "gpt-4o"},
        )
    """
    if replace:
        prices.clear()
    if file is not None:
        prices.load(_read(file))
    if models or aliases:
        prices.update(models or {}, aliases or {})
