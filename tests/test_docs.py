"""The docs site: it builds in strict mode, its generated references match the code, nothing the code
names is missing from them, every page is in the nav, and every link of the README resolves."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from llm_otel.setup._configure import configure
from llm_otel.telemetry import _names

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SRC = ROOT / "src" / "llm_otel"
ENV_NAME = re.compile(r"^(OTEL|LLM_OTEL)_[A-Z0-9_]*[A-Z0-9]$")  # not an f-string's "OTEL_EXPORTER_OTLP_"
CREATES_INSTRUMENT = re.compile(r"\.create_(observable_)?(counter|up_down_counter|histogram|gauge)\(")


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_reference", DOCS / "_gen" / "reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated(generator: ModuleType) -> dict[Path, str]:
    return dict(generator.pages())


def _table_column(page: str, header: str) -> set[str]:
    """The backquoted names in column ``header`` of every markdown table of ``page`` that has one."""
    found: set[str] = set()
    column = None
    for line in page.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if not cells:
            column = None
        elif column is None:
            column = cells.index(header) if header in cells else -1
        elif column >= 0 and not set(cells[column]) <= {"-"}:
            found.update(re.findall(r"`([^`]+)`", cells[column]))
    return found


def _env_literals() -> set[str]:
    return {
        node.value
        for path in SRC.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and ENV_NAME.match(node.value)
    }


def test_site_builds_in_strict_mode(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "reference" / "telemetry-names" / "index.html").is_file()
    assert (tmp_path / "schemas" / "stats.schema.json").is_file()  # served as a file
    assert not (tmp_path / "_gen").exists()


def test_generated_references_are_fresh(generated: dict[Path, str]) -> None:
    stale = [str(path.relative_to(ROOT)) for path, text in generated.items() if path.read_text() != text]
    assert stale == [], "regenerate with: python docs/_gen/reference.py"


def test_configuration_reference_lists_every_variable_the_code_names() -> None:
    page = (DOCS / "reference" / "configuration.md").read_text()
    listed = {name for name in _table_column(page, "environment variable") if ENV_NAME.match(name)}
    code = _env_literals()
    assert len(code) > 20
    assert sorted(code - listed) == [], "variables in src/llm_otel missing from the reference"
    assert sorted(listed - code) == [], "variables in the reference that src/llm_otel no longer reads"


def test_configuration_reference_lists_every_argument_of_configure() -> None:
    page = (DOCS / "reference" / "configuration.md").read_text()
    assert _table_column(page, "argument") == set(inspect.signature(configure).parameters)


def test_telemetry_reference_lists_every_name_of_the_table() -> None:
    page = (DOCS / "reference" / "telemetry-names.md").read_text()
    constants = {key: value for key, value in vars(_names).items() if key.isupper()}
    assert len(constants) > 100
    assert sorted(key for key in constants if f"| `{key}` |" not in page) == []
    strings = {value for value in constants.values() if isinstance(value, str)}
    assert sorted(value for value in strings if f"`{value}`" not in page) == []


def test_cookbook_names_only_series_and_labels_the_code_has(generator: ModuleType) -> None:
    page = (DOCS / "reference" / "telemetry-names.md").read_text()
    served = _table_column(page, "Prometheus name")
    labels = {value.replace(".", "_") for value in vars(_names).values() if isinstance(value, str)}
    queries = generator.cookbook_queries()
    assert len(queries) > 25
    used = {name for query in queries for name in re.findall(r"\b(?:gen_ai|llm_otel)_\w+", query)}
    assert "gen_ai_client_operation_duration_seconds_bucket" in used
    unknown = {name for name in used if re.sub(r"_(bucket|sum|count)$", "", name) not in served | labels}
    assert sorted(unknown) == [], "the cookbook names series or labels that /metrics does not serve"


def test_cookbook_queries_parse_with_promtool(generator: ModuleType, tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package `prometheus`; .ci/run installs it)")
    rules: dict[str, Any] = {
        "groups": [
            {
                "name": "cookbook",
                "rules": [
                    {"record": f"cookbook:query_{i}", "expr": q} for i, q in enumerate(generator.cookbook_queries())
                ],
            }
        ]
    }
    path = tmp_path / "cookbook.rules.yml"
    path.write_text(yaml.safe_dump(rules))
    run = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr


def test_instruments_are_created_only_where_the_generator_looks(generator: ModuleType) -> None:
    creating = {str(path.relative_to(SRC)) for path in SRC.rglob("*.py") if CREATES_INSTRUMENT.search(path.read_text())}
    assert creating == set(generator.INSTRUMENT_SOURCES)


def _nav_pages(nav: list[Any]) -> set[str]:
    pages: set[str] = set()
    for entry in nav:
        for value in entry.values() if isinstance(entry, dict) else [entry]:
            pages |= _nav_pages(value) if isinstance(value, list) else {value}
    return pages


def test_every_page_is_in_the_nav() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    pages = {str(path.relative_to(DOCS)) for path in DOCS.rglob("*.md") if "_gen" not in path.parts}
    assert _nav_pages(config["nav"]) == pages


def test_every_relative_link_of_the_readme_resolves() -> None:
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", (ROOT / "README.md").read_text())
    relative = [target for target in targets if not re.match(r"^[a-z]+:", target)]
    assert len(relative) > 10
    assert [target for target in relative if not (ROOT / target).exists()] == []
