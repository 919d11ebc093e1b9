"""The service around the LLM calls: a real FastAPI app under uvicorn and a real gRPC server, each under
``opentelemetry-instrument`` on loopback, whose handlers make OpenAI calls against the fake provider.

The call's span nests under the server's; /metrics carries the server's HTTP metrics and the
process's own series beside ours; and without prometheus_client everything else goes on.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from _receivers import OtlpReceiver, free_port, wait_for
from llm_otel.fake import FakeProvider

grpc = pytest.importorskip("grpc")
pytest.importorskip("fastapi")
pytest.importorskip("opentelemetry.instrumentation.fastapi")
pytest.importorskip("opentelemetry.instrumentation.grpc")
pytest.importorskip("opentelemetry.instrumentation.system_metrics")

BIN = Path(sys.executable).parent
APPS = Path(__file__).parent / "servers"
SERVER_KIND = 2  # SPAN_KIND_SERVER in OTLP


def environ(fake: FakeProvider, otlp: OtlpReceiver, metrics_port: int) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLM_OTEL_"))}
    return {
        **clean,
        "FAKE_OPENAI_URL": fake.openai_base_url,
        "PYTHONPATH": str(APPS),
        "OTEL_SERVICE_NAME": "service-under-test",
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint,
        "OTEL_EXPORTER_PROMETHEUS_HOST": "127.0.0.1",
        "OTEL_EXPORTER_PROMETHEUS_PORT": str(metrics_port),
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OTEL_LOGS_EXPORTER": "none",
    }


def get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return str(response.read().decode())
    except OSError:
        return None


def samples(body: str) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample)
    return found


def nested_calls(otlp: OtlpReceiver, server_span: str, count: int) -> None:
    """``count`` chat spans, each the child of a SERVER span named ``server_span``, in its trace."""

    def pairs() -> list[tuple[Any, Any]] | None:
        spans = otlp.spans()
        servers = {s.span_id: s for s in spans if s.kind == SERVER_KIND and s.name == server_span}
        chats = [s for s in spans if s.name == "chat gpt-4o-mini"]
        return [(c, servers[c.parent_span_id]) for c in chats if c.parent_span_id in servers] or None

    found = wait_for(lambda: (p := pairs()) is not None and len(p) >= count and p, f"{count} nested calls")
    assert len(found) == count
    assert all(chat.trace_id == server.trace_id for chat, server in found)


@pytest.fixture
def otlp() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver()
    yield receiver
    receiver.close()


def test_a_fastapi_apps_calls_nest_under_its_requests_and_its_metrics_share_one_metrics(
    fake: FakeProvider, otlp: OtlpReceiver
) -> None:
    port, metrics_port = free_port(), free_port()
    process = subprocess.Popen(
        [str(BIN / "opentelemetry-instrument"), str(BIN / "uvicorn"), "fastapi_app:app",
         "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
        env=environ(fake, otlp, metrics_port), cwd=APPS, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for(lambda: get(f"http://127.0.0.1:{port}/docs"), "the app")
        for topic in ("weather", "tides", "stars"):
            assert json.loads(get(f"http://127.0.0.1:{port}/ask/{topic}") or "{}")["answer"]
        nested_calls(otlp, "GET /ask/{topic}", 3)
        body = get(f"http://127.0.0.1:{metrics_port}/metrics") or ""
        found = samples(body)
        [requests] = [
            s for s in found["http_server_request_duration_seconds_count"] if s.labels["http_route"] == "/ask/{topic}"
        ]
        assert requests.value == 3
        assert sum(s.value for s in found["gen_ai_client_operation_duration_seconds_count"]) == 3
        assert found["process_memory_usage_bytes"][0].value > 0
        assert "cpython_gc_collections_total" in found
        # Process-level series only: no per-CPU, per-disk or per-interface series of the host.
        assert not [name for name in found if name.startswith("system_")]
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=60)
    assert "Traceback" not in stderr, stderr


def test_a_grpc_servers_calls_nest_under_its_rpcs(fake: FakeProvider, otlp: OtlpReceiver) -> None:
    process = subprocess.Popen(
        [str(BIN / "opentelemetry-instrument"), sys.executable, str(APPS / "grpc_server.py")],
        env=environ(fake, otlp, free_port()), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            ask = channel.unary_unary("/llm.Chat/Ask")
            assert ask(b"hello", timeout=30)
            assert ask(b"again", timeout=30)
        nested_calls(otlp, "/llm.Chat/Ask", 2)
    finally:
        _, stderr = process.communicate("done\n", timeout=60)
    assert process.returncode == 0, stderr


INSTRUMENT = """
    import json, urllib.request
    import llm_otel
    pipeline = llm_otel.configure(
        prometheus_host="127.0.0.1", prometheus_port=0, traces_exporter="none", logs_exporter="none",
        metrics_exporter="prometheus",
    )
    print(json.dumps(llm_otel.instrument()))
    print(json.dumps(llm_otel.instrument()))  # twice: the same, nothing instrumented twice
    with urllib.request.urlopen(pipeline.metrics_url) as response:
        print(response.read().decode())
"""


def test_instrument_loads_the_service_instrumentations_whose_library_is_present() -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLM_OTEL_"))}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(INSTRUMENT)],
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    first, second, body = done.stdout.split("\n", 2)
    loaded = json.loads(first)
    assert loaded == json.loads(second)
    assert {"system_metrics", "fastapi", "grpc_server", "requests", "httpx"} <= set(loaded)
    assert [name.split()[0] for name in loaded[:2]] == ["openai", "anthropic"]  # the SDKs' requirements first
    for absent in ("flask", "django"):  # their instrumentations are installed, their libraries are not
        assert (absent in loaded) == (importlib.util.find_spec(absent) is not None)
    found = samples(body)
    assert found["process_memory_usage_bytes"][0].value > 0
    assert not [name for name in found if name.startswith("system_")]
    assert "ERROR" not in done.stderr and "Traceback" not in done.stderr, done.stderr


WITHOUT_PROMETHEUS = """
    import importlib.abc, os, sys

    class NoPrometheusClient(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.startswith(("prometheus_client", "opentelemetry.exporter.prometheus")):
                raise ImportError(f"No module named {name!r}")
            return None

    sys.meta_path.insert(0, NoPrometheusClient())
    import llm_otel, openai
    pipeline = llm_otel.configure(logs_exporter="none", metric_export_interval_ms=200)
    llm_otel.instrument()
    client = openai.OpenAI(base_url=os.environ["FAKE_OPENAI_URL"], api_key="test", max_retries=0)
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    print(pipeline.metrics_url, bool(answer.choices[0].message.content))
    print(pipeline.stats.stats()["calls"][0]["requests"])
"""


def test_without_prometheus_client_everything_else_goes_on_with_one_line(
    fake: FakeProvider, otlp: OtlpReceiver
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(WITHOUT_PROMETHEUS)],
        env=environ(fake, otlp, free_port()), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["None", "True", "1"]
    lines = [line for line in done.stderr.splitlines() if "Prometheus" in line]
    assert len(lines) == 1 and "no Prometheus exporter" in lines[0], done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    wait_for(lambda: "gen_ai.client.operation.duration" in otlp.metric_names(), "metrics over OTLP")
    assert any(span.name == "chat gpt-4o-mini" for span in otlp.spans())
