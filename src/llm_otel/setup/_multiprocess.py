"""One /metrics for a pre-fork server: the serving process adds up every worker's metrics.

Each worker's metric state lives in its own process. Workers write a snapshot of their cumulative
metrics (and their health window) to a shared directory every second and once more at exit; the
process serving /metrics (the server's first process: gunicorn's master, uvicorn's supervisor, the
parent of ``os.fork``) merges those snapshots with its own data on every scrape and /v1/stats or
/health request. See docs/multi-process.md for why a directory and not a port per worker.

Merging, per series (metric, attributes):

* counters and histograms: summed over every worker that ever wrote, exited ones included, so a
  recycled worker's counts stay and counters never go backwards;
* up-down counters (requests in flight): summed over live workers;
* gauges: over live workers, the lowest for ``llm_otel.provider.health``, else the highest (a
  breaker open in one worker shows as open).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opentelemetry.sdk.metrics import Exemplar
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from llm_otel._log import internal_error, logger
from llm_otel.telemetry import _names as n

DIR_ENV = "LLM_OTEL_MULTIPROCESS_DIR"
# "pid@host:port": the process that serves for the whole tree, and the /metrics address it was
# configured with; set by it for the workers it starts.
ROOT_ENV = "LLM_OTEL_MULTIPROCESS_ROOT"
WRITE_INTERVAL_S = 1.0
_LOWEST = frozenset({n.LLM_OTEL_PROVIDER_HEALTH})
_SEVERITY = {"closed": 0, "half_open": 1, "open": 2}

Snapshot = dict[str, Any]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- snapshots: MetricsData as JSON ----------------------------------------------------------


def _attributes(attributes: Mapping[str, Any] | None) -> list[list[Any]]:
    return sorted(
        [key, list(value) if isinstance(value, tuple) else value] for key, value in (attributes or {}).items()
    )


def _point(data: Any, point: Any) -> list[Any]:
    attrs = _attributes(point.attributes)
    if isinstance(data, Histogram):
        exemplars = [[e.value, e.time_unix_nano, e.span_id, e.trace_id] for e in point.exemplars or ()]
        bounds = list(point.explicit_bounds)
        return [attrs, point.count, point.sum, list(point.bucket_counts), bounds, point.min, point.max, exemplars]
    return [attrs, point.value]


def snapshot(
    data: MetricsData | None,
    window: Mapping[str, tuple[int, int]],
    breakers: Mapping[str, str],
    *,
    final: bool,
) -> Snapshot:
    """A worker's cumulative metrics, health-window totals and breaker states, as JSON-ready data."""
    metrics: list[list[Any]] = []
    for resource_metrics in data.resource_metrics if data else ():
        for scope_metrics in resource_metrics.scope_metrics:
            scope = scope_metrics.scope
            for metric in scope_metrics.metrics:
                kind = _kind(metric.data)
                if kind is None:
                    continue
                points = [_point(metric.data, p) for p in metric.data.data_points]
                metrics.append([scope.name, scope.version, metric.name, metric.description, metric.unit, kind, points])
    return {"pid": os.getpid(), "final": final, "metrics": metrics, "window": window, "breakers": breakers}


def _kind(data: Any) -> str | None:
    if isinstance(data, Histogram):
        return "histogram" if data.aggregation_temporality is AggregationTemporality.CUMULATIVE else None
    if isinstance(data, Sum):
        if data.aggregation_temporality is not AggregationTemporality.CUMULATIVE:
            return None
        return "counter" if data.is_monotonic else "updown"
    if isinstance(data, Gauge):
        return "gauge"
    return None


def subtract(snap: Snapshot, baseline: Snapshot) -> Snapshot:
    """``snap`` less what a forked worker inherited: the parent's counts at the fork.

    Minimum and maximum cannot be taken apart: a worker's may be the parent's.
    """
    before: dict[tuple[str, str, str], list[Any]] = {}
    for scope, _, name, _, _, kind, points in baseline["metrics"]:
        if kind != "gauge":
            for point in points:
                before[scope, name, json.dumps(point[0])] = point
    for scope, _, name, _, _, kind, points in snap["metrics"]:
        for point in points if kind != "gauge" else ():
            old = before.get((scope, name, json.dumps(point[0])))
            if old is None:
                continue
            if kind == "histogram":
                if old[4] == point[4]:
                    point[1] -= old[1]
                    point[2] -= old[2]
                    point[3] = [a - b for a, b in zip(point[3], old[3], strict=True)]
            else:
                point[1] -= old[1]
    return snap


# --- merging ---------------------------------------------------------------------------------


