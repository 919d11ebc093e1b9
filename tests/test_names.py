"""The one table of names: nothing else spells them, the docs list them all, the opt-in switches them."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from llm_otel.fake import FakeProvider

SRC = Path(__file__).resolve().parents[1] / "src" / "llm_otel"
NAMES = SRC / "telemetry" / "_names.py"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "telemetry.md"
NAME_LIKE = re.compile(
    r"^(?!openai\.(resources\.|_base_client$))(gen_ai|server|error|openai|llm_otel)\.[a-z_.]+$"
)  # not module paths


def _literals(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)}


def test_no_module_but_the_table_spells_a_telemetry_name() -> None:
    offenders = {
        str(path.relative_to(SRC)): sorted(v for v in _literals(path) if NAME_LIKE.match(v))
        for path in SRC.rglob("*.py")
        if path != NAMES
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_docs_list_every_name_of_the_table() -> None:
    names = {v for v in _literals(NAMES) if NAME_LIKE.match(v)}
    assert len(names) > 40
    documented = DOCS.read_text()
    assert sorted(name for name in names if f"`{name}`" not in documented) == []


def _metric_names(env: dict[str, str], base_url: str) -> list[str]:
    script = textwrap.dedent(
        f"""
        import json, openai
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from llm_otel.providers.openai import OpenAIInstrumentor
        reader = InMemoryMetricReader()
        OpenAIInstrumentor().instrument(meter_provider=MeterProvider(metric_readers=[reader]))
        client = openai.OpenAI(base_url="{base_url}", api_key="k", max_retries=0)
        client.chat.completions.create(model="m", messages=[{{"role": "user", "content": "a b"}}])
        client.embeddings.create(model="e", input="a b c")
        data = reader.get_metrics_data()
        print(json.dumps(sorted({{m.name for r in data.resource_metrics for s in r.scope_metrics for m in s.metrics}})))
        """
    )
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    return list(json.loads(run.stdout))


def test_experimental_opt_in_switches_metric_names(fake: FakeProvider) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OTEL_SEMCONV_STABILITY_OPT_IN"}
    assert _metric_names(env, fake.openai_base_url) == [
        "gen_ai.client.operation.duration",
        "gen_ai.client.token.usage",
        "llm_otel.client.requests.in_flight",
        "llm_otel.client.unpriced_calls",  # the test's models have no price
    ]
    env["OTEL_SEMCONV_STABILITY_OPT_IN"] = "http, gen_ai_latest_experimental"
    assert _metric_names(env, fake.openai_base_url) == [
        "gen_ai.client.embeddings.duration",
        "gen_ai.client.embeddings.operation.input_tokens",
        "gen_ai.client.inference.duration",
        "gen_ai.client.inference.operation.input_tokens",
        "gen_ai.client.inference.operation.output_tokens",
        "gen_ai.client.inference.usage.input_tokens",  # cache and reasoning counts were 0: not recorded
        "gen_ai.client.inference.usage.output_tokens",
        "llm_otel.client.requests.in_flight",
        "llm_otel.client.unpriced_calls",  # the test's models have no price
    ]
