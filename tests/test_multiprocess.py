"""Pre-fork servers: one /metrics, /v1/stats and /health for every worker, added up exactly.

Real gunicorn and uvicorn processes under ``llm-otel run`` on loopback, an app making one OpenAI call
per request against the fake provider, spans to a real OTLP receiver; and the merge itself checked
against a single process that recorded everything.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricsData
from opentelemetry.sdk.resources import Resource
from prometheus_client.parser import text_string_to_metric_families

from _receivers import OtlpReceiver, free_port, wait_for
from llm_otel.fake import FakeProvider
from llm_otel.setup._multiprocess import DIR_ENV, ROOT_ENV, merge, snapshot, subtract, to_metrics_data
from llm_otel.setup._pipeline import build
from llm_otel.setup._settings import resolve

pytest.importorskip("gunicorn")
pytest.importorskip("uvicorn")

BIN = Path(sys.executable).parent
APPS = Path(__file__).parent / "servers"
CALLS = "gen_ai_client_operation_duration_seconds"

SERVERS = {
    "gunicorn-sync": ["gunicorn", "-w", "3", "wsgi_app:app"],
    "gunicorn-gthread-preload": ["gunicorn", "-w", "2", "-k", "gthread", "--threads", "4", "--preload", "wsgi_app:app"],
    "gunicorn-uvicorn-workers": ["gunicorn", "-w", "2", "-k", "uvicorn_worker.UvicornWorker", "asgi_app:app"],
    # uvicorn kills a worker that has not answered its health check within 5 s, and a worker's start
    # (the auto-instrumentation imports every instrumented library) takes longer on a loaded machine.
    "uvicorn-workers": [
        "uvicorn",
        "--workers",
        "3",
        "--timeout-worker-healthcheck",
        "60",
        "--no-access-log",
        "asgi_app:app",
    ],
}


class Server:
    """``llm-otel run -- <server>`` on loopback; requests in, /metrics and spans out."""

    def __init__(self, command: list[str], fake: FakeProvider, otlp: OtlpReceiver) -> None:
        self.port, self.metrics_port = free_port(), free_port()
        self._otlp = otlp
        if command[0] == "gunicorn":
            bind = ["-b", f"127.0.0.1:{self.port}", "--no-control-socket", "--graceful-timeout", "10"]
        else:
            bind = ["--host", "127.0.0.1", "--port", str(self.port)]
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLM_OTEL_"))}
        environ.update(
            FAKE_OPENAI_URL=fake.openai_base_url,
            PYTHONPATH=str(APPS),
            OTEL_SERVICE_NAME="prefork",
            OTEL_EXPORTER_OTLP_ENDPOINT=otlp.endpoint,
            OTEL_EXPORTER_PROMETHEUS_HOST="127.0.0.1",
            OTEL_EXPORTER_PROMETHEUS_PORT=str(self.metrics_port),
            OTEL_BSP_SCHEDULE_DELAY="100",
            LLM_OTEL_SHUTDOWN_TIMEOUT="5",
        )
        self.process = subprocess.Popen(
            [str(BIN / "llm-otel"), "run", "--", str(BIN / command[0]), *command[1:], *bind],
            env=environ,
            cwd=APPS,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group: a failed test kills the workers too
        )
        self.sent = 0
        self.pids: set[int] = set()
        wait_for(lambda: self._get(f"http://127.0.0.1:{self.metrics_port}/health", 1), "the server's /health")

    def _get(self, url: str, timeout_s: float = 10) -> str | None:
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as response:
                return str(response.read().decode())
        except OSError:
            return None

    def request(self, count: int) -> None:
        """``count`` requests, six at a time so that every worker takes some."""

        def one(_: int) -> int:
            # A long timeout: a request given up on may still be served, and its retry would count a
            # call the test never sent. Refused or reset ones (nothing served) are retried.
            url = f"http://127.0.0.1:{self.port}/"
            return int(wait_for(lambda: self._get(url, 120), "the app", timeout_s=120))

        with ThreadPoolExecutor(6) as pool:
            self.pids.update(pool.map(one, range(count)))
        self.sent += count

    def spread(self) -> None:
        """Requests until at least two workers have answered: the sums below are then real sums."""
        while len(self.pids) < 2:
            self.request(12)

    def calls(self) -> float:
        """The call count /metrics shows, over every series."""
        body = self._get(f"http://127.0.0.1:{self.metrics_port}/metrics") or ""
        return sum(
            sample.value
            for family in text_string_to_metric_families(body)
            for sample in family.samples
            if sample.name == f"{CALLS}_count"
        )

    def stats(self) -> dict[str, Any]:
        return dict(json.loads(self._get(f"http://127.0.0.1:{self.metrics_port}/v1/stats") or "{}"))

    def spans(self) -> int:
        return sum(1 for span in self._otlp.spans() if span.name.startswith("chat "))

    def settle(self) -> None:
        """Wait until /metrics and the receiver show every request sent: exactly, not just at least."""
        wait_for(lambda: self.calls() >= self.sent and self.spans() >= self.sent, f"{self.sent} calls")
        assert self.calls() == self.sent
        assert self.spans() == self.sent
        [entry] = self.stats()["calls"]
        assert entry["requests"] == self.sent

    def stop(self) -> str:
        self.process.send_signal(signal.SIGTERM)
        _, stderr = self.process.communicate(timeout=60)
        assert self.process.returncode == 0, stderr
        return str(stderr)


@pytest.fixture
def otlp() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def start(fake: FakeProvider, otlp: OtlpReceiver) -> Iterator[Any]:
    started: list[Server] = []

    def run(command: list[str]) -> Server:
        started.append(Server(command, fake, otlp))
        return started[-1]

    yield run
    for server in started:
        if server.process.poll() is None:
            # The whole group: workers left behind would hold stderr open and hang communicate().
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.communicate()


@pytest.mark.parametrize("command", SERVERS.values(), ids=SERVERS.keys())
def test_every_workers_calls_add_up_on_the_servers_one_metrics(start: Any, command: list[str]) -> None:
    server = start(command)
    server.spread()
    server.request(10)
    server.settle()
    health = json.loads(server._get(f"http://127.0.0.1:{server.metrics_port}/health") or "{}")
    assert health["providers"]["openai"]["calls"] == server.sent
    stderr = server.stop()
    # Workers leave promptly and cleanly: no exporter left waiting on a thread the fork did not copy.
    assert "not flushed" not in stderr
    assert "Traceback" not in stderr, stderr


def test_recycled_workers_keep_their_counts_and_counters_never_go_back(start: Any) -> None:
    server = start(["gunicorn", "-w", "2", "--max-requests", "4", "wsgi_app:app"])
    seen = [0.0]
    for _ in range(5):
        server.request(6)
        seen.append(server.calls())
    server.settle()
    assert seen == sorted(seen), "the count went backwards when a worker was recycled"
    assert len(server.pids) > 2, "no worker was recycled"
    server.stop()


def test_a_killed_worker_loses_nothing_already_recorded_and_a_terminated_one_nothing_at_all(start: Any) -> None:
    server = start(["gunicorn", "-w", "3", "wsgi_app:app"])
    server.spread()
    server.settle()
    killed, terminated = sorted(server.pids)[:2]
    os.kill(killed, signal.SIGKILL)  # after its last snapshot: what it counted stays
    os.kill(terminated, signal.SIGTERM)  # exits through its final snapshot
    before = set(server.pids)
    while not server.pids - before:  # until a worker the master started in their place answers
        server.request(6)
    server.settle()
    server.stop()


FORKED = """
    import multiprocessing, os, sys, urllib.request
    import llm_otel, openai

    pipeline = llm_otel.configure(prometheus_host="127.0.0.1", prometheus_port=0, logs_exporter="none")
    llm_otel.instrument()

    def calls(count):
        # One client per process: a forked child must not share its parent's pooled keep-alive sockets.
        client = openai.OpenAI(base_url=os.environ["FAKE_OPENAI_URL"], api_key="test", max_retries=0)
        for _ in range(count):
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])

    calls(2)  # before the fork: the children inherit these counts and must not report them again
    children = [multiprocessing.get_context("fork").Process(target=calls, args=(3,)) for _ in range(2)]
    for child in children:
        child.start()
    pid = os.fork()
    if pid == 0:
        calls(1)
        sys.exit(0)
    for child in children:
        child.join()
    os.waitpid(pid, 0)
    with urllib.request.urlopen(pipeline.metrics_url) as response:
        print(response.read().decode())
