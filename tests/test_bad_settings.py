"""Any bad value of any variable we or the SDK parts we build read: configure goes on, the call succeeds.

A typo in a deployment must never stop the application: each value below is fed to the pipeline
and to an instrumented OpenAI call against the fake provider.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from _receivers import OtlpReceiver
from conftest import MESSAGES, MODEL
from llm_otel.fake import FakeProvider
from llm_otel.providers.openai import OpenAIInstrumentor
from llm_otel.setup._pipeline import build
from llm_otel.setup._settings import ENV, resolve

VARIABLES = sorted(
    {
        *ENV,
        *(f"OTEL_{kind}_{name}" for kind in ("BSP", "BLRP") for name in ("SCHEDULE_DELAY", "MAX_QUEUE_SIZE")),
        *(f"OTEL_{kind}_{name}" for kind in ("BSP", "BLRP") for name in ("MAX_EXPORT_BATCH_SIZE", "EXPORT_TIMEOUT")),
        "OTEL_EXPORTER_OTLP_TIMEOUT",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_COMPRESSION",
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
        "LLM_OTEL_ATTRIBUTE_VALUE_LIMIT",
        "LLM_OTEL_OPENAI_STREAM_USAGE",
        "LLM_OTEL_PRICING_FILE",
        "LLM_OTEL_MULTIPROCESS_DIR",
        "LLM_OTEL_MULTIPROCESS_ROOT",
    }
)
BAD = st.one_of(
    st.sampled_from(["-1", "0", "nan", "inf", "-inf", "1e400", "1.5", "99999999999999999999", " ", "abc", "true,x"]),
    st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=12),
)


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(variable=st.sampled_from(VARIABLES), value=BAD)
@example(variable="OTEL_BSP_SCHEDULE_DELAY", value="-1")
@example(variable="OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", value="99999")
@example(variable="LLM_OTEL_HEALTH_WINDOW", value="nan")
@example(variable="LLM_OTEL_HEALTH_THRESHOLD", value="inf")
@example(variable="LLM_OTEL_SHUTDOWN_TIMEOUT", value="1e12")
@example(variable="OTEL_METRIC_EXPORT_TIMEOUT", value="-5")
@example(variable="OTEL_BLRP_SCHEDULE_DELAY", value="99999999999999999999")
def test_a_bad_value_never_stops_the_app_or_its_calls(
    variable: str,
    value: str,
    fake: FakeProvider,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.clear()
    died: list[threading.ExceptHookArgs] = []
    monkeypatch.setattr(threading, "excepthook", died.append)  # an export thread killed by a value
    monkeypatch.chdir(tmp_path)  # a bad LLM_OTEL_MULTIPROCESS_DIR is a relative path made here
    receiver = OtlpReceiver()
    with (
        contextlib.closing(receiver),
        environment(
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
                "OTEL_EXPORTER_PROMETHEUS_HOST": "127.0.0.1",
                "OTEL_EXPORTER_PROMETHEUS_PORT": "0",
                "LLM_OTEL_SHUTDOWN_TIMEOUT": "2",
                variable: value,
            }
        ),
    ):
        pipeline = build(resolve({}, os.environ), os.environ)
        instrumentor = OpenAIInstrumentor()
        instrumentor.instrument(tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider)
        try:
            client = openai.OpenAI(base_url=f"{fake.url}/v1", api_key="k", max_retries=0)
            response = client.chat.completions.create(model=MODEL, messages=MESSAGES)  # type: ignore[arg-type]
            assert response.choices[0].message.content
            assert response.model.startswith(MODEL)
        finally:
            instrumentor.uninstrument()
            pipeline.shutdown()
    # Bad values are reported when they are read, not found later as failures of our own code.
    assert not [r for r in caplog.records if "internal error" in r.getMessage()]
    assert not died, [str(d.exc_value) for d in died]
