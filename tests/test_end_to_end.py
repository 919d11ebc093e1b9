"""The whole pipeline against real receivers: Prometheus (Debian's server) scraping /metrics, and an
OTLP/HTTP receiver decoding spans, metrics and logs with the official protobuf classes; then the same
from `opentelemetry-instrument` configured by environment alone."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from _receivers import OtlpReceiver, Prometheus, free_port, wait_for
from conftest import MESSAGES, MODEL
from llm_otel._log import event
from llm_otel.fake import Behavior, FakeProvider
from llm_otel.providers.openai import OpenAIInstrumentor
from llm_otel.setup._pipeline import Pipeline, build
from llm_otel.setup._settings import resolve

needs_prometheus = pytest.mark.skipif(
    shutil.which("prometheus") is None,
    reason="the prometheus binary is not installed (Debian package `prometheus`; .ci/run installs it)",
)
OPENAI_LABELS = 'gen_ai_provider_name="openai",gen_ai_operation_name="chat"'


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    found = OtlpReceiver()
    yield found
    found.close()


def otlp_environ(endpoint: str) -> dict[str, str]:
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_METRIC_EXPORT_INTERVAL": "200",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OTEL_BLRP_SCHEDULE_DELAY": "100",
    }


@contextlib.contextmanager
def exporter_environ(endpoint: str) -> Iterator[None]:
    """The OTLP exporters read their endpoint and intervals from os.environ when they are built."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in otlp_environ(endpoint).items():
            patch.setenv(key, value)
        yield


def workload(client: openai.OpenAI) -> None:
    """Three calls, one stream with usage, one provider error."""
    for _ in range(3):
        client.chat.completions.create(model=MODEL, messages=MESSAGES)  # type: ignore[arg-type]
    stream = client.chat.completions.create(
        model=MODEL,
        messages=MESSAGES,  # type: ignore[arg-type]
        stream=True,
        stream_options={"include_usage": True},
    )
    for _ in stream:
        pass
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(
            model=MODEL,
            messages=MESSAGES,  # type: ignore[arg-type]
            extra_headers=Behavior(status=500).header(),
        )


def value(prometheus: Prometheus, promql: str) -> float | None:
    result = prometheus.query(promql)
    return float(result[0]["value"][1]) if result else None


def assert_series(prometheus: Prometheus) -> None:
    """What a scrape of the workload above must show, through Prometheus's HTTP API."""
    duration = f"gen_ai_client_operation_duration_seconds_count{{{OPENAI_LABELS}}}"
    wait_for(lambda: value(prometheus, f"sum({duration})") == 5.0, "5 calls in Prometheus")
    assert value(prometheus, f'sum({duration[:-1]},error_type="openai.InternalServerError"}})') == 1.0
    [series] = prometheus.query(f'{duration[:-1]},error_type=""}}')
    assert series["metric"]["gen_ai_request_model"] == MODEL
    assert series["metric"]["server_address"] == "127.0.0.1"
    assert series["value"][1] == "4"
    ttfc = f"gen_ai_client_operation_time_to_first_chunk_seconds_count{{{OPENAI_LABELS}}}"
    assert value(prometheus, f"sum({ttfc})") == 1.0
    tokens = f"gen_ai_client_token_usage_sum{{{OPENAI_LABELS}}}"
    assert value(prometheus, f'sum({tokens[:-1]},gen_ai_token_type="input"}})') == 4 * 6
    assert value(prometheus, f'sum({tokens[:-1]},gen_ai_token_type="output"}})') == 4 * 12
    assert value(prometheus, 'llm_otel_provider_health{gen_ai_provider_name="openai"}') == 0.8
    buckets = prometheus.query(f'gen_ai_client_operation_duration_seconds_bucket{{{OPENAI_LABELS},error_type=""}}')
    assert sorted(float(b["metric"]["le"]) for b in buckets)[:3] == [0.01, 0.02, 0.04]


def assert_otlp(receiver: OtlpReceiver, service: str) -> None:
    spans = wait_for(lambda: len(receiver.spans()) >= 5 and receiver.spans(), "5 spans over OTLP")
    chat_spans = [s for s in spans if s.name == f"chat {MODEL}"]
    assert len(chat_spans) == 5
    errors = [s for s in chat_spans if s.status.code == 2]
    assert len(errors) == 1
    attributes = {kv.key: kv.value for kv in errors[0].attributes}
    assert attributes["error.type"].string_value == "openai.InternalServerError"
    assert attributes["gen_ai.provider.name"].string_value == "openai"
    wait_for(
        lambda: {"gen_ai.client.operation.duration", "gen_ai.client.token.usage"} <= receiver.metric_names(),
        "metrics over OTLP",
    )
    assert {"gen_ai.client.operation.time_to_first_chunk", "llm_otel.provider.health"} <= receiver.metric_names()
    assert all(r.get("service.name") == service for r in receiver.resources("/v1/traces"))
    assert all(r.get("service.name") == service for r in receiver.resources("/v1/metrics"))


@pytest.fixture
def pipeline(receiver: OtlpReceiver) -> Iterator[Pipeline]:
    settings = resolve({"service_name": "e2e", "prometheus_host": "127.0.0.1", "prometheus_port": 0}, environ={})
    with exporter_environ(receiver.endpoint):
        built = build(settings, os.environ)
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=built.tracer_provider, meter_provider=built.meter_provider)
    yield built
    instrumentor.uninstrument()
    built.shutdown()


