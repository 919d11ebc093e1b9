"""Cost: the price table, its normalisation, and the USD each real call through the SDKs records.

Every expected value is computed by hand from the shipped table (USD per million tokens) and the
fake provider's usage: input tokens are the messages' words, output tokens the behaviour's.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

from conftest import Api, Claude, Recorded, drain, make_recorded
from llm_otel import Price, PriceTier, set_prices
from llm_otel.fake import Behavior, FakeProvider
from llm_otel.telemetry import _names as n
from llm_otel.telemetry._pricing import prices
from llm_otel.telemetry._window import calls

pytestmark = pytest.mark.anyio

WORDS_1000 = [{"role": "user", "content": " ".join(["word"] * 1000)}]  # 1,000 input tokens on the fake


def usd(*parts: tuple[int, float]) -> float:
    """Tokens times USD per million tokens, summed."""
    return sum(tokens * per_million for tokens, per_million in parts) / 1_000_000


@pytest.fixture(autouse=True)
def _restore_prices() -> Iterator[None]:
    prices._unpriced_logged = set()
    saved = copy.deepcopy((prices._tables, prices._shared, prices._aliases))
    yield
    prices._tables, prices._shared, prices._aliases = saved
    prices._cache = {}
    prices._unpriced_logged = set()


def cost_points(otel: Recorded) -> dict[tuple[str, str, str], float]:
    """(provider, request model, token type) -> USD of the cost counter."""
    return {
        (
            str(attrs[n.PROVIDER_NAME]),
            str(attrs.get(n.REQUEST_MODEL, "")),
            str(attrs[n.TOKEN_TYPE]),
        ): point.value  # type: ignore[union-attr]
        for point in otel.points(n.LLM_OTEL_COST)
        for attrs in [dict(point.attributes or {})]
    }


def unpriced(otel: Recorded) -> dict[str, int]:
    return {
        str(dict(p.attributes or {})[n.REQUEST_MODEL]): int(p.value)  # type: ignore[union-attr]
        for p in otel.points(n.LLM_OTEL_UNPRICED_CALLS)
    }


async def test_chat_cost_splits_cached_input_at_its_own_rate(api: Api, otel: Recorded) -> None:
    # gpt-4o: input 2.50, cached input 1.25, output 10.00
    await api.chat(Behavior(output_tokens=200, cached_tokens=400), model="gpt-4o", messages=WORDS_1000)
    expected = usd((600, 2.5), (400, 1.25), (200, 10.0))
    assert expected == pytest.approx(0.004, rel=1e-12)
    assert otel.span().attributes[n.USAGE_COST] == pytest.approx(expected, rel=1e-12)  # type: ignore[index]
    assert cost_points(otel) == pytest.approx(
        {
            ("openai", "gpt-4o", "input"): usd((600, 2.5)),
            ("openai", "gpt-4o", "cache_read"): usd((400, 1.25)),
            ("openai", "gpt-4o", "output"): usd((200, 10.0)),
        },
        rel=1e-12,
    )
    assert unpriced(otel) == {}


async def test_cost_accumulates_over_calls(api: Api, otel: Recorded) -> None:
    for _ in range(3):
        await api.chat(Behavior(output_tokens=5), model="gpt-4o-mini")
    # gpt-4o-mini: input 0.15, output 0.60; 6 input tokens each
    assert cost_points(otel) == pytest.approx(
        {("openai", "gpt-4o-mini", "input"): usd((18, 0.15)), ("openai", "gpt-4o-mini", "output"): usd((15, 0.6))},
        rel=1e-12,
    )


async def test_reasoning_tokens_are_part_of_output_and_priced_at_the_output_rate(api: Api, otel: Recorded) -> None:
    # o3-mini: input 1.10, output 4.40, no separate reasoning rate; output 100 = 10 visible + 90 reasoning
    await api.chat(Behavior(output_tokens=10, reasoning_tokens=90), model="o3-mini")
    span = otel.span()
    assert span.attributes[n.USAGE_OUTPUT_TOKENS] == 100  # type: ignore[index]
    assert span.attributes[n.USAGE_COST] == pytest.approx(usd((6, 1.1), (100, 4.4)), rel=1e-12)  # type: ignore[index]
    assert cost_points(otel) == pytest.approx(
        {
            ("openai", "o3-mini", "input"): usd((6, 1.1)),
            ("openai", "o3-mini", "output"): usd((10, 4.4)),
            ("openai", "o3-mini", "reasoning"): usd((90, 4.4)),
        },
        rel=1e-12,
    )


async def test_a_separate_reasoning_rate_applies_to_reasoning_tokens_only(api: Api, otel: Recorded) -> None:
    set_prices({"custom": {"thinker-1": Price(input=1.0, output=2.0, reasoning=3.0)}})
    await api.chat(Behavior(output_tokens=10, reasoning_tokens=90), model="thinker-1")
    assert otel.span().attributes[n.USAGE_COST] == pytest.approx(  # type: ignore[index]
        usd((6, 1.0), (10, 2.0), (90, 3.0)), rel=1e-12
    )


async def test_stream_cost_comes_from_its_usage_chunk(api: Api, otel: Recorded) -> None:
    stream = await api.chat(
        Behavior(output_tokens=30, cached_tokens=200),
        model="gpt-4.1",
        messages=WORDS_1000,
        stream=True,
        stream_options={"include_usage": True},
    )
    await drain(stream)
    # gpt-4.1: input 2.00, cached input 0.50, output 8.00
    assert otel.span().attributes[n.USAGE_COST] == pytest.approx(  # type: ignore[index]
        usd((800, 2.0), (200, 0.5), (30, 8.0)), rel=1e-12
    )


async def test_stream_without_usage_records_no_cost_and_is_not_unpriced(api: Api, otel: Recorded) -> None:
    await drain(await api.chat(model="gpt-4.1", stream=True, stream_options={"include_usage": False}))
    assert n.USAGE_COST not in (otel.span().attributes or {})
    assert cost_points(otel) == {}
    assert unpriced(otel) == {}


@pytest.mark.parametrize(
    ("model", "price"),
    [
        ("gpt-4o-mini-2024-07-18", (0.15, 0.6)),  # a dated snapshot: its family's price
        ("gpt-4o-2024-05-13", (5.0, 15.0)),  # a snapshot priced apart from its family
        ("openai/gpt-4o-mini", (0.15, 0.6)),  # a router's provider prefix
        ("GPT-4O-MINI", (0.15, 0.6)),
    ],
)
async def test_model_names_are_normalised_before_pricing(
    api: Api, otel: Recorded, model: str, price: tuple[float, float]
) -> None:
    await api.chat(Behavior(output_tokens=7), model=model)
    span = otel.span()
    assert span.attributes[n.USAGE_COST] == pytest.approx(usd((6, price[0]), (7, price[1])), rel=1e-12)  # type: ignore[index]
    assert span.attributes[n.REQUEST_MODEL] == model  # type: ignore[index]


async def test_deployment_names_are_priced_through_aliases(api: Api, otel: Recorded) -> None:
    set_prices(aliases={"prod-chat": "gpt-4o"})
    await api.chat(Behavior(output_tokens=4), model="prod-chat")
    assert otel.span().attributes[n.USAGE_COST] == pytest.approx(usd((6, 2.5), (4, 10.0)), rel=1e-12)  # type: ignore[index]
    assert set(cost_points(otel)) == {("openai", "prod-chat", "input"), ("openai", "prod-chat", "output")}


async def test_calls_of_two_operations_on_one_model_add_up_in_its_cost_series(api: Api, otel: Recorded) -> None:
    # In flight by operation, cost by model: the chat call and the legacy completion share gpt-4o-mini's.
    await api.chat(Behavior(output_tokens=5), model="gpt-4o-mini")
    await api.call(
        "completions.create",
        model="gpt-4o-mini",
        prompt="one two three",
        extra_headers=Behavior(output_tokens=7).header(),
    )
    assert cost_points(otel) == pytest.approx(
        {("openai", "gpt-4o-mini", "input"): usd((6 + 3, 0.15)), ("openai", "gpt-4o-mini", "output"): usd((12, 0.6))},
        rel=1e-12,
    )
    in_flight = {
        str(dict(point.attributes or {})[n.OPERATION_NAME]): point.value  # type: ignore[union-attr]
        for point in otel.points(n.LLM_OTEL_REQUESTS_IN_FLIGHT)
    }
    assert in_flight == {n.OP_CHAT: 0, n.OP_TEXT_COMPLETION: 0}


async def test_an_open_stream_is_in_flight_until_it_ends_and_only_then_counted_in_the_window(
    api: Api, otel: Recorded, request: pytest.FixtureRequest
) -> None:
    def in_flight() -> float:
        return otel.point(n.LLM_OTEL_REQUESTS_IN_FLIGHT, gen_ai__request__model="gpt-4.1").value  # type: ignore[union-attr]

    saved = calls.window_s
    calls.resize(3600.0)  # emptied, and nothing leaves it during the test
    request.addfinalizer(lambda: calls.resize(saved))
    before = calls.totals().get("openai", (0, 0))[0]
    stream = await api.chat(model="gpt-4.1", stream=True, stream_options={"include_usage": True})
    assert in_flight() == 1
    assert calls.totals()["openai"][0] == before
    await drain(stream)
    assert in_flight() == 0
    assert calls.totals()["openai"][0] == before + 1
    assert otel.point(n.LLM_OTEL_COST, gen_ai__token__type="input").value > 0  # type: ignore[union-attr]


async def test_unknown_model_records_no_cost_counts_unpriced_and_logs_once(
    api: Api, otel: Recorded, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="llm_otel"):
        for _ in range(3):
            await api.chat(model="acme-llm-unlisted-7")
    spans = otel.spans()
    assert [n.USAGE_COST in (s.attributes or {}) for s in spans] == [False, False, False]
    assert cost_points(otel) == {}
    assert unpriced(otel) == {"acme-llm-unlisted-7": 3}
    logged = [r.getMessage() for r in caplog.records if "no price" in r.getMessage()]
    assert logged == [
        "llm-otel: no price for model 'acme-llm-unlisted-7' (provider openai); its calls record no cost. "
        "Add it with llm_otel.set_prices() or the file named by LLM_OTEL_PRICING_FILE."
    ]


async def test_embeddings_cost_is_input_only(api: Api, otel: Recorded) -> None:
    await api.call("embeddings.create", model="text-embedding-3-small", input="one two three four")
    # text-embedding-3-small: 0.02 per million input tokens
    assert otel.span().attributes[n.USAGE_COST] == pytest.approx(usd((4, 0.02)), rel=1e-12)  # type: ignore[index]


async def test_cost_is_recorded_when_the_span_is_sampled_out(api: Api, otel_with: Callable[..., Recorded]) -> None:
    otel = otel_with(make_recorded(sampler=ALWAYS_OFF))
    await api.chat(Behavior(output_tokens=5), model="gpt-4o-mini")
    assert otel.spans() == []
    assert sum(cost_points(otel).values()) == pytest.approx(usd((6, 0.15), (5, 0.6)), rel=1e-12)


async def test_anthropic_cache_reads_and_writes_are_priced_apart(
    claude: Claude, anthropic_otel: Recorded, fake: FakeProvider
) -> None:
    # claude-3-5-haiku: input 0.80, cache write 1.00, cache read 0.08, output 4.00
    await claude.chat(Behavior(output_tokens=20, cached_tokens=300), model="claude-3-5-haiku-20241022",
                      messages=WORDS_1000)  # fmt: skip
    span = anthropic_otel.span()
    attrs = dict(span.attributes or {})
    read = int(attrs.get(n.USAGE_CACHE_READ_INPUT_TOKENS, 0))  # type: ignore[arg-type]
    written = int(attrs.get(n.USAGE_CACHE_CREATION_INPUT_TOKENS, 0))  # type: ignore[arg-type]
    assert read == 300
    assert attrs[n.USAGE_INPUT_TOKENS] == 1000
    expected = usd((1000 - read - written, 0.8), (read, 0.08), (written, 1.0), (20, 4.0))
    assert attrs[n.USAGE_COST] == pytest.approx(expected, rel=1e-12)


# --- the table itself -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "model", "input_rate"),
    [
        ("aws.bedrock", "us.anthropic.claude-3-5-haiku-20241022-v1:0", 0.8),
        ("aws.bedrock", "amazon.nova-pro-v1:0", 0.8),
        ("aws.bedrock", "mistral.mistral-large-2402-v1:0", 4.0),
        ("gcp.vertex_ai", "claude-3-5-sonnet-v2@20241022", 3.0),  # Anthropic's table, found by fallback
        ("gcp.vertex_ai", "gemini-2.5-flash", 0.3),  # Gemini's table, shared with Vertex
        ("gcp.gemini", "models/gemini-2.5-flash-preview-05-20", 0.15),  # the preview's own price
        ("azure.ai.openai", "gpt-4o-2024-11-20", 2.5),
        ("mistral_ai", "mistral-large-2411", 2.0),
        ("cohere", "command-r7b-12-2024", 0.0375),
        ("groq", "openai/gpt-oss-120b", 0.15),
        ("groq", "meta-llama/llama-4-scout-17b-16e-instruct", 0.11),
        ("deepseek", "deepseek-chat", 0.27),  # outside the off-peak hours
        ("aws.bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", 3.3),  # a regional profile: +10%
        ("aws.bedrock", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", 3.0),  # the global one is not
        ("openai", "gpt-5.1-2025-11-13", 1.25),
        ("anthropic", "claude-opus-4-5-20251101", 5.0),
        ("gcp.gemini", "gemini-3-pro-preview", 2.0),
        ("x_ai", "grok-4-0709", 3.0),
        ("anthropic", "claude-opus-4-1-20250805", 15.0),
    ],
)
def test_shipped_table_prices_provider_model_names(provider: str, model: str, input_rate: float) -> None:
    rates = prices.per_token(provider, model)
    assert rates is not None
    assert rates[0] == pytest.approx(input_rate / 1_000_000, rel=1e-12)


@pytest.mark.parametrize("model", ["gpt-4o-audio", "gpt-4o-mini-unlisted", "claude-fake-1", ""])
def test_names_that_only_resemble_a_priced_model_have_no_price(model: str) -> None:
    assert prices.per_token("openai", model) is None


def test_local_models_cost_nothing_and_never_borrow_a_hosted_price() -> None:
    assert prices.per_token("ollama", "llama3.2:3b") == (0.0, 0.0, 0.0, 0.0, 0.0)
    assert prices.per_token("ollama", "gpt-4o") == (0.0, 0.0, 0.0, 0.0, 0.0)
    assert prices.per_token("openai", "gpt-4o") == Price(input=2.5, output=10.0, cache_read=1.25).per_token()


def test_a_provider_wide_price_yields_to_a_named_one() -> None:
    set_prices({"ollama": {"llama3.2-cloud": {"input": 1.0, "output": 2.0}}})
    assert prices.per_token("ollama", "llama3.2-cloud") == Price(input=1.0, output=2.0).per_token()
    assert prices.per_token("ollama", "llama3.2") == (0.0, 0.0, 0.0, 0.0, 0.0)


def test_shipped_file_covers_the_providers_with_date_and_sources() -> None:
    path = Path(__file__).resolve().parents[1] / "src" / "llm_otel" / "telemetry" / "pricing.json"
    data = json.loads(path.read_text())
    assert data["effective_date"] == prices.effective_date
    assert data["source"].startswith("genai-prices ")
    providers = data["providers"]
    assert list(providers) == [
        "openai", "anthropic", "gcp.gemini", "mistral_ai", "cohere", "deepseek", "x_ai", "groq", "perplexity",
        "aws.bedrock", "azure.ai.openai", "ollama",
    ]  # fmt: skip
    assert all(entry["source"].startswith("https://") for entry in providers.values())
    for provider, entry in providers.items():
        for model in entry["models"]:
            assert model == model.lower() and "/" not in model
            assert prices.per_token(provider, model) is not None  # every entry is a valid price


def test_a_malformed_price_is_refused_and_changes_nothing() -> None:
    before = prices.per_token("openai", "gpt-4o")
    with pytest.raises(ValueError, match=r"openai .gpt-4o.: Price\.output must be a finite number >= 0"):
        set_prices({"openai": {"gpt-4o": {"input": 1.0, "output": -1.0}, "new-model": {"input": 1.0}}})
    with pytest.raises(ValueError, match="unknown price fields cached"):
        set_prices({"openai": {"new-model": {"input": 1.0, "cached": 0.5}}})
    assert prices.per_token("openai", "gpt-4o") == before
    assert prices.per_token("openai", "new-model") is None


def test_a_pricing_file_extends_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"providers": {"openai": {"models": {"gpt-4o": {"input": 1.0, "output": 4.0}}}},
                                "aliases": {"eu-chat": "gpt-4o"}}))  # fmt: skip
    set_prices(file=path)
    assert prices.per_token("azure.ai.openai", "eu-chat") == pytest.approx((1e-6, 1e-6, 1e-6, 4e-6, 4e-6))
    set_prices(replace=True)
    assert prices.per_token("openai", "gpt-4o-mini") is None


def _price_in_subprocess(env: dict[str, str], model: str) -> Any:
    script = textwrap.dedent(
        f"""
        from llm_otel.telemetry._pricing import prices
        print(prices.per_token("openai", {model!r}))
        """
    )
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    return run.stdout.strip(), run.stderr


def test_the_environment_names_a_pricing_file(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"providers": {"acme": {"models": {"acme-1": {"input": 2.0, "output": 3.0}}}}}))
    env = {**os.environ, "LLM_OTEL_PRICING_FILE": str(path)}
    assert _price_in_subprocess(env, "acme-1")[0] == "(2e-06, 2e-06, 2e-06, 3e-06, 3e-06)"
    path.write_text(json.dumps({"providers": {"acme": {"models": {"acme-1": {"input": float("nan")}}}}}))
    out, err = _price_in_subprocess(env, "acme-1")
    assert out == "None"  # the entry is skipped, the application goes on
    assert err.count("malformed price") == 1
    assert f"the pricing file {path} has 1 malformed price(s), skipped: acme 'acme-1'" in err
    env["LLM_OTEL_PRICING_FILE"] = str(tmp_path / "missing.json")
    out, err = _price_in_subprocess(env, "gpt-4o")
    assert out == "(2.5e-06, 1.25e-06, 2.5e-06, 1e-05, 1e-05)"  # the shipped table still applies
    assert "ignoring the pricing file LLM_OTEL_PRICING_FILE=" in err


async def test_a_long_prompt_is_priced_at_its_tier_for_all_its_tokens(api: Api, otel: Recorded) -> None:
    long = Price(input=1.0, output=2.0, cache_read=0.1, tiers=(PriceTier(above=999, input=2.0, output=3.0),))
    set_prices({"custom": {"long-1": long}})
    await api.chat(Behavior(output_tokens=10, cached_tokens=100), model="long-1", messages=WORDS_1000)
    await api.chat(Behavior(output_tokens=10), model="long-1")  # 6 input tokens: the base rates
    first, second = (span.attributes[n.USAGE_COST] for span in otel.spans())  # type: ignore[index]
    # The tier leaves cache_read out: the price's own 0.1 applies.
    assert first == pytest.approx(usd((900, 2.0), (100, 0.1), (10, 3.0)), rel=1e-12)
    assert second == pytest.approx(usd((6, 1.0), (10, 2.0)), rel=1e-12)


def test_the_highest_tier_below_the_prompt_applies_and_a_cache_rate_follows_its_input() -> None:
    tiers = (PriceTier(above=1000, input=2.0), PriceTier(above=100, input=1.5, output=9.0))
    set_prices({"custom": {"tiered-1": {"input": 1.0, "output": 8.0, "tiers": tiers}}})
    assert prices.per_token("custom", "tiered-1", 100) == pytest.approx((1e-6, 1e-6, 1e-6, 8e-6, 8e-6))
    assert prices.per_token("custom", "tiered-1", 101) == pytest.approx((1.5e-6, 1.5e-6, 1.5e-6, 9e-6, 9e-6))
    assert prices.per_token("custom", "tiered-1", 5000) == pytest.approx((2e-6, 2e-6, 2e-6, 8e-6, 8e-6))


@pytest.mark.parametrize(
    ("price", "message"),
    [
        ({"input": float("nan")}, r"Price\.input must be a finite number >= 0, got nan"),
        ({"input": 1.0, "output": float("inf")}, r"Price\.output must be a finite number >= 0, got inf"),
        ({"input": "1.5"}, r"Price\.input must be a finite number >= 0, got '1\.5'"),
        ({"input": True}, r"Price\.input must be a finite number >= 0, got True"),
        ({"output": 1.0}, "a price needs an input rate"),
        ({"input": 1.0, "tiers": [{"above": 0, "input": 2.0}]}, r"PriceTier\.above must be a whole number"),
        ({"input": 1.0, "tiers": [{"above": 10, "input": -2.0}]}, r"PriceTier\.input must be a finite number"),
        ({"input": 1.0, "tiers": [{"above": 10}, {"above": 10}]}, "distinct thresholds"),
        ({"input": 1.0, "tiers": [{"above": 10, "cached": 1.0}]}, "unknown price tier fields cached"),
    ],
)
def test_malformed_prices_in_code_are_refused(price: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        set_prices({"custom": {"bad-1": price}})
    assert prices.per_token("custom", "bad-1") is None


def test_a_pricing_file_skips_its_malformed_prices_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "prices.json"
    # json writes NaN and Infinity, which json.loads reads back as floats.
    models = {
        "nan-1": {"input": float("nan")},
        "inf-1": {"input": 1.0, "output": float("inf")},
        "text-1": {"input": "0.5"},
        "neg-1": {"input": -1.0},
        "good-1": {"input": 2.0, "output": 3.0},
    }
    path.write_text(json.dumps({"providers": {"acme": {"models": models}}}))
    with caplog.at_level(logging.WARNING, logger="llm_otel"):
        set_prices(file=path)
    assert [r.getMessage() for r in caplog.records] == [
        f"llm-otel: the pricing file {path} has 4 malformed price(s), skipped: "
        "acme 'nan-1' (Price.input must be a finite number >= 0, got nan); "
        "acme 'inf-1' (Price.output must be a finite number >= 0, got inf); "
        "acme 'text-1' (Price.input must be a finite number >= 0, got '0.5'); "
        "acme 'neg-1' (Price.input must be a finite number >= 0, got -1.0)"
    ]
    assert prices.per_token("acme", "good-1") == pytest.approx((2e-6, 2e-6, 2e-6, 3e-6, 3e-6))
    assert [prices.per_token("acme", m) for m in ("nan-1", "inf-1", "text-1", "neg-1")] == [None] * 4
