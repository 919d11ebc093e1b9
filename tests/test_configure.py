"""configure(): settings from environment and arguments, idempotence, coexistence with providers the
application installed, OTEL_SDK_DISABLED, several worker processes, and a bounded exit."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import subprocess
import sys
import textwrap

import pytest

from _receivers import free_port
from llm_otel import _log
from llm_otel.setup._settings import Settings, resolve


def test_defaults_fan_metrics_out_to_prometheus_and_otlp() -> None:
    settings = resolve({}, environ={})
    assert settings == Settings()
    assert settings.metrics_exporter == ("prometheus", "otlp")
    assert (settings.prometheus_host, settings.prometheus_port) == ("localhost", 9464)


def test_standard_variables_are_read() -> None:
    settings = resolve(
        {},
        environ={
            "OTEL_SERVICE_NAME": "svc",
            "OTEL_TRACES_EXPORTER": "console",
            "OTEL_METRICS_EXPORTER": "prometheus",
            "OTEL_LOGS_EXPORTER": "none",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            "OTEL_EXPORTER_PROMETHEUS_HOST": "0.0.0.0",
            "OTEL_EXPORTER_PROMETHEUS_PORT": "9500",
            "OTEL_METRIC_EXPORT_INTERVAL": "15000",
            "OTEL_SDK_DISABLED": "TRUE",
            "LLM_OTEL_PROMETHEUS_PORT_ATTEMPTS": "4",
            "LLM_OTEL_CARDINALITY_LIMIT": "500",
            "LLM_OTEL_SHUTDOWN_TIMEOUT": "1.5",
            "LLM_OTEL_HEALTH_WINDOW": "30",
            "LLM_OTEL_HEALTH_THRESHOLD": "0.9",
        },
    )
    assert settings == Settings(
        service_name="svc",
        traces_exporter=("console",),
        metrics_exporter=("prometheus",),
        logs_exporter=(),
        otlp_protocol="grpc",
        prometheus_host="0.0.0.0",
        prometheus_port=9500,
        prometheus_port_attempts=4,
        metric_export_interval_ms=15000,
        cardinality_limit=500,
        shutdown_timeout_s=1.5,
        health_window_s=30.0,
        health_threshold=0.9,
        disabled=True,
    )


def test_arguments_override_the_environment() -> None:
    settings = resolve(
        {"prometheus_port": 9600, "metrics_exporter": ["otlp"], "service_name": None},
        environ={"OTEL_EXPORTER_PROMETHEUS_PORT": "9500", "OTEL_SERVICE_NAME": "from-env"},
    )
    assert settings.prometheus_port == 9600
    assert settings.metrics_exporter == ("otlp",)
    assert settings.service_name == "from-env"  # None means "not given"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"prometheus_port": "nine"}, "prometheus_port must be a whole number"),
        ({"prometheus_port": 70000}, "prometheus_port must be between 0 and 65535"),
        ({"prometheus_port": 9464.5}, "prometheus_port must be a whole number"),
        ({"metrics_exporter": "prometheus,zipkin"}, "unknown metrics exporter zipkin"),
        ({"traces_exporter": "prometheus"}, "unknown traces exporter prometheus"),
        ({"otlp_protocol": "http/json"}, "otlp_protocol must be one of"),
        ({"health_threshold": 1.5}, "health_threshold must be between 0.0 and 1.0"),
        ({"health_threshold": float("nan")}, "health_threshold must be between"),
        ({"health_window_s": float("inf")}, "health_window_s must be between"),
        ({"health_window_s": "nan"}, "health_window_s must be between"),
        ({"shutdown_timeout_s": 1e12}, "shutdown_timeout_s must be between 0.001 and 3600.0"),
        ({"metric_export_interval_ms": "1e400"}, "metric_export_interval_ms must be a whole number"),
        ({"cardinality_limit": 0}, "cardinality_limit must be between 1 and"),
        ({"shutdown_timeout_s": True}, "shutdown_timeout_s must be a number"),
        ({"service_name": "  "}, "service_name must be a non-empty string"),
    ],
)
def test_a_bad_argument_raises_a_clear_error(arguments: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve(arguments, environ={})


def test_an_unknown_argument_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="unexpected arguments: prometheus_prot"):
        resolve({"prometheus_prot": 1}, environ={})


def test_a_bad_environment_value_is_logged_once_and_replaced_by_the_default(caplog: pytest.LogCaptureFixture) -> None:
    _log._last.clear()
    environ = {"OTEL_EXPORTER_PROMETHEUS_PORT": "ninety", "OTEL_METRICS_EXPORTER": "statsd"}
    with caplog.at_level(logging.WARNING, logger="llm_otel"):
        first = resolve({}, environ=environ)
        resolve({}, environ=environ)
    assert first.prometheus_port == 9464
    assert first.metrics_exporter == ("prometheus", "otlp")
    lines = sorted(r.getMessage() for r in caplog.records)
    assert len(lines) == 2, lines
    assert "ignoring OTEL_EXPORTER_PROMETHEUS_PORT='ninety'" in lines[0]
    assert "unknown metrics exporter statsd" in lines[1]


def run(script: str, **environ: str) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter: configure() installs process-wide providers, once."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLM_OTEL_"))}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        env={**clean, **environ},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_configure_installs_the_providers_once() -> None:
    done = run(
        """
        import json
        import llm_otel
        from opentelemetry import metrics, trace, _logs

        pipeline = llm_otel.configure(prometheus_port=0, prometheus_host="127.0.0.1")
        again = llm_otel.configure(prometheus_port=0, prometheus_host="127.0.0.1")
        print(json.dumps({
            "same": again is pipeline,
            "tracer": trace.get_tracer_provider() is pipeline.tracer_provider,
            "meter": metrics.get_meter_provider() is pipeline.meter_provider,
            "logger": _logs.get_logger_provider() is pipeline.logger_provider,
            "metrics_url": pipeline.metrics_url,
            "service": pipeline.stats.service_name,
        }))
        """,
        OTEL_SERVICE_NAME="configured",
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{free_port()}",
        LLM_OTEL_SHUTDOWN_TIMEOUT="0.5",
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report.pop("metrics_url").startswith("http://127.0.0.1:")
    assert report == {"same": True, "tracer": True, "meter": True, "logger": True, "service": "configured"}


def test_configure_keeps_the_providers_the_application_installed() -> None:
    done = run(
        """
        import json
        import llm_otel
        from opentelemetry import metrics, trace
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.trace import TracerProvider

        tracer_provider, meter_provider = TracerProvider(), MeterProvider()
        trace.set_tracer_provider(tracer_provider)
        metrics.set_meter_provider(meter_provider)
        pipeline = llm_otel.configure(logs_exporter="none")
        print(json.dumps({
            "tracer": trace.get_tracer_provider() is tracer_provider,
            "meter": metrics.get_meter_provider() is meter_provider,
            "served": pipeline.metrics_url,
            "exporters": [pipeline.settings.traces_exporter, pipeline.settings.metrics_exporter],
        }))
        """
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"tracer": True, "meter": True, "served": None, "exporters": [[], []]}
    assert "keeping the application's own providers for metrics_exporter, traces_exporter" in done.stderr


def test_sdk_disabled_configures_nothing() -> None:
    done = run(
        """
        import llm_otel
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider

        assert llm_otel.configure() is None
        assert not isinstance(trace.get_tracer_provider(), TracerProvider)
        print("ok")
        """,
        OTEL_SDK_DISABLED="true",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


WORKER = """
    import sys
    import llm_otel

    pipeline = llm_otel.configure(traces_exporter="none", metrics_exporter="prometheus", logs_exporter="none")
    print(pipeline.metrics_url, flush=True)
    sys.stdin.readline()