@needs_prometheus
def test_prometheus_and_otlp_receive_the_same_run(
    pipeline: Pipeline, receiver: OtlpReceiver, fake: FakeProvider, tmp_path: Path
) -> None:
    assert pipeline.endpoints is not None
    prometheus = Prometheus(f"127.0.0.1:{pipeline.endpoints.port}", tmp_path)
    try:
        client = openai.OpenAI(base_url=f"{fake.url}/v1", api_key="k", max_retries=0)
        workload(client)
        assert_series(prometheus)
        tracer = pipeline.tracer_provider.get_tracer("app")
        with tracer.start_as_current_span("handle request") as parent:
            client.chat.completions.create(model="gpt-4o", messages=MESSAGES)  # type: ignore[arg-type]
            event("app.answered", logging.WARNING, route="openai")
    finally:
        prometheus.close()
    assert pipeline.shutdown()

    assert_otlp(receiver, "e2e")
    [record] = [r for r in receiver.log_records() if r.event_name == "app.answered"]
    trace_id = parent.get_span_context().trace_id.to_bytes(16, "big")
    assert record.trace_id == trace_id
    assert record.span_id == parent.get_span_context().span_id.to_bytes(8, "big")
    child = next(s for s in receiver.spans() if s.name == "chat gpt-4o")
    assert child.trace_id == trace_id
    assert child.parent_span_id == record.span_id
    assert {kv.key: kv.value.string_value for kv in record.attributes} == {"route": "openai"}


APP = textwrap.dedent(
    """
    import os, sys
    import openai

    client = openai.OpenAI(base_url=os.environ["FAKE_URL"] + "/v1", api_key="k", max_retries=0)
    messages = [{"role": "user", "content": "say hello to the test suite"}]
    for _ in range(3):
        client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    for _ in client.chat.completions.create(
        model="gpt-4o-mini", messages=messages, stream=True, stream_options={"include_usage": True}
    ):
        pass
    try:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=messages, extra_headers={"x-fake-behavior": '{"status":500}'}
        )
    except openai.InternalServerError:
        pass
    print("ready", flush=True)
    sys.stdin.readline()  # held open until the test has scraped us
    """
)


def launcher(name: str) -> list[str]:
    """The wrapper command as installed beside the interpreter; ``llm-otel run`` takes a ``--``."""
    found = Path(sys.executable).parent / name
    assert found.exists(), found
    return [str(found), "run", "--"] if name == "llm-otel" else [str(found)]


@needs_prometheus
@pytest.mark.parametrize("command", ["opentelemetry-instrument", "llm-otel"])
def test_a_wrapper_command_with_environment_only(
    command: str, receiver: OtlpReceiver, fake: FakeProvider, tmp_path: Path
) -> None:
    app = tmp_path / "app.py"
    app.write_text(APP)
    port = free_port()
    environ = {
        **os.environ,
        **otlp_environ(receiver.endpoint),
        "OTEL_SERVICE_NAME": "instrumented-app",
        "OTEL_EXPORTER_PROMETHEUS_HOST": "127.0.0.1",
        "OTEL_EXPORTER_PROMETHEUS_PORT": str(port),
        "FAKE_URL": fake.url,
    }
    process = subprocess.Popen(
        [*launcher(command), sys.executable, str(app)],
        env=environ,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    prometheus = None
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        prometheus = Prometheus(f"127.0.0.1:{port}", tmp_path)
        assert_series(prometheus)
    finally:
        if prometheus is not None:
            prometheus.close()
        _, stderr = process.communicate("done\n", timeout=60)
    assert process.returncode == 0, stderr
    assert_otlp(receiver, "instrumented-app")


def test_a_collector_that_is_down_is_never_waited_on_by_a_call(fake: FakeProvider, caplog: Any) -> None:
    """Exports run on the processors' own threads; the failures they meet cost at most one log line."""
    settings = resolve({"metrics_exporter": "otlp", "logs_exporter": "none"}, environ={})
    with exporter_environ(f"http://127.0.0.1:{free_port()}"):
        built = build(settings, os.environ)
    exporter = next(
        p.span_exporter
        for p in built.tracer_provider._active_span_processor._span_processors  # type: ignore[attr-defined]
        if isinstance(p, BatchSpanProcessor)
    )
    export_threads: list[int] = []
    original = exporter.export

    def recording_export(batch: Any) -> Any:
        export_threads.append(threading.get_ident())
        return original(batch)

    exporter.export = recording_export
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=built.tracer_provider, meter_provider=built.meter_provider)
    try:
        client = openai.OpenAI(base_url=f"{fake.url}/v1", api_key="k", max_retries=0)
        caller = threading.get_ident()
        with caplog.at_level(logging.WARNING):
            for _ in range(5):
                client.chat.completions.create(model=MODEL, messages=MESSAGES)  # type: ignore[arg-type]
            wait_for(lambda: export_threads, "an export attempt")
            wait_for(lambda: [r for r in caplog.records if r.name.startswith("opentelemetry.exporter")], "a failure")
        assert caller not in export_threads  # no call exported: the batch processor's thread did
        failures = [r for r in caplog.records if r.name.startswith("opentelemetry.exporter")]
        assert len(failures) <= 1, [r.getMessage() for r in failures]
    finally:
        instrumentor.uninstrument()
        built.shutdown(timeout_s=2)
