"""Writes the shipped price table, src/llm_otel/telemetry/pricing.json, from genai-prices.

    python docs/_gen/pricing.py                    # rewrite it from the installed genai-prices, prices of today
    python docs/_gen/pricing.py --date 2026-12-01  # prices in force on that date
    python docs/_gen/pricing.py --check            # exit 1 if the committed table is not what it writes

genai-prices (pydantic's, MIT) keeps the prices of hundreds of models with their sources; it is in the
`dev` extra, pinned, and never a runtime dependency: a lookup through it costs ~70 µs, ours a dict
hit. Like reference.py this lives with the generated docs, outside the package: nothing shipped
imports genai-prices. tests/test_pricing_source.py checks the committed table against this and
samples of our prices against genai-prices' own calculation.

genai-prices matches a model reference by clauses (equals, starts with, contains, ends with, regex);
our table is exact names plus normalisation (see ``_pricing._candidates``). Each clause gives a
name: its text, after the last ``/``, without a trailing ``-`` or ``@``; a regex only when it is a
name followed by a date (``^claude-opus-5-\\d{8}$``), which our normalisation strips. Each name is
priced as genai-prices prices it (its first matching model), so where clauses overlap the price
is the one genai-prices would give. Of a model's prices we keep what our lookup expresses: input,
output, cache read, cache write (5 minutes), reasoning, and tiers by prompt length; rates per image,
audio second, request or search are left out, and a model without an input rate is left out.
Prices that vary by the time of day (DeepSeek's off-peak hours) are taken at 12:00 UTC.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from datetime import date, datetime, timezone
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path
from typing import Any, NamedTuple

from genai_prices import types
from genai_prices.data import providers as SOURCE

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "src" / "llm_otel" / "telemetry" / "pricing.json"
SOURCE_URL = "https://github.com/pydantic/genai-prices"

# genai-prices provider id -> our gen_ai.provider.name, and the providers that use its table too.
# In file order, which is the order a model not in its provider's table is looked for in the others.
PROVIDERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "openai": ("openai", ()),
    "anthropic": ("anthropic", ()),
    "google": ("gcp.gemini", ("gcp.vertex_ai", "gcp.gen_ai")),
    "mistral": ("mistral_ai", ()),
    "cohere": ("cohere", ()),
    "deepseek": ("deepseek", ()),
    "x-ai": ("x_ai", ()),
    "groq": ("groq", ()),
    "perplexity": ("perplexity", ()),
    "aws": ("aws.bedrock", ()),
    "azure": ("azure.ai.openai", ("azure.ai.inference",)),
}
# Providers that are not genai-prices', priced as a whole ("*": every model, see _pricing.ANY_MODEL),
# written after the others: local inference has no per-token price.
WHOLE: dict[str, tuple[str, dict[str, float]]] = {
    "ollama": ("https://docs.ollama.com/", {"input": 0.0, "output": 0.0}),
}
# API names genai-prices knows under another name, each priced as the model it names: (genai-prices
# provider, name) -> reference. Mistral's dated snapshots are what its SDK's callers pass, and
# genai-prices lists some only by their open-weights name.
SNAPSHOTS: dict[tuple[str, str], str] = {
    ("mistral", "mistral-small-2503"): "mistral-small-3.1-24b-instruct",
    ("mistral", "mistral-small-2501"): "mistral-small-24b-instruct-2501",
}
# genai-prices price key -> ours (Price's fields).
RATES = {
    "input_mtok": "input",
    "output_mtok": "output",
    "cache_read_mtok": "cache_read",
    "cache_write_mtok": "cache_write",
    "output_reasoning_mtok": "reasoning",
}
# A regex that is a name and a date: the date part, and a date it matches.
_DATED = {r"-\d{4}-\d{2}-\d{2}$": "-2025-01-01", r"-\d{8}$": "-20250101", r"[-@]\d{8}$": "-20250101"}
_LITERAL = re.compile(r"(?:[^\\^$.*+?()\[\]{}|]|\\\.)+")  # plain characters and escaped dots


class Entry(NamedTuple):
    """One name of our table: the genai-prices reference it is priced by, and the price."""

    provider: str  # ours
    source_provider: str  # genai-prices'
    name: str
    reference: str
    price: dict[str, Any]


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=timezone.utc)


def _names(clause: Any) -> Iterator[tuple[str, str]]:
    """(name in our table, reference genai-prices matches) for each clause we can express."""
    if isinstance(clause, types.ClauseOr):
        for inner in clause.or_:
            yield from _names(inner)
    elif isinstance(clause, types.ClauseAnd):  # a prefix and an exclusion (-tts): the prefix names it
        for inner in clause.and_:
            if isinstance(inner, types.ClauseStartsWith | types.ClauseEquals):
                yield from _names(inner)
    elif isinstance(clause, types.ClauseRegex):
        for suffix, example in _DATED.items():
            literal = clause.regex[1 : -len(suffix)]
            if clause.regex[0] == "^" and clause.regex.endswith(suffix) and _LITERAL.fullmatch(literal):
                name = literal.replace("\\.", ".")
                yield _name(name), name + example
    else:
        text = getattr(clause, "equals", None) or getattr(clause, "starts_with", None)
        text = text or getattr(clause, "contains", None) or getattr(clause, "ends_with", "")
        yield _name(text), text


def _name(text: str) -> str:
    return text.lower().rpartition("/")[2].rstrip("-@")


def _usd(value: Decimal) -> float:
    return float(value)


def _at(value: Decimal | types.TieredPrices, input_tokens: int) -> Decimal:
    if not isinstance(value, types.TieredPrices):
        return value
    price = value.base
    for tier in value.tiers:  # sorted by start
        if input_tokens > tier.start:
            price = tier.price
    return price


def price_of(model: types.ModelInfo, day: date) -> dict[str, Any] | None:
    """A model's price in our schema on ``day``, or None when it has no input rate."""
    source = model.get_prices(noon(day))
    rates = {ours: value for key, ours in RATES.items() if (value := getattr(source, key, None)) is not None}
    if "input" not in rates:
        return None
    price: dict[str, Any] = {name: _usd(_at(value, 0)) for name, value in rates.items()}
    starts = sorted({tier.start for v in rates.values() if isinstance(v, types.TieredPrices) for tier in v.tiers})
    if starts:
        price["tiers"] = [
            {"above": start, **{name: _usd(_at(value, start + 1)) for name, value in rates.items()}} for start in starts
        ]
    return price