"""


def test_worker_processes_take_consecutive_ports_and_an_extra_one_carries_on_without() -> None:
    port = free_port(consecutive=2)
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLM_OTEL_"))},
        "OTEL_EXPORTER_PROMETHEUS_HOST": "127.0.0.1",
        "OTEL_EXPORTER_PROMETHEUS_PORT": str(port),
        "LLM_OTEL_PROMETHEUS_PORT_ATTEMPTS": "2",
    }
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(WORKER)],
            env=environ,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    urls = []
    for worker in workers:  # started together, they race for the ports; each reports what it got
        assert worker.stdout is not None
        urls.append(worker.stdout.readline().strip())
    results = [worker.communicate("\n", timeout=60) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0, 0], [err for _, err in results]
    served = sorted(url for url in urls if url != "None")
    assert served == [f"http://127.0.0.1:{port}/metrics", f"http://127.0.0.1:{port + 1}/metrics"]
    [unserved] = [err for url, (_, err) in zip(urls, results, strict=True) if url == "None"]
    assert "cannot serve /metrics" in unserved


def test_a_short_script_with_the_collector_down_exits_with_one_line_per_problem() -> None:
    done = run(
        """
        import llm_otel
        from opentelemetry import trace, metrics

        llm_otel.configure(metrics_exporter="otlp")
        tracer = trace.get_tracer("script")
        counter = metrics.get_meter("script").create_counter("script.work")
        for _ in range(20):
            with tracer.start_as_current_span("work"):
                counter.add(1)
        """,
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{free_port()}",
        LLM_OTEL_SHUTDOWN_TIMEOUT="1",
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) <= 2, lines
    assert any("not flushed within 1.0 s" in line for line in lines), lines


def test_doctor_reports_sdks_exporters_and_whether_the_collector_answers() -> None:
    from _receivers import OtlpReceiver

    receiver = OtlpReceiver()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "llm_otel.cli", "doctor", "--json"],
            env={
                **{k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLM_OTEL_"))},
                "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
                "OTEL_METRICS_EXPORTER": "prometheus",
                "OTEL_LOGS_EXPORTER": "none",
                "OTEL_EXPORTER_PROMETHEUS_PORT": str(free_port()),
            },
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        receiver.close()
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    openai_row = next(row for row in found["sdks"] if row["sdk"] == "openai")
    assert openai_row["supported"] is True
    assert openai_row["patched"] > 0
    assert found["exporters"]["traces"] == [
        {"exporter": "otlp", "endpoint": f"{receiver.endpoint}/v1/traces", "collector": "answers"}
    ]
    [prometheus] = found["exporters"]["metrics"]
    assert prometheus["port"] == "free"
    assert found["exporters"]["logs"] == []
    assert "llm_otel (llm_otel.setup._plugin:Distro)" in found["distros"]
    assert "llm_otel (llm_otel.setup._plugin:Configurator)" in found["configurators"]
    # Service instrumentations are listed where their library is installed too: fastapi, not flask.
    if importlib.util.find_spec("opentelemetry.instrumentation.fastapi"):
        assert {"fastapi", "system_metrics"} <= set(found["services"])
        assert ("flask" in found["services"]) == (importlib.util.find_spec("flask") is not None)


def test_run_without_a_command_explains_itself() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "llm_otel.cli", "run"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert "give the command to run" in done.stderr