"""


def test_processes_forked_after_configure_report_to_the_parents_metrics(fake: FakeProvider, otlp: OtlpReceiver) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLM_OTEL_"))}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(FORKED)],
        env={
            **environ,
            "FAKE_OPENAI_URL": fake.openai_base_url,
            "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    counts = [
        sample.value
        for family in text_string_to_metric_families(done.stdout)
        for sample in family.samples
        if sample.name == f"{CALLS}_count"
    ]
    assert counts == [2 + 3 + 3 + 1]
    # Every process flushed its spans at exit, multiprocessing's children (which skip atexit) included.
    assert sum(1 for span in otlp.spans() if span.name.startswith("chat ")) == 9
    assert "not flushed" not in done.stderr


OTHER_PROGRAM = """
    import llm_otel
    pipeline = llm_otel.configure(prometheus_host="127.0.0.1", prometheus_port={port}, logs_exporter="none")
    print(pipeline.shared.serving, pipeline.metrics_url)
"""


def test_a_program_started_with_another_metrics_address_serves_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the workers a server starts (same environment, same address) join it; a job it runs does not."""
    for name in [k for k in os.environ if k.startswith(("OTEL_", "LLM_OTEL_"))]:
        monkeypatch.delenv(name)
    settings_ = resolve({"prometheus_host": "127.0.0.1", "prometheus_port": 0, "logs_exporter": "none"}, environ={})
    pipeline = build(settings_, {})
    try:
        assert pipeline.shared is not None and pipeline.shared.serving
        assert os.environ[DIR_ENV] == str(pipeline.shared.path)
        port = free_port()
        script = textwrap.dedent(OTHER_PROGRAM).format(port=port)
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
        assert done.stdout.split() == ["True", f"http://127.0.0.1:{port}/metrics"]
    finally:
        pipeline.shutdown()
    # Once it stops serving, processes started later are on their own too.
    assert DIR_ENV not in os.environ and ROOT_ENV not in os.environ


