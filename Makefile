# Two set-up commands, each building its own virtualenv on first use:
#   make demo   - run `llm-otel demo` on the embedded fake provider
#   make test   - lint, then the whole test suite on the latest and on the oldest supported SDKs and OpenTelemetry
PYTHON ?= python3
VENV := .venv
OLDEST := .venv-oldest
# The floors of pyproject.toml: the oldest SDKs and the oldest OpenTelemetry and wrapt we support.
OLDEST_PINS := openai==1.66.0 anthropic==0.40.0 "httpx<0.28" opentelemetry-api==1.42.0 opentelemetry-sdk==1.42.0 \
	opentelemetry-exporter-otlp==1.42.0 opentelemetry-exporter-prometheus==0.63b0 \
	opentelemetry-instrumentation==0.63b0 opentelemetry-semantic-conventions==0.63b0 wrapt==2.2.0

.PHONY: demo test lint bench clean deploy docs

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip uv
	$(VENV)/bin/uv pip install -q --python $(VENV)/bin/python -e ".[dev,all]"
	touch $@

$(OLDEST)/.installed: pyproject.toml $(VENV)/.installed
	$(PYTHON) -m venv $(OLDEST)
	$(VENV)/bin/uv pip install -q --python $(OLDEST)/bin/python -e ".[dev]" $(OLDEST_PINS)
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/llm-otel demo $(ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests benchmarks docs/_gen
	$(VENV)/bin/ruff format --check src tests benchmarks docs/_gen
	$(VENV)/bin/mypy --strict src

test: lint $(OLDEST)/.installed
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)
	$(OLDEST)/bin/python -m pytest $(PYTEST_ARGS)

docs: $(VENV)/.installed
	$(VENV)/bin/mkdocs build --strict --site-dir site

bench: $(VENV)/.installed
	$(VENV)/bin/python benchmarks/run.py $(ARGS)

clean:
	rm -rf $(VENV) $(OLDEST)

# The compose stack's generated files (deploy/): the dashboards, Prometheus configuration and rules that
# `llm-otel dashboards` writes, for the services of docker-compose.yml. The repository's collector
# configuration is collector-config.yaml at the root, so the written copy is dropped.
deploy: $(VENV)/.installed
	$(VENV)/bin/llm-otel dashboards --out deploy --app-job llm-otel-demo --app-target demo:9464 \
		--collector-host otel-collector >/dev/null
	rm deploy/collector-config.yaml
