"""The price table: USD per million tokens by provider and model, from the shipped file and the user's.

Prices are looked up by ``gen_ai.provider.name`` and a model name normalised step by step (provider
prefix, version, dated snapshot, cloud region): the first step that names a priced model wins, so a
dated snapshot or a Bedrock regional profile priced differently from its family (``gpt-4o-2024-05-13``,
``us.anthropic.claude-opus-4-5``) can be listed as such. A model is looked up in its provider's
table first, through every step, then in every table in file order, so an OpenAI-compatible host
we do not know still finds ``gpt-4o``, unless its provider has a ``"*"`` price for every model
(Ollama's local models cost 0). A model found nowhere has no price: the call records no cost
rather than a guessed one. A price may have tiers by prompt length (long context): a tier's rates
apply to the whole call when its input tokens exceed the tier's threshold.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

from llm_otel._log import logger, warn_once

ENV_FILE = "LLM_OTEL_PRICING_FILE"
_MILLION = 1_000_000  # the table is per million tokens
_CACHE_MAX = 1024
_UNPRICED_LOGGED_MAX = 20
_RATES = ("input", "output", "cache_read", "cache_write", "reasoning")
ANY_MODEL = "*"  # a provider's price for every model its table does not name

# Normalisation steps, each tried in turn (see _candidates).
_REGION = re.compile(r"^(us|eu|apac|global|us-gov|ca|jp|au)\.(?=[a-z]+\.)")  # Bedrock cross-region profiles
_VERSION = re.compile(r"-v\d+(:\d+)?$")  # Bedrock model versions (-v1:0), Vertex -v2
_DATE = re.compile(r"[-@](\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|\d{2}-\d{2})$")  # dated snapshots
_SUFFIX = re.compile(r"-(preview|latest|exp)$")
_VENDOR = re.compile(r"^[a-z]+\.(?=[a-z])")  # Bedrock's vendor prefix (anthropic.claude-...)


def _check_rate(owner: str, name: str, value: object) -> None:
    # bool is an int, and NaN or inf would turn every sum they enter into NaN or inf.
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0
    ):
        raise ValueError(f"{owner}.{name} must be a finite number >= 0, got {value!r}")


@dataclass(frozen=True, slots=True)
class PriceTier:
    """The rates of a :class:`Price` for a call whose input tokens exceed ``above`` (long context).

    A rate left out keeps the price's own. Example::

        PriceTier(above=200_000, input=6.0, output=22.5)
    """

    above: int
    input: float | None = None
    output: float | None = None
    cache_read: float | None = None
    cache_write: float | None = None
    reasoning: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.above, bool) or not isinstance(self.above, int) or self.above <= 0:
            raise ValueError(f"PriceTier.above must be a whole number of input tokens > 0, got {self.above!r}")
        for name in _RATES:
            _check_rate("PriceTier", name, getattr(self, name))


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens. Cached input defaults to the input rate, reasoning to the output rate.

    ``tiers`` hold the rates of long prompts: the tier with the highest ``above`` below the call's
    input tokens applies to all of that call's tokens, as providers bill them. Example::

        Price(input=3.0, output=15.0, cache_read=0.3, tiers=(PriceTier(above=200_000, input=6.0, output=22.5),))
    """

    input: float
    output: float = 0.0
    cache_read: float | None = None
    cache_write: float | None = None
    reasoning: float | None = None
    tiers: tuple[PriceTier, ...] = ()

    def __post_init__(self) -> None:
        if self.input is None:
            raise ValueError("Price.input is required")
        for name in _RATES:
            _check_rate("Price", name, getattr(self, name))
        if not isinstance(self.tiers, tuple) or not all(isinstance(tier, PriceTier) for tier in self.tiers):
            raise ValueError(f"Price.tiers must be a tuple of PriceTier, got {self.tiers!r}")
        if len({tier.above for tier in self.tiers}) != len(self.tiers):
            raise ValueError("Price.tiers must have distinct thresholds")

    def per_token(self) -> PerToken:
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

    def rates(self) -> Rates:
        """The per-token rates of the price and of each tier, the highest threshold first."""
        tiers = tuple(
            (
                tier.above,
                replace(
                    self, tiers=(), **{name: getattr(tier, name) for name in _RATES if getattr(tier, name) is not None}
                ).per_token(),
            )
            for tier in sorted(self.tiers, key=lambda tier: tier.above, reverse=True)
        )
        return self.per_token(), tiers


PerToken = tuple[float, float, float, float, float]
# A price's per-token rates, then (threshold, rates) for each tier, the highest threshold first.
Rates = tuple[PerToken, tuple[tuple[int, PerToken], ...]]
PriceInput = Price | Mapping[str, Any]
_PRICE_FIELDS = frozenset(field.name for field in fields(Price))
_TIER_FIELDS = frozenset(field.name for field in fields(PriceTier))


def _fields(value: Mapping[str, Any], known: frozenset[str], what: str) -> None:
    unknown = sorted(set(value) - known)
    if unknown:
        raise ValueError(f"unknown {what} fields {', '.join(unknown)}; use {', '.join(sorted(known))}")


def _tier(value: object) -> PriceTier:
    if isinstance(value, PriceTier):
        return value
    if not isinstance(value, Mapping):
        raise ValueError(f"a price tier must be an object, got {value!r}")
    _fields(value, _TIER_FIELDS, "price tier")
    return PriceTier(**value)