# --- the merge, against one process that recorded everything ---------------------------------------

Recording = tuple[int, str, float]  # (process, model, value)


def _record(providers: list[tuple[MeterProvider, InMemoryMetricReader]], recordings: list[Recording]) -> None:
    for process, model, value in recordings:
        meter = providers[process][0].get_meter("llm_otel")
        attributes = {"gen_ai.request.model": model}
        meter.create_counter("calls").add(1, attributes)
        meter.create_histogram("latency", explicit_bucket_boundaries_advisory=[0.1, 1, 10]).record(value, attributes)
        meter.create_up_down_counter("in_flight").add(1, attributes)


def _collect(reader: InMemoryMetricReader) -> MetricsData | None:
    return reader.get_metrics_data()


def _points(data: MetricsData | None) -> dict[tuple[str, str], Any]:
    found: dict[tuple[str, str], Any] = {}
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    key = (metric.name, str(sorted(point.attributes.items())))
                    if hasattr(point, "bucket_counts"):
                        found[key] = (point.count, round(point.sum, 9), list(point.bucket_counts))
                    else:
                        found[key] = point.value
    return found


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 2), st.sampled_from(["a", "b"]), st.floats(0, 20, allow_nan=False)),
        max_size=30,
    ),
    st.sets(st.integers(1, 2)),
)
def test_merged_workers_equal_one_process_that_recorded_it_all(recordings: list[Recording], exited: set[int]) -> None:
    """Counters and histograms sum over every process, exited ones too; up-down counters over live ones."""
    processes = [(MeterProvider(metric_readers=[r]), r) for r in (InMemoryMetricReader() for _ in range(3))]
    single = InMemoryMetricReader()
    everything = MeterProvider(metric_readers=[single])
    live_only = InMemoryMetricReader()
    live = MeterProvider(metric_readers=[live_only])
    _record(processes, recordings)
    _record([(everything, single)] * 3, recordings)
    _record([(live, live_only)] * 3, [r for r in recordings if r[0] not in exited])

    snapshots = [
        (snapshot(_collect(reader), {}, {}, final=index in exited), index not in exited)
        for index, (_, reader) in enumerate(processes)
    ]
    merged = _points(to_metrics_data(merge(snapshots), Resource.create({}), 0, 1))
    expected = _points(_collect(single))
    expected_live = _points(_collect(live_only))
    for key, value in expected.items():
        if key[0] == "in_flight":
            assert merged.get(key, 0) == expected_live.get(key, 0)
        else:
            assert merged[key] == value
    assert {k for k in merged if k[0] != "in_flight"} == {k for k in expected if k[0] != "in_flight"}


