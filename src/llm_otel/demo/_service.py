"""The demo's own small HTTP service: the workload asks it, and its handler makes the LLM call, as a real
service's request handlers do. With the web and process extras installed, OpenTelemetry's WSGI
middleware and system-metrics record the server's requests and the process on the same pipeline, so
the dashboards' service row has data.
"""

from __future__ import annotations

import random
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from llm_otel._services import SYSTEM_METRICS, installed, instance

from . import _workload
from ._providers import Connected

Perform = Callable[[str, random.Random], None]


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """The demo prints its own progress; no access log."""


def _app(perform: Perform) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        kind = query.get("kind", ["chat"])[0]
        try:
            perform(kind, random.Random(int(query.get("seed", ["0"])[0])))
        except Exception as exc:  # the provider's failure becomes the service's 502, as in a real service
            start_response("502 Bad Gateway", [("Content-Type", "text/plain")])
            return [type(exc).__name__.encode()]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    return app


class Service:
    """The HTTP service on a free loopback port, serving on a thread of its own."""

    def __init__(self, perform: Perform, tracer_provider: Any, meter_provider: Any) -> None:
        app: Any = _app(perform)
        self.recorded = False
        try:
            from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware

            app = OpenTelemetryMiddleware(app, tracer_provider=tracer_provider, meter_provider=meter_provider)
            self.recorded = True
        except ImportError:  # without the web extra the service still runs, unrecorded
            pass
        self._process = next((instance(p) for p in installed() if p.name == SYSTEM_METRICS), None)
        if self._process is not None and not self._process.is_instrumented_by_opentelemetry:
            self._process.instrument(meter_provider=meter_provider)
        self._server = make_server("127.0.0.1", 0, app, server_class=_Server, handler_class=_QuietHandler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="llm-otel-demo-service", daemon=True)
        self._thread.start()

    def ask(self, kind: str, rng: random.Random) -> None:
        """One request for a call of ``kind``; raises ``Failed`` with the name of the provider's failure."""
        query = urllib.parse.urlencode({"kind": kind, "seed": rng.randrange(2**32)})
        try:
            with urllib.request.urlopen(f"{self.url}/ask?{query}", timeout=30) as response:
                response.read()
        except urllib.error.HTTPError as err:
            raise _workload.Failed(err.read().decode() or str(err.code)) from None

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._process is not None:
            self._process.uninstrument()


def performer(clients: Sequence[Connected]) -> Perform:
    """What the service's handler runs: one call of a kind on the client of the provider that makes it."""
    return lambda kind, rng: _workload.perform(clients, kind, rng)
