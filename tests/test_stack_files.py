"""The stack files: docker-compose.yml, the collector configuration, Grafana provisioning and the Prometheus wiring.

Checked without a container engine: the compose file against the Compose Specification's JSON schema and its paths
against the repository, the collector configuration against the components of the pinned otelcol-contrib release,
and the names that tie the files together (services, ports, data source uids, mount paths). Each check is a function
returning the problems it finds; the tests run it on the real files, then on a broken copy to show it catches that.
"""

from __future__ import annotations

import copy
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
COMPOSE = ROOT / "docker-compose.yml"
COLLECTOR_CONFIG = ROOT / "src" / "llm_otel" / "stack" / "collector-config.yaml"
COMPONENTS = DATA / "otelcol-contrib-0.159.0-components.txt"
GRAFANA = ROOT / "deploy" / "grafana"
DATASOURCES = GRAFANA / "provisioning" / "datasources" / "datasources.yml"
DASHBOARD_PROVIDERS = GRAFANA / "provisioning" / "dashboards" / "dashboards.yml"
PROMETHEUS_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"

# Services that have no healthcheck, each for the reason given.
NO_HEALTHCHECK = {
    # FROM scratch: no shell or HTTP client in the image, and the collector binary has no probe command.
    "otel-collector",
}
KINDS = ("receivers", "processors", "exporters", "extensions", "connectors")
VERSION_TAG = re.compile(r"v?\d+(\.\d+)+([.-][\w.-]+)?")
ENV_REFERENCE = re.compile(r"\$\{env:([A-Za-z_]\w*)(?::-([^}]*))?\}")


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


@dataclass(frozen=True)
class Components:
    """The component types of one otelcol-contrib release, per kind, and the deprecated aliases known for them."""

    version: str
    types: dict[str, set[str]]
    aliases: dict[str, dict[str, str]]


def load_components(path: Path) -> Components:
    version = re.fullmatch(r"otelcol-contrib-(.+)-components\.txt", path.name)
    assert version, path.name
    types: dict[str, set[str]] = {kind: set() for kind in KINDS}
    aliases: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            kind, type_, alias, _module = line.split()
            types[f"{kind}s"].add(type_)
            if alias != "-":
                aliases[f"{kind}s"][alias] = type_
    return Components(version[1], types, aliases)


# --- docker-compose.yml ------------------------------------------------------------------------------------------


def schema_problems(compose: dict[str, Any]) -> list[str]:
    schema = json.loads((DATA / "compose-spec.json").read_text())
    # The draft the schema declares; a vendored schema of another draft must change this line.
    assert schema["$schema"].rstrip("#").endswith("/draft-07/schema")
    validator = jsonschema.Draft7Validator(schema)
    return [f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(compose)]


def _mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    """``(source, target)`` of a service's volumes, short or long syntax."""
    mounts = []
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume.get("source", ""), volume["target"]
        mounts.append((source, target))
    return mounts


def _is_bind(source: str) -> bool:
    return source.startswith((".", "/", "~"))


def _container_path(compose: dict[str, Any], service: str, source: str) -> str:
    """The container path where ``service`` mounts the repository path ``source`` (``./`` relative)."""
    targets = [target for src, target in _mounts(compose["services"][service]) if os.path.normpath(src) == source]
    assert len(targets) == 1, f"{service} mounts {source} {len(targets)} times"
    return targets[0]


def path_problems(compose: dict[str, Any], base: Path) -> list[str]:
    problems = []
    for name, service in compose["services"].items():
        for source, _target in (m for m in _mounts(service) if _is_bind(m[0])):
            path = base / source
            if not path.exists():
                problems.append(f"{name}: mounts {source}, which does not exist")
            elif path.is_dir() and not any(path.iterdir()):
                problems.append(f"{name}: mounts {source}, which is empty")
        build = service.get("build")
        if build is not None:
            context = base / (build if isinstance(build, str) else build.get("context", "."))
            dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
            if not (context / dockerfile).is_file():
                problems.append(f"{name}: builds {context / dockerfile}, which does not exist")
    return problems