def test_a_forked_worker_reports_only_what_it_counted_itself() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    _record([(provider, reader)], [(0, "a", 0.5), (0, "a", 5.0)])
    baseline = snapshot(_collect(reader), {}, {}, final=False)  # the parent's state at the fork
    _record([(provider, reader)], [(0, "a", 0.05)])
    own = _points(
        to_metrics_data(
            merge([(subtract(snapshot(_collect(reader), {}, {}, final=False), baseline), True)]),
            Resource.create({}),
            0,
            1,
        )
    )
    assert own[("calls", "[('gen_ai.request.model', 'a')]")] == 1
    assert own[("latency", "[('gen_ai.request.model', 'a')]")] == (1, 0.05, [1, 0, 0, 0])


def test_a_server_shut_down_leaves_no_directory_for_processes_started_later(monkeypatch: pytest.MonkeyPatch) -> None:
    from llm_otel.setup._multiprocess import DIR_ENV, ROOT_ENV
    from llm_otel.setup._pipeline import build
    from llm_otel.setup._settings import resolve

    monkeypatch.delenv(DIR_ENV, raising=False)
    monkeypatch.delenv(ROOT_ENV, raising=False)
    settings = resolve(
        {"traces_exporter": "none", "metrics_exporter": "prometheus", "logs_exporter": "none", "prometheus_port": 0},
        environ={},
    )
    first, second = build(settings, environ={}), build(settings, environ={})
    assert os.environ[ROOT_ENV].startswith(f"{os.getpid()}@")
    assert first.shutdown()
    assert second.shutdown()
    assert DIR_ENV not in os.environ
    assert ROOT_ENV not in os.environ


def test_a_snapshot_taken_before_a_workers_final_one_never_lands_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llm_otel.setup import _multiprocess

    monkeypatch.setattr(_multiprocess, "WRITE_INTERVAL_S", 0.01)
    shared = _multiprocess.Shared(tmp_path, os.getppid(), owned=False)  # a worker of another process
    taking, release = threading.Event(), threading.Event()

    def take(final: bool) -> dict[str, Any]:
        if not final:
            taking.set()
            release.wait(10)  # a periodic snapshot, slow to collect, still being taken at exit
        return {"pid": os.getpid(), "final": final, "metrics": [], "window": {}, "breakers": {}}

    shared.start_writing(take)
    assert taking.wait(10)
    shared.finish_writing(take)
    release.set()
    for thread in threading.enumerate():
        if thread.name == "llm-otel-snapshots":
            thread.join(10)
    assert json.loads((tmp_path / f"{os.getpid()}.json").read_text())["final"] is True