@dataclass
class _Series:
    """One metric's points of every process, merged, keyed by their attributes."""

    scope: tuple[str, str | None]
    name: str
    description: str
    unit: str
    kind: str
    points: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, point: list[Any]) -> None:
        key = json.dumps(point[0])
        found = self.points.get(key)
        if found is None:
            self.points[key] = [point[0], *(list(v) if isinstance(v, list) else v for v in point[1:])]
        elif self.kind == "histogram":
            if found[4] != point[4]:
                return  # other bucket bounds: an older release of the same process; its series stays apart
            found[1] += point[1]
            found[2] += point[2]
            found[3] = [a + b for a, b in zip(found[3], point[3], strict=True)]
            found[5] = _pick(min, found[5], point[5])
            found[6] = _pick(max, found[6], point[6])
            found[7] = (point[7] + found[7])[: len(found[3])]  # the renderer keeps one per bucket
        elif self.kind == "gauge":
            found[1] = (min if self.name in _LOWEST else max)(found[1], point[1])
        else:
            found[1] += point[1]


def _pick(choose: Callable[[float, float], float], a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else choose(a, b)


def merge(snapshots: Iterable[tuple[Snapshot, bool]]) -> dict[tuple[str, str], _Series]:
    """(scope, metric) -> merged series, from (snapshot, live) pairs; gauges and up-down counters of
    processes that exited are left out."""
    merged: dict[tuple[str, str], _Series] = {}
    for snap, live in snapshots:
        for scope, version, name, description, unit, kind, points in snap["metrics"]:
            if not live and kind in ("gauge", "updown"):
                continue
            series = merged.get((scope, name))
            if series is None:
                series = merged[scope, name] = _Series((scope, version), name, description, unit, kind)
            if series.kind != kind:
                continue
            for point in points:
                series.add(point)
    return merged


def _data_point(kind: str, point: list[Any], start: int, now: int) -> Any:
    attrs = {key: tuple(value) if isinstance(value, list) else value for key, value in point[0]}
    if kind == "histogram":
        count, total, buckets, bounds, low, high, exemplars = point[1:]
        kept = [Exemplar({}, value, time, span, trace) for value, time, span, trace in exemplars]
        return HistogramDataPoint(attrs, start, now, count, total, buckets, bounds, low, high, kept)
    return NumberDataPoint(attrs, start, now, point[1])


def to_metrics_data(merged: Mapping[tuple[str, str], _Series], resource: Resource, start: int, now: int) -> MetricsData:
    scopes: dict[tuple[str, str | None], list[Metric]] = {}
    for series in merged.values():
        points = [_data_point(series.kind, p, start, now) for p in series.points.values()]
        data: Any
        if series.kind == "histogram":
            data = Histogram(points, AggregationTemporality.CUMULATIVE)
        elif series.kind == "gauge":
            data = Gauge(points)
        else:
            data = Sum(points, AggregationTemporality.CUMULATIVE, series.kind == "counter")
        scopes.setdefault(series.scope, []).append(Metric(series.name, series.description, series.unit, data))
    scope_metrics = [
        ScopeMetrics(InstrumentationScope(name, version), metrics, "") for (name, version), metrics in scopes.items()
    ]
    return MetricsData([ResourceMetrics(resource, scope_metrics, "")])


# --- the directory: workers write, the server reads ----------------------------------------------


class Shared:
    """The directory of one server's snapshots, and this process's role in it: serving, or a worker."""

    def __init__(self, path: Path, root_pid: int, *, owned: bool) -> None:
        self.path = path
        self.root_pid = root_pid
        self.owned = owned  # a directory we made, removed at exit; a given one only loses our files
        # Snapshots of workers that exited, absorbed by the server: their counts, kept in memory.
        self._exited: list[Snapshot] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        if self.serving:
            self._clear()  # a given directory may hold the files of an earlier run

    @property
    def serving(self) -> bool:
        return os.getpid() == self.root_pid

    # worker side

    def write(self, snap: Snapshot) -> None:
        """Replace this worker's snapshot atomically: the server never reads half a file."""
        target = self.path / f"{os.getpid()}.json"
        partial = target.with_suffix(".part")
        try:
            partial.write_text(json.dumps(snap, separators=(",", ":")))
        except FileNotFoundError:
            return  # the server has exited and removed the directory: nobody is left to read it
        os.replace(partial, target)

    def start_writing(self, take: Callable[[bool], Snapshot]) -> None:
        """Write ``take(final=False)`` every second from a daemon thread (after a fork, too)."""
        self._stop = threading.Event()
        self._lock = threading.Lock()  # after a fork, another thread may have held the parent's
        stop = self._stop

        def loop() -> None:
            while not stop.wait(WRITE_INTERVAL_S):
                try:
                    taken = take(False)
                    with self._lock:
                        # A snapshot taken before the final one must not land after it: the server,
                        # having absorbed the final, would absorb this one too and count it twice.
                        if not stop.is_set():
                            self.write(taken)
                except Exception as err:
                    internal_error("multiprocess snapshot", err)

        threading.Thread(target=loop, name="llm-otel-snapshots", daemon=True).start()

    def finish_writing(self, take: Callable[[bool], Snapshot]) -> None:
        """The final snapshot, at exit: what the server keeps of this worker once it is gone."""
        with self._lock:
            self._stop.set()
            try:
                self.write(take(True))
            except Exception as err:
                internal_error("multiprocess snapshot", err)

    # server side

    def others(self) -> list[tuple[Snapshot, bool]]:
        """Every worker's snapshot with whether it is live; those of exited workers are absorbed."""
        found: list[tuple[Snapshot, bool]] = []
        with self._lock:
            for file in self.path.glob("*.json"):
                try:
                    snap = json.loads(file.read_text())
                except (OSError, ValueError):
                    continue  # removed meanwhile, or a file that is not ours
                pid = snap.get("pid")
                if pid == os.getpid():
                    continue
                if snap.get("final") or not isinstance(pid, int) or not alive(pid):
                    self._exited.append(snap)
                    file.unlink(missing_ok=True)
                else:
                    found.append((snap, True))
            found.extend((snap, False) for snap in self._exited)
        return found

    def remove(self) -> None:
        """At the server's exit: its directory goes (or, if given, our files in it)."""
        if not self.serving:
            return
        if self.owned:
            shutil.rmtree(self.path, ignore_errors=True)
        else:
            self._clear()

    def _clear(self) -> None:
        for pattern in ("*.json", "*.part"):
            for file in self.path.glob(pattern):
                file.unlink(missing_ok=True)


def shared_directory(environ: Mapping[str, str], address: str) -> Shared:
    """This process's place in a server: a worker of the live process ``ROOT_ENV`` names, or a new root.

    A process joins only a root configured for the same /metrics address as itself: the workers a
    server starts share its environment, while an unrelated program it runs (a job, a test) with
    another address keeps its own /metrics.
    """
    pid, _, root_address = environ.get(ROOT_ENV, "").partition("@")
    given = environ.get(DIR_ENV)
    if (
        pid.isdigit()
        and int(pid) != os.getpid()
        and root_address == address
        and alive(int(pid))
        and given
        and Path(given).is_dir()
    ):
        return Shared(Path(given), int(pid), owned=False)
    if given:
        try:
            Path(given).mkdir(parents=True, exist_ok=True)
            return Shared(Path(given), os.getpid(), owned=False)
        except OSError as err:
            logger.warning("llm-otel: cannot use %s=%s (%s); using a new directory", DIR_ENV, given, err)
    return Shared(Path(tempfile.mkdtemp(prefix="llm-otel-metrics-")), os.getpid(), owned=True)


class ServerView:
    """What the serving process reads: its own data and window, with every worker's added."""

    def __init__(
        self,
        shared: Shared,
        local: Callable[[], MetricsData | None],
        window: Any,
        breakers: Callable[[], dict[str, str]],
        resource: Resource,
    ) -> None:
        self._shared = shared
        self._local = local
        self._window = window
        self._breakers = breakers
        self._resource = resource
        self._start = time.time_ns()
        # In a forked worker: the parent's data at the fork, which the worker's own counts start from.
        self._baseline: Snapshot | None = None
        self._at_fork: Snapshot | None = None

    @property
    def window_s(self) -> float:
        return float(self._window.window_s)

    def combine(self, local: MetricsData | None) -> MetricsData | None:
        """``local`` (this process's collection) with the workers' snapshots merged in."""
        if not self._shared.serving:
            return local
        others = self._shared.others()
        if not others:
            return local
        merged = merge([(snapshot(local, {}, {}, final=False), True), *others])
        return to_metrics_data(merged, self._resource, self._start, time.time_ns())

    def collect(self) -> MetricsData | None:
        local = self._local()
        try:
            return self.combine(local)
        except Exception as err:  # this process's own data is still right
            internal_error("multiprocess merge", err)
            return local

    def totals(self) -> dict[str, tuple[int, int]]:
        totals = dict(self._window.totals())
        if self._shared.serving:
            for snap, live in self._shared.others():
                for provider, (calls, faults) in snap.get("window", {}).items() if live else ():
                    mine = totals.get(provider, (0, 0))
                    totals[provider] = (mine[0] + calls, mine[1] + faults)
        return totals

    def breakers(self) -> dict[str, str]:
        """Every live process's breakers; where they disagree, the worst state."""
        states = dict(self._breakers())
        for snap, live in self._shared.others() if self._shared.serving else ():
            for name, state in snap.get("breakers", {}).items() if live else ():
                if _SEVERITY.get(state, 0) > _SEVERITY.get(states.get(name, ""), -1):
                    states[name] = state
        return states

    def take(self, final: bool) -> Snapshot:
        """This worker's snapshot, for the server: what it counted itself."""
        taken = snapshot(self._local(), self._window.totals(), self._breakers(), final=final)
        return taken if self._baseline is None else subtract(taken, self._baseline)

    def mark_fork(self) -> None:
        """Before a fork: what the child inherits."""
        try:
            self._at_fork = snapshot(self._local(), {}, {}, final=False)
        except Exception as err:
            internal_error("multiprocess fork", err)

    def forked(self, *, child: bool) -> None:
        """After a fork, in both processes: the child counts from what it inherited."""
        if child:
            self._baseline = self._at_fork
        self._at_fork = None