def entries(day: date) -> Iterator[Entry]:
    """Every name of the table, provider by provider in file order, names in the order of the source."""
    by_id = {provider.id: provider for provider in SOURCE}
    for source_id, (ours, _) in PROVIDERS.items():
        provider = by_id[source_id]
        pairs = [pair for model in provider.models for pair in _names(model.match) if pair[0]]
        pairs += [(name, reference) for (owner, name), reference in SNAPSHOTS.items() if owner == source_id]
        # A name that genai-prices matches as it is beats one derived from a longer reference.
        pairs.sort(key=lambda pair: pair[0] != pair[1].lower())
        seen: set[str] = set()
        for name, reference in pairs:
            if name in seen:
                continue
            seen.add(name)
            model = provider.find_model(reference)
            price = price_of(model, day) if model is not None else None
            if price is not None:
                yield Entry(ours, source_id, name, reference, price)


def render(day: date) -> str:
    """The table as written: a header, then one line per model."""
    by_id = {provider.id: provider for provider in SOURCE}
    models: dict[str, dict[str, dict[str, Any]]] = {ours: {} for ours, _ in PROVIDERS.values()}
    for entry in entries(day):
        models[entry.provider][entry.name] = entry.price
    header = {
        "currency": "USD",
        "unit": "per 1,000,000 tokens",
        "effective_date": day.isoformat(),
        "source": f"genai-prices {version('genai-prices')} ({SOURCE_URL}), written by docs/_gen/pricing.py",
        "note": (
            "Generated: do not edit, override with LLM_OTEL_PRICING_FILE or llm_otel.set_prices(). Standard"
            " (on-demand, non-batch) list prices on the effective date. Fields: input, output, cache_read,"
            " cache_write (absent: the input rate applies), reasoning (absent: the output rate applies), tiers"
            " (the rates of a call whose input tokens exceed 'above')."
        ),
    }
    lines = ["{"]
    lines += [f"  {json.dumps(key)}: {json.dumps(value)}," for key, value in header.items()]
    lines.append('  "providers": {')
    blocks = []
    for source_id, (ours, also) in PROVIDERS.items():
        urls = by_id[source_id].pricing_urls or [SOURCE_URL]
        block = [f"    {json.dumps(ours)}: {{", f'      "source": {json.dumps(urls[0])},']
        if also:
            block.append(f'      "also": {json.dumps(list(also))},')
        rows = [f"        {json.dumps(name)}: {json.dumps(price)}" for name, price in sorted(models[ours].items())]
        block += ['      "models": {', ",\n".join(rows), "      }", "    }"]
        blocks.append("\n".join(block))
    for ours, (url, price) in WHOLE.items():
        block = [f"    {json.dumps(ours)}: {{", f'      "source": {json.dumps(url)},', '      "models": {']
        block += [f'        "*": {json.dumps(price)}', "      }", "    }"]
        blocks.append("\n".join(block))
    lines += [",\n".join(blocks), "  }", "}", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--date", type=date.fromisoformat, help="prices in force on this day (default: today)")
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed table is stale")
    args = parser.parse_args()
    if args.check:
        committed = TABLE.read_text(encoding="utf-8")
        day = args.date or date.fromisoformat(json.loads(committed)["effective_date"])
        if render(day) != committed:
            print(f"{TABLE.relative_to(ROOT)} is not what genai-prices {version('genai-prices')} gives; "
                  "run python docs/_gen/pricing.py", file=sys.stderr)  # fmt: skip
            return 1
        return 0
    TABLE.write_text(render(args.date or date.today()), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