def _price(value: PriceInput) -> Price:
    if isinstance(value, Price):
        return value
    if not isinstance(value, Mapping):
        raise ValueError(f"a price must be an object, got {value!r}")
    _fields(value, _PRICE_FIELDS, "price")
    if "input" not in value:
        raise ValueError("a price needs an input rate")
    tiers = value.get("tiers", ())
    if not isinstance(tiers, list | tuple):
        raise ValueError(f"Price.tiers must be a list, got {tiers!r}")
    return Price(**{**value, "tiers": tuple(_tier(tier) for tier in tiers)})


def _steps(name: str) -> list[str]:
    versionless = _VERSION.sub("", name)
    undated = _VERSION.sub("", _DATE.sub("", versionless))
    return [name, versionless, undated, _SUFFIX.sub("", undated)]


def _candidates(model: str) -> list[str]:
    name = model.strip().lower().rpartition("/")[2]  # openai/gpt-4o, models/gemini-2.5-pro
    steps = _steps(name)
    # A Bedrock profile (us., global.) is priced apart where it is listed, else at its model's price.
    regionless = _REGION.sub("", name)
    if regionless != name:
        steps += _steps(regionless)
    steps.append(_VENDOR.sub("", steps[-1]))
    return steps


class PriceTable:
    """Provider -> model -> price, with user aliases (deployment names) and a bounded lookup cache."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tables: dict[str, dict[str, Rates]] = {}
        self._shared: dict[str, str] = {}  # provider -> provider whose table it uses (azure.ai.openai -> openai)
        self._aliases: dict[str, str] = {}
        self._cache: dict[tuple[str, str], Rates | None] = {}
        self._unpriced_logged: set[tuple[str, str]] = set()
        self.effective_date: str | None = None

    def load(self, data: Mapping[str, Any], file: str | os.PathLike[str] | None = None) -> None:
        """Merge a pricing document (the shipped file's schema) into the table.

        A malformed price raises ``ValueError`` and changes nothing; from a ``file`` it is skipped
        instead, the others loaded, and one warning names the file and every entry skipped.
        """
        providers = data.get("providers", {})
        aliases = data.get("aliases", {})
        if not isinstance(providers, Mapping) or not isinstance(aliases, Mapping):
            raise ValueError("'providers' and 'aliases' must be JSON objects")
        if not all(isinstance(e, Mapping) and isinstance(e.get("models", {}), Mapping) for e in providers.values()):
            raise ValueError("each provider must be a JSON object whose 'models' is an object")
        # Parse everything before changing anything: a bad entry leaves the table as it was.
        parsed: dict[str, dict[str, Rates]] = {}
        skipped: list[str] = []
        for provider, entry in providers.items():
            models = parsed.setdefault(str(provider), {})
            for model, price in entry.get("models", {}).items():
                try:
                    models[str(model).lower()] = _price(price).rates()
                except (ValueError, TypeError) as err:
                    if file is None:
                        raise ValueError(f"{provider} {model!r}: {err}") from None
                    skipped.append(f"{provider} {model!r} ({err})")
        if skipped:
            logger.warning(
                "llm-otel: the pricing file %s has %d malformed price(s), skipped: %s",
                os.fspath(file or ""),
                len(skipped),
                "; ".join(skipped),
            )
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

    def per_token(self, provider: str, model: str, input_tokens: int = 0) -> PerToken | None:
        """USD per token of each part for this call's model and prompt length, or None when it has no price."""
        key = (provider, model)
        cache = self._cache
        try:
            found = cache[key]
        except KeyError:
            found = self._find(provider, model)
            if len(cache) >= _CACHE_MAX:
                cache.clear()  # a burst of distinct names must not grow the cache without bound
            cache[key] = found
        if found is None:
            return None
        rates, tiers = found
        for above, tier in tiers:  # most models have none, the long-context ones one or two
            if input_tokens > above:
                return tier
        return rates

    def _find(self, provider: str, model: str) -> Rates | None:
        model = self._aliases.get(model, model)
        own = self._tables.get(self._shared.get(provider, provider), {})
        candidates = [self._aliases.get(step, step) for step in _candidates(model)]
        # Every step in the provider's own table first: another table's snapshot must not win over
        # the provider's own family price (Bedrock lists Anthropic's dated names at its own rates).
        # A provider priced as a whole (local inference, at no charge) never borrows another's
        # price: a local model named like a hosted one costs what the provider's "*" says.
        whole = own.get(ANY_MODEL)
        for table in (own,) if whole is not None else (own, *self._tables.values()):
            for candidate in candidates:
                found = table.get(candidate)
                if found is not None:
                    return found
        return whole

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
            table.load(_read(path), file=path)
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
    in the shipped ``pricing.json`` schema, as ``LLM_OTEL_PRICING_FILE`` names one at start-up, whose
    malformed prices are skipped with a warning; ``replace=True`` drops every price first, the
    shipped ones included. Raises ``ValueError`` on a malformed price in ``models``. Example::

        llm_otel.set_prices(
            {
                "openai": {"ft:gpt-4o-mini:acme": {"input": 0.3, "output": 1.2, "cache_read": 0.15}},
                "acme": {"acme-long": Price(input=1.0, output=4.0, tiers=(PriceTier(above=128_000, input=2.0),))},
            },
            aliases={"prod-chat": "gpt-4o"},
        )
    """
    if replace:
        prices.clear()
    if file is not None:
        prices.load(_read(file), file=file)
    if models or aliases:
        prices.update(models or {}, aliases or {})
