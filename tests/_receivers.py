"""Real receivers for end-to-end tests: an OTLP/HTTP endpoint decoding with the official protobuf
classes, and a Prometheus server (Debian's binary) scraping a target on loopback."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

_DECODERS: dict[str, Any] = {
    "/v1/traces": ExportTraceServiceRequest,
    "/v1/metrics": ExportMetricsServiceRequest,
    "/v1/logs": ExportLogsServiceRequest,
}
T = TypeVar("T")


def wait_for(probe: Callable[[], T | None], what: str, timeout_s: float = 30.0) -> T:
    """Poll ``probe`` until it returns something truthy; the deadline only bounds a broken run."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class OtlpReceiver:
    """POST /v1/traces, /v1/metrics, /v1/logs (http/protobuf); keeps every decoded request."""

    def __init__(self) -> None:
        self.requests: dict[str, list[Any]] = {path: [] for path in _DECODERS}
        self.threads: set[str] = set()
        received = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                decoder = _DECODERS.get(self.path)
                if decoder is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                message = decoder()
                message.ParseFromString(body)
                received.requests[self.path].append(message)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def spans(self) -> list[Any]:
        return [
            span
            for request in self.requests["/v1/traces"]
            for resource in request.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        ]

    def metric_names(self) -> set[str]:
        return {
            metric.name
            for request in self.requests["/v1/metrics"]
            for resource in request.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
        }

    def log_records(self) -> list[Any]:
        return [
            record
            for request in self.requests["/v1/logs"]
            for resource in request.resource_logs
            for scope in resource.scope_logs
            for record in scope.log_records
        ]

    def resources(self, path: str) -> list[dict[str, str]]:
        field = {"/v1/traces": "resource_spans", "/v1/metrics": "resource_metrics", "/v1/logs": "resource_logs"}[path]
        return [
            {kv.key: kv.value.string_value for kv in item.resource.attributes}
            for request in self.requests[path]
            for item in getattr(request, field)
        ]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class Prometheus:
    """A real Prometheus scraping ``target`` (host:port) every second, on a free loopback port; or run
    with a configuration file of its own (``config``)."""

    def __init__(
        self, target: str | None, workdir: Path, config: Path | None = None, flags: Sequence[str] = ()
    ) -> None:
        binary = shutil.which("prometheus")
        assert binary, "prometheus is not installed"
        if config is None:
            assert target, "a target to scrape, or a configuration"
            config = workdir / "prometheus.yml"
            config.write_text(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                f"scrape_configs:\n  - job_name: app\n    static_configs:\n      - targets: ['{target}']\n"
            )
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        listen = f"127.0.0.1:{port}"
        self._process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address={listen}",
                *flags,
            ],
            stdout=subprocess.DEVNULL,
            stderr=(workdir / "prometheus.log").open("w"),
        )
        wait_for(self._ready, "prometheus to be ready")

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def query(self, promql: str) -> list[dict[str, Any]]:
        document = self.api("query", query=promql)
        assert document["status"] == "success", document
        return list(document["data"]["result"])

    def api(self, path: str, **params: str) -> Any:
        """GET /api/v1/``path``; the decoded document, an error answer (HTTP 400/422) included."""
        url = f"{self.url}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            with error:
                return json.load(error)

    def close(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=10)


def free_port(consecutive: int = 1) -> int:
    """A loopback port P such that P .. P + consecutive - 1 were free a moment ago, for processes that
    must be told their port (several workers take consecutive ones)."""
    for _ in range(50):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if all(_bindable(port + offset) for offset in range(1, consecutive)):
            return port
    raise AssertionError(f"no {consecutive} consecutive free ports")


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