def image_pin_problem(image: str) -> str | None:
    """Why ``image`` is not pinned to a version tag, or None."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"{image} has no tag"
    tag = last.split(":", 1)[1]
    return None if VERSION_TAG.fullmatch(tag) else f"{image}: {tag} is not a version tag"


def image_problems(compose: dict[str, Any]) -> list[str]:
    problems = []
    for name, service in compose["services"].items():
        if "image" in service:
            problem = image_pin_problem(service["image"])
            problems += [f"{name}: {problem}"] if problem else []
        elif "build" not in service:
            problems.append(f"{name}: neither image nor build")
    return problems


def port_problems(compose: dict[str, Any]) -> list[str]:
    problems = []
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            loopback = (
                port.get("host_ip") == "127.0.0.1" if isinstance(port, dict) else str(port).startswith("127.0.0.1:")
            )
            if not loopback:
                problems.append(f"{name}: port {port} is published beyond 127.0.0.1")
    return problems


def _has_healthcheck(service: dict[str, Any]) -> bool:
    check = service.get("healthcheck") or {}
    return bool(check.get("test")) and check["test"] != ["NONE"] and not check.get("disable")


def healthcheck_problems(compose: dict[str, Any], allowed: set[str]) -> list[str]:
    services = compose["services"]
    problems = []
    for name, service in services.items():
        if _has_healthcheck(service) == (name in allowed):
            reason = "is allowed none but has one" if name in allowed else "has no healthcheck"
            problems.append(f"{name}: {reason}")
        depends_on = service.get("depends_on", {})
        for dependency, condition in depends_on.items() if isinstance(depends_on, dict) else ():
            # Compose would wait forever for a service that never reports healthy.
            if condition.get("condition") == "service_healthy" and not _has_healthcheck(services[dependency]):
                problems.append(f"{name}: waits for {dependency} to be healthy, which has no healthcheck")
    return problems


def volume_problems(compose: dict[str, Any]) -> list[str]:
    used = {
        source
        for service in compose["services"].values()
        for source, _target in _mounts(service)
        if source and not _is_bind(source)
    }
    declared = set(compose.get("volumes") or {})
    return [f"volume {v} is used but not declared" for v in sorted(used - declared)] + [
        f"volume {v} is declared but not used" for v in sorted(declared - used)
    ]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = _load(COMPOSE)
    return loaded


def test_compose_file_matches_the_compose_specification(compose: dict[str, Any]) -> None:
    assert schema_problems(compose) == []
    broken = copy.deepcopy(compose)
    broken["services"]["demo"]["healtcheck"] = broken["services"]["demo"].pop("healthcheck")
    assert any("healtcheck" in problem for problem in schema_problems(broken))


def test_every_path_compose_mounts_or_builds_exists_and_no_mounted_directory_is_empty(compose: dict[str, Any]) -> None:
    assert path_problems(compose, COMPOSE.parent) == []
    broken = copy.deepcopy(compose)
    broken["services"]["loki"]["volumes"].append("./deploy/loki/missing.yaml:/etc/loki/missing.yaml:ro")
    broken["services"]["demo"]["build"]["dockerfile"] = "Containerfile"
    assert path_problems(broken, COMPOSE.parent) == [
        f"demo: builds {ROOT / 'Containerfile'}, which does not exist",
        "loki: mounts ./deploy/loki/missing.yaml, which does not exist",
    ]


def test_every_image_is_pinned_to_a_version_tag(compose: dict[str, Any]) -> None:
    assert image_problems(compose) == []
    broken = copy.deepcopy(compose)
    broken["services"]["loki"]["image"] = "grafana/loki:latest"
    broken["services"]["tempo"]["image"] = "grafana/tempo"
    assert image_problems(broken) == [
        "tempo: grafana/tempo has no tag",
        "loki: grafana/loki:latest: latest is not a version tag",
    ]


def test_published_ports_are_bound_to_loopback(compose: dict[str, Any]) -> None:
    assert port_problems(compose) == []
    broken = copy.deepcopy(compose)
    broken["services"]["grafana"]["ports"] = ["3000:3000", {"target": 3000, "published": 3001}]
    assert len(port_problems(broken)) == 2


def test_every_service_has_a_healthcheck_but_the_listed_ones(compose: dict[str, Any]) -> None:
    assert healthcheck_problems(compose, NO_HEALTHCHECK) == []
    broken = copy.deepcopy(compose)
    del broken["services"]["tempo"]["healthcheck"]
    assert healthcheck_problems(broken, NO_HEALTHCHECK) == [
        "otel-collector: waits for tempo to be healthy, which has no healthcheck",
        "tempo: has no healthcheck",
        "grafana: waits for tempo to be healthy, which has no healthcheck",
    ]
    assert healthcheck_problems(compose, NO_HEALTHCHECK | {"loki"}) == ["loki: is allowed none but has one"]


def test_named_volumes_are_declared_and_used(compose: dict[str, Any]) -> None:
    assert volume_problems(compose) == []
    broken = copy.deepcopy(compose)
    broken["services"]["tempo"]["volumes"][1] = "tempo-store:/var/tempo"
    assert volume_problems(broken) == [
        "volume tempo-store is used but not declared",
        "volume tempo-data is declared but not used",
    ]


def test_every_service_restarts_unless_stopped(compose: dict[str, Any]) -> None:
    assert {name: s.get("restart") for name, s in compose["services"].items()} == dict.fromkeys(
        compose["services"], "unless-stopped"
    )


def test_demo_sends_otlp_to_the_collectors_http_receiver(compose: dict[str, Any]) -> None:
    environment = compose["services"]["demo"]["environment"]
    endpoint = urlsplit(environment["OTEL_EXPORTER_OTLP_ENDPOINT"])
    receiver = resolve_env_defaults(_load(COLLECTOR_CONFIG))["receivers"]["otlp"]["protocols"]["http"]["endpoint"]
    assert (endpoint.hostname, endpoint.port) == ("otel-collector", int(receiver.rsplit(":", 1)[1]))
    assert environment["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    # Prometheus scrapes the demo's /metrics; exporting them over OTLP too would count every series twice.
    assert environment["OTEL_METRICS_EXPORTER"] == "prometheus"


# --- the collector configuration ---------------------------------------------------------------------------------


def resolve_env_defaults(node: Any) -> Any:
    """``node`` with each ``${env:NAME:-default}`` replaced by its default, as a collector without those variables
    reads it; a reference without a default is left as it is."""
    if isinstance(node, dict):
        return {key: resolve_env_defaults(value) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve_env_defaults(value) for value in node]
    if isinstance(node, str):
        return ENV_REFERENCE.sub(lambda m: m[0] if m[2] is None else m[2], node)
    return node


def collector_problems(config: dict[str, Any], components: Components) -> list[str]:
    problems = []
    for kind in KINDS:
        for name in config.get(kind) or {}:
            type_ = name.split("/", 1)[0]
            if type_ in components.aliases[kind]:
                problems.append(f"{kind}.{name}: {type_} is deprecated, the type is {components.aliases[kind][type_]}")
            elif type_ not in components.types[kind]:
                problems.append(f"{kind}.{name}: otelcol-contrib {components.version} has no {kind[:-1]} {type_}")
    service = config.get("service") or {}
    references = [("extensions", name, "service.extensions") for name in service.get("extensions") or []]
    for pipeline_id, pipeline in (service.get("pipelines") or {}).items():
        where = f"service.pipelines.{pipeline_id}"
        references += [
            (kind, name, where)
            for kind in ("receivers", "processors", "exporters")
            for name in pipeline.get(kind) or []
        ]
        problems += [f"{where}: no {kind}" for kind in ("receivers", "exporters") if not pipeline.get(kind)]
        processors = [name.split("/", 1)[0] for name in pipeline.get("processors") or []]
        if processors[:1] != ["memory_limiter"]:
            problems.append(f"{where}: memory_limiter is not the first processor")
        if processors[-1:] != ["batch"]:
            problems.append(f"{where}: batch is not the last processor")
    # A connector is the exporter of one pipeline and the receiver of another.
    defined = {kind: set(config.get(kind) or {}) for kind in KINDS}
    for kind in ("receivers", "exporters"):
        defined[kind] |= defined["connectors"]
    problems += [
        f"{where}: {name} is not defined in {kind}" for kind, name, where in references if name not in defined[kind]
    ]
    referenced = {name for _kind, name, _where in references}
    problems += [
        f"{kind}.{name}: defined but never used"
        for kind in KINDS
        for name in config.get(kind) or {}
        if name not in referenced
    ]
    return problems


@pytest.fixture(scope="module")
def components() -> Components:
    return load_components(COMPONENTS)


@pytest.fixture(scope="module")
def collector_config() -> dict[str, Any]:
    loaded: dict[str, Any] = _load(COLLECTOR_CONFIG)
    return loaded


def test_component_list_holds_the_components_of_the_release(components: Components) -> None:
    assert {kind: len(types) for kind, types in components.types.items()} == {
        "receivers": 108,
        "processors": 32,
        "exporters": 49,
        "extensions": 40,
        "connectors": 13,
    }
    assert components.aliases["exporters"] == {"otlp": "otlp_grpc", "otlphttp": "otlp_http"}


def test_collector_config_names_only_components_of_the_pinned_release(
    collector_config: dict[str, Any], components: Components
) -> None:
    assert collector_problems(collector_config, components) == []


def test_collector_check_reports_a_misspelled_or_missing_component(
    collector_config: dict[str, Any], components: Components
) -> None:
    broken = copy.deepcopy(collector_config)
    broken["exporters"]["otlp_grcp/tempo"] = broken["exporters"].pop("otlp_grpc/tempo")
    assert collector_problems(broken, components) == [
        "exporters.otlp_grcp/tempo: otelcol-contrib 0.159.0 has no exporter otlp_grcp",
        "service.pipelines.traces: otlp_grpc/tempo is not defined in exporters",
        "exporters.otlp_grcp/tempo: defined but never used",
    ]
    broken = copy.deepcopy(collector_config)
    broken["exporters"]["otlp/tempo"] = broken["exporters"].pop("otlp_grpc/tempo")
    broken["service"]["pipelines"]["traces"]["exporters"] = ["otlp/tempo"]
    assert collector_problems(broken, components) == ["exporters.otlp/tempo: otlp is deprecated, the type is otlp_grpc"]


def test_collector_check_reports_pipelines_out_of_order_or_incomplete(
    collector_config: dict[str, Any], components: Components
) -> None:
    broken = copy.deepcopy(collector_config)
    broken["service"]["pipelines"]["logs"]["processors"] = ["batch", "memory_limiter"]
    broken["service"]["pipelines"]["metrics"]["exporters"] = []
    broken["service"]["extensions"] = []
    assert collector_problems(broken, components) == [
        "service.pipelines.metrics: no exporters",
        "service.pipelines.logs: memory_limiter is not the first processor",
        "service.pipelines.logs: batch is not the last processor",
        "exporters.prometheus: defined but never used",
        "extensions.health_check: defined but never used",
    ]


def test_collector_config_has_one_pipeline_per_signal(collector_config: dict[str, Any]) -> None:
    assert set(collector_config["service"]["pipelines"]) == {"traces", "metrics", "logs"}


def test_collector_addresses_have_defaults_that_fit_the_compose_stack(
    collector_config: dict[str, Any], compose: dict[str, Any]
) -> None:
    resolved = resolve_env_defaults(collector_config)
    assert not ENV_REFERENCE.search(json.dumps(resolved)), "an ${env:...} reference without a default"
    exporters = resolved["exporters"]
    assert exporters["otlp_grpc/tempo"]["endpoint"] == "tempo:4317"
    assert exporters["otlp_http/loki"]["endpoint"] == "http://loki:3100/otlp"
    assert {"tempo", "loki"} <= set(compose["services"])
    # Prometheus scrapes these from its own container: they must listen beyond localhost.
    assert exporters["prometheus"] == {"endpoint": "0.0.0.0:8889", "enable_open_metrics": True}
    assert resolved["extensions"]["health_check"]["endpoint"] == "0.0.0.0:13133"
    reader = resolved["service"]["telemetry"]["metrics"]["readers"][0]["pull"]["exporter"]["prometheus"]
    assert (reader["host"], reader["port"]) == ("0.0.0.0", 8888)


def test_collector_image_is_the_release_of_the_component_list(compose: dict[str, Any], components: Components) -> None:
    image = compose["services"]["otel-collector"]["image"]
    assert image == f"otel/opentelemetry-collector-contrib:{components.version}"


def test_collector_reads_the_mounted_config_file(compose: dict[str, Any]) -> None:
    collector = compose["services"]["otel-collector"]
    (config_path,) = (arg.removeprefix("--config=") for arg in collector["command"] if arg.startswith("--config="))
    assert _container_path(compose, "otel-collector", "collector-config.yaml") == config_path


def test_root_collector_config_is_a_relative_link_to_the_packaged_one() -> None:
    link = ROOT / "collector-config.yaml"
    assert link.is_symlink()
    assert not os.path.isabs(os.readlink(link))
    assert link.resolve() == COLLECTOR_CONFIG.resolve()


# --- Grafana -----------------------------------------------------------------------------------------------------


def _links(node: Any) -> list[str]:
    """Every ``datasourceUid`` under ``node``."""
    if isinstance(node, dict):
        own = [node["datasourceUid"]] if "datasourceUid" in node else []
        return own + [uid for value in node.values() for uid in _links(value)]
    if isinstance(node, list):
        return [uid for value in node for uid in _links(value)]
    return []


def datasource_problems(provisioning: dict[str, Any], compose: dict[str, Any]) -> list[str]:
    datasources = provisioning["datasources"]
    uids = {source["uid"] for source in datasources}
    problems = []
    for source in datasources:
        problems += [
            f"{source['uid']}: links to {uid}, no such data source" for uid in _links(source) if uid not in uids
        ]
        if urlsplit(source["url"]).hostname not in compose["services"]:
            problems.append(f"{source['uid']}: {source['url']} is not a compose service")
    return problems


@pytest.fixture(scope="module")
def datasources() -> dict[str, Any]:
    loaded: dict[str, Any] = _load(DATASOURCES)
    return loaded


def test_datasources_have_the_fixed_uids_and_link_only_to_each_other(
    datasources: dict[str, Any], compose: dict[str, Any]
) -> None:
    assert sorted(source["uid"] for source in datasources["datasources"]) == ["loki", "prometheus", "tempo"]
    assert datasource_problems(datasources, compose) == []
    broken = copy.deepcopy(datasources)
    broken["datasources"][0]["jsonData"]["exemplarTraceIdDestinations"][0]["datasourceUid"] = "tempoo"
    broken["datasources"][2]["url"] = "http://lokii:3100"
    assert datasource_problems(broken, compose) == [
        "prometheus: links to tempoo, no such data source",
        "loki: http://lokii:3100 is not a compose service",
    ]


def test_datasources_link_metrics_to_traces_to_logs_and_back(datasources: dict[str, Any]) -> None:
    by_uid = {source["uid"]: source["jsonData"] for source in datasources["datasources"]}
    # The exemplar label the collector's Prometheus exporter writes the trace id into.
    (destination,) = by_uid["prometheus"]["exemplarTraceIdDestinations"]
    assert (destination["name"], destination["datasourceUid"]) == ("trace_id", "tempo")
    to_logs = by_uid["tempo"]["tracesToLogsV2"]
    assert to_logs["datasourceUid"] == "loki"
    assert to_logs["customQuery"] is True
    # "$$" is Grafana's escape for "$" in provisioning files: the query Grafana runs reads ${__trace.traceId}.
    assert 'trace_id="$${__trace.traceId}"' in to_logs["query"]
    assert by_uid["tempo"]["serviceMap"]["datasourceUid"] == "prometheus"
    label_links = [f for f in by_uid["loki"]["derivedFields"] if f.get("matcherType") == "label"]
    assert [(f["matcherRegex"], f["datasourceUid"]) for f in label_links] == [("trace_id", "tempo")]
    (line_link,) = (f for f in by_uid["loki"]["derivedFields"] if f.get("matcherType") == "regex")
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    for line in (f"msg=done trace_id={trace_id}", f'{{"msg": "done", "trace_id": "{trace_id}"}}'):
        match = re.search(line_link["matcherRegex"], line)
        assert match and match[1] == trace_id, line


def dashboards_mount_problems(providers: dict[str, Any], compose: dict[str, Any]) -> list[str]:
    mounted = _container_path(compose, "grafana", "deploy/grafana/dashboards")
    return [
        f"provider {p['name']} loads {p['options']['path']}, compose mounts the dashboards at {mounted}"
        for p in providers["providers"]
        if PurePosixPath(p["options"]["path"]) != PurePosixPath(mounted)
    ]


def test_dashboard_provider_loads_the_directory_compose_mounts(compose: dict[str, Any]) -> None:
    providers = _load(DASHBOARD_PROVIDERS)
    assert [(p["type"], p["folder"]) for p in providers["providers"]] == [("file", "llm-otel")]
    assert dashboards_mount_problems(providers, compose) == []
    broken = copy.deepcopy(providers)
    broken["providers"][0]["options"]["path"] = "/var/lib/grafana/dashboards"
    assert len(dashboards_mount_problems(broken, compose)) == 1


def test_grafana_home_dashboard_is_one_of_the_mounted_dashboards(compose: dict[str, Any]) -> None:
    home = PurePosixPath(compose["services"]["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"])
    mounted = PurePosixPath(_container_path(compose, "grafana", "deploy/grafana/dashboards"))
    assert (GRAFANA / "dashboards" / home.relative_to(mounted)).is_file()


# --- Prometheus --------------------------------------------------------------------------------------------------


def prometheus_flag_problems(compose: dict[str, Any]) -> list[str]:
    features = {
        feature
        for arg in compose["services"]["prometheus"]["command"]
        if arg.startswith("--enable-feature=")
        for feature in arg.removeprefix("--enable-feature=").split(",")
    }
    return [] if "exemplar-storage" in features else ["prometheus: exemplar storage is off"]


def scrape_problems(config: dict[str, Any], compose: dict[str, Any]) -> list[str]:
    jobs = {
        target: job
        for job in config.get("scrape_configs") or []
        for static in job.get("static_configs") or []
        for target in static.get("targets") or []
    }
    problems = [f"no job scrapes {target}" for target in ("demo:9464", "otel-collector:8889") if target not in jobs]
    problems += [
        f"{target} is not a compose service" for target in jobs if target.split(":")[0] not in compose["services"]
    ]
    # The collector's exporter sets job and instance from each application's service attributes; they must win
    # over the labels of the scrape itself.
    collector_job = jobs.get("otel-collector:8889", {})
    if collector_job and not collector_job.get("honor_labels"):
        problems.append(f"job {collector_job['job_name']} does not honor the collector's job and instance labels")
    # Prometheus reads relative rule_files from the directory of its configuration file.
    (config_file,) = (
        a.split("=", 1)[1] for a in compose["services"]["prometheus"]["command"] if a.startswith("--config.file=")
    )
    if _container_path(compose, "prometheus", "deploy/prometheus/prometheus.yml") != config_file:
        problems.append(f"prometheus reads {config_file}, where deploy/prometheus/prometheus.yml is not mounted")
    rules = _container_path(compose, "prometheus", "deploy/prometheus/rules")
    rule_files = config.get("rule_files") or []
    problems += [] if rule_files else ["no rule files are loaded"]
    problems += [
        f"rule file {f} is outside {rules}"
        for f in rule_files
        if not (PurePosixPath(config_file).parent / f).is_relative_to(rules)
    ]
    return problems


def test_prometheus_keeps_exemplars(compose: dict[str, Any]) -> None:
    assert prometheus_flag_problems(compose) == []
    broken = copy.deepcopy(compose)
    broken["services"]["prometheus"]["command"].remove("--enable-feature=exemplar-storage")
    assert prometheus_flag_problems(broken) == ["prometheus: exemplar storage is off"]


def exposure_problems(compose: dict[str, Any]) -> list[str]:
    """What lets a visitor of the published ports change the stack."""
    problems = []
    if "--web.enable-lifecycle" in compose["services"]["prometheus"]["command"]:
        problems.append("prometheus: the lifecycle API (quit, reload over HTTP) is on")
    grafana = compose["services"]["grafana"]["environment"]
    if grafana.get("GF_AUTH_ANONYMOUS_ENABLED") == "true" and grafana.get("GF_AUTH_ANONYMOUS_ORG_ROLE") != "Viewer":
        problems.append(f"grafana: anonymous visitors are {grafana.get('GF_AUTH_ANONYMOUS_ORG_ROLE', 'Viewer')}s")
    password = str(grafana.get("GF_SECURITY_ADMIN_PASSWORD", ""))
    if not re.fullmatch(r"\$\{\w+:\?[^}]+\}", password):
        problems.append(f"grafana: the admin password is not required to be set ({password or 'admin'})")
    return problems


def test_the_published_services_cannot_be_changed_by_a_visitor(compose: dict[str, Any]) -> None:
    assert exposure_problems(compose) == []
    broken = copy.deepcopy(compose)
    broken["services"]["prometheus"]["command"].append("--web.enable-lifecycle")
    broken["services"]["grafana"]["environment"].update(
        GF_AUTH_ANONYMOUS_ORG_ROLE="Editor", GF_SECURITY_ADMIN_PASSWORD="${GRAFANA_ADMIN_PASSWORD:-admin}"
    )
    assert exposure_problems(broken) == [
        "prometheus: the lifecycle API (quit, reload over HTTP) is on",
        "grafana: anonymous visitors are Editors",
        "grafana: the admin password is not required to be set (${GRAFANA_ADMIN_PASSWORD:-admin})",
    ]


def test_prometheus_scrapes_the_demo_and_the_collector_and_loads_the_rules(compose: dict[str, Any]) -> None:
    assert scrape_problems(_load(PROMETHEUS_CONFIG), compose) == []
    broken = {
        "scrape_configs": [
            {"job_name": "collector", "static_configs": [{"targets": ["otel-collector:8889", "promx:9090"]}]}
        ],
        "rule_files": ["/etc/prometheus/llm-otel.rules.yml"],
    }
    assert scrape_problems(broken, compose) == [
        "no job scrapes demo:9464",
        "promx:9090 is not a compose service",
        "job collector does not honor the collector's job and instance labels",
        "rule file /etc/prometheus/llm-otel.rules.yml is outside /etc/prometheus/rules",
    ]


# --- the demo image ----------------------------------------------------------------------------------------------


def test_dockerfile_base_image_is_a_pinned_python_3_11() -> None:
    (base,) = re.findall(r"^FROM\s+(\S+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert image_pin_problem(base) is None
    assert base.startswith("python:3.11.")


def test_dockerfile_copies_only_what_the_build_context_lets_in() -> None:
    copied = [
        source
        for line in re.findall(r"^COPY\s+(.+)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
        for source in line.split()[:-1]
    ]
    # .dockerignore excludes everything, then lets back in the paths it lists with "!".
    let_in = {line[1:] for line in (ROOT / ".dockerignore").read_text().splitlines() if line.startswith("!")}
    assert copied == ["pyproject.toml", "README.md", "src"]
    assert set(copied) == let_in
    assert all((ROOT / source).exists() for source in copied)
