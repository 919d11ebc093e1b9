"""One small HTTP server for /metrics, /v1/stats and /health, on the Prometheus port.

The stock exporter's ``start_http_server`` serves only /metrics; serving all three from one
threaded server keeps one port to open, scrape and firewall.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from llm_otel._log import internal_error, warn_once

from ._stats import StatsSource

# Accept header -> (content type, body) of /metrics.
Scrape = Callable[[str], tuple[str, bytes]]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    metrics: Scrape
    source: StatsSource


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        try:
            if path == "/metrics":
                self._send(200, *self.server.metrics(self.headers.get("Accept", "")))
            elif path == "/v1/stats":
                self._json(200, self.server.source.stats())
            elif path == "/health":
                healthy, document = self.server.source.health()
                self._json(200 if healthy else 503, document)
            else:
                self._send(404, "text/plain; charset=utf-8", b"not found: try /metrics, /v1/stats or /health\n")
        except Exception as err:
            internal_error(f"endpoint {path}", err)
            self._send(500, "text/plain; charset=utf-8", b"internal error\n")

    def _json(self, status: int, document: dict[str, Any]) -> None:
        self._send(status, "application/json", json.dumps(document, separators=(",", ":")).encode())

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every few seconds would flood stderr; stay quiet like the stock exporter."""


_POLL_S = 0.1


class Endpoints:
    """The running server; ``url`` is where /metrics is served."""

    def __init__(self, server: _Server) -> None:
        self._server = server
        host, port = server.server_address[:2]
        self.host, self.port = str(host), int(port)
        self.url = f"http://{self.host}:{self.port}"
        # shutdown() waits for the loop to see its flag, once per poll: the default half second would
        # hold every exit that long; ten wake-ups a second cost nothing measurable.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": _POLL_S}, name="llm-otel-endpoints", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def abandon(self) -> None:
        """In a forked child: the serving thread stayed in the parent; only the socket copy is closed.

        (``shutdown()`` would wait for a serving loop that does not run in this process.)
        """
        self._server.server_close()


def serve(
    host: str,
    port: int,
    attempts: int,
    metrics: Scrape,
    source: StatsSource,
) -> Endpoints | None:
    """Bind the first free port of ``port .. port+attempts-1`` (0: any); None, logged once, if none is."""
    last: Exception | None = None
    for candidate in range(port, port + attempts) if port else (0,):
        try:
            server = _Server((host, candidate), _Handler)
        # OSError: taken or unknown; the others: a host that is not a name, a port past 65535.
        except (OSError, ValueError, TypeError, OverflowError) as err:
            last = err
            continue
        server.metrics, server.source = metrics, source
        return Endpoints(server)
    warn_once(
        "endpoints:bind",
        "llm-otel: cannot serve /metrics on %s:%s%s (%s); metrics still go to the other exporters. "
        "For several worker processes set LLM_OTEL_PROMETHEUS_PORT_ATTEMPTS to the number of workers.",
        host,
        port,
        f"..{port + attempts - 1}" if attempts > 1 else "",
        last,
    )
    return None
