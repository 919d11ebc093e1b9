"""The shipped price table against its source, genai-prices: the table is what docs/_gen/pricing.py
writes from the pinned genai-prices, and the cost we record for a sample of its models and for
named ones equals genai-prices' own calculation for the same usage."""

from __future__ import annotations

import importlib.util
import json
import random
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from opentelemetry.metrics import NoOpMeterProvider

from llm_otel.telemetry import Outcome
from llm_otel.telemetry._ledger import Ledger

genai_prices = pytest.importorskip("genai_prices", reason="genai-prices is not installed (the dev extra has it)")

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "src" / "llm_otel" / "telemetry" / "pricing.json"
SAMPLE_SIZE = 30


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_pricing", ROOT / "docs" / "_gen" / "pricing.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generator = _generator()
DAY = date.fromisoformat(json.loads(TABLE.read_text(encoding="utf-8"))["effective_date"])
ENTRIES = list(generator.entries(DAY))
# (input incl. cached, cache read, cache write, output incl. reasoning, reasoning): a short prompt and
# one past every long-context threshold (200k, 272k).
USAGES = {"short": (1_000, 200, 100, 300, 50), "long": (300_000, 60_000, 1_000, 2_000, 500)}


def ours(provider: str, model: str, usage: tuple[int, int, int, int, int]) -> float | None:
    outcome = Outcome()
    outcome.response_model = model
    outcome.input_tokens, outcome.cache_read_tokens, outcome.cache_creation_tokens = usage[:3]
    outcome.output_tokens, outcome.reasoning_tokens = usage[3:]
    ledger = Ledger(NoOpMeterProvider().get_meter("test"))
    return ledger.leave(ledger.enter("chat", provider, model), model, outcome, None, 0.0)


def theirs(provider_id: str, reference: str, usage: tuple[int, int, int, int, int]) -> float:
    calculation = genai_prices.calc_price(
        genai_prices.Usage(
            input_tokens=usage[0],
            cache_read_tokens=usage[1],
            cache_write_tokens=usage[2],
            output_tokens=usage[3],
            output_reasoning_tokens=usage[4],
        ),
        reference,
        provider_id=provider_id,
        genai_request_timestamp=generator.noon(DAY),
    )
    return float(calculation.total_price)


def test_the_shipped_table_is_what_the_generator_writes_from_the_pinned_genai_prices() -> None:
    shipped = TABLE.read_text(encoding="utf-8")
    assert generator.render(DAY) == shipped, "run python docs/_gen/pricing.py"
    assert json.loads(shipped)["source"].startswith(f"genai-prices {genai_prices.__version__} ")


SAMPLE = random.Random(16).sample(ENTRIES, SAMPLE_SIZE)


@pytest.mark.parametrize("usage", USAGES.values(), ids=USAGES.keys())
@pytest.mark.parametrize("entry", SAMPLE, ids=[f"{entry.provider}:{entry.name}" for entry in SAMPLE])
def test_a_sample_of_the_table_costs_what_genai_prices_calculates(entry: Any, usage: tuple[int, ...]) -> None:
    expected = theirs(entry.source_provider, entry.reference, usage)  # type: ignore[arg-type]
    assert ours(entry.provider, entry.name, usage) == pytest.approx(expected, rel=1e-9)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("provider", "provider_id", "model"),
    [
        ("openai", "openai", "gpt-5.1"),
        ("openai", "openai", "gpt-5.1-2025-11-13"),
        ("anthropic", "anthropic", "claude-opus-4-5"),
        ("anthropic", "anthropic", "claude-sonnet-4-5-20250929"),  # a long-context tier above 200k
        ("gcp.gemini", "google", "gemini-3-pro-preview"),
        ("gcp.gemini", "google", "gemini-2.5-pro"),  # a long-context tier above 200k
        ("aws.bedrock", "aws", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"),  # a regional profile, +10%
        ("aws.bedrock", "aws", "eu.anthropic.claude-opus-4-5-20251101-v1:0"),
        ("aws.bedrock", "aws", "global.anthropic.claude-opus-4-5-20251101-v1:0"),  # global: no surcharge
        ("mistral_ai", "mistral", "mistral-large-latest"),
        ("groq", "groq", "openai/gpt-oss-120b"),
        ("deepseek", "deepseek", "deepseek-chat"),
        ("x_ai", "x-ai", "grok-4"),
    ],
)
@pytest.mark.parametrize("usage", USAGES.values(), ids=USAGES.keys())
def test_named_models_cost_what_genai_prices_calculates(
    provider: str, provider_id: str, model: str, usage: tuple[int, int, int, int, int]
) -> None:
    assert ours(provider, model, usage) == pytest.approx(theirs(provider_id, model, usage), rel=1e-9)


def test_a_long_prompt_costs_more_than_the_short_rate_would_say() -> None:
    # claude-sonnet-4-5 above 200k input tokens: 6.00 input, 0.60 cache read, 7.50 cache write, 22.50 output
    usage = (250_000, 0, 0, 1_000, 0)
    expected = (250_000 * 6.0 + 1_000 * 22.5) / 1_000_000
    assert ours("anthropic", "claude-sonnet-4-5", usage) == pytest.approx(expected, rel=1e-12)
