# Two set-up commands, each building its own virtualenv on first use:
#   make demo   - run `llm-otel demo` on the embedded fake provider
#   make test   - lint, then the whole test suite on the latest and on the oldest supported SDKs and OpenTelemetry,
#                 and the framework tests through real frameworks
PYTHON ?= python3
VENV := .venv
OLDEST := .venv-oldest
# The floors of pyproject.toml: the oldest SDKs and the oldest OpenTelemetry and wrapt we support.
OLDEST_OTEL := opentelemetry-api==1.42.0 opentelemetry-sdk==1.42.0 \
	opentelemetry-exporter-otlp==1.42.0 opentelemetry-exporter-prometheus==0.63b0 \
	opentelemetry-instrumentation==0.63b0 opentelemetry-semantic-conventions==0.63b0 wrapt==2.2.0 \
	$(foreach name,system-metrics asgi wsgi fastapi django grpc requests httpx botocore,opentelemetry-instrumentation-$(name)==0.63b0)
OLDEST_PINS := openai==1.66.0 anthropic==0.40.0 ollama==0.4.0 mistralai==1.5.0 cohere==5.16.0 \
	boto3==1.34.116 botocore==1.34.116 "httpx<0.28" $(OLDEST_OTEL)
# google-genai 1.8 needs httpx 0.28, which ollama 0.4 refuses: its floor is tested in a virtualenv of its own
# (openai beside it, which the tests' shared fixtures import).
OLDEST_GENAI := .venv-oldest-genai
OLDEST_GENAI_PINS := google-genai==1.8.0 openai==1.66.0 $(OLDEST_OTEL)
GENAI_TESTS := tests/test_gemini_calls.py tests/test_gemini_streams.py tests/test_fake_gemini.py
# The frameworks tests/frameworks drives the SDKs through, at the versions docs/frameworks.md lists. They
# get a virtualenv of their own: instructor caps jiter, which holds openai at 3.3, and pydantic-ai 2.38
# fails on anthropic 2.x's message types, which holds anthropic at 1.17.
FRAMEWORKS := .venv-frameworks
FRAMEWORK_PINS := openai==3.3.0 anthropic==1.17.0 langchain-openai==1.8.1 langchain-anthropic==1.7.10 \
	openai-agents==0.24.0 instructor==1.17.0 litellm==1.110.2 "pydantic-ai-slim[openai,anthropic]==2.38.0"

.PHONY: demo test test-latest test-oldest test-oldest-genai test-frameworks lint bench clean deploy docs prices

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip uv
	$(VENV)/bin/uv pip install -q --python $(VENV)/bin/python -e ".[dev,all]"
	touch $@

$(OLDEST)/.installed: pyproject.toml $(VENV)/.installed
	$(PYTHON) -m venv $(OLDEST)
	$(VENV)/bin/uv pip install -q --python $(OLDEST)/bin/python -e ".[dev,process,web]" $(OLDEST_PINS)
	touch $@

$(OLDEST_GENAI)/.installed: pyproject.toml $(VENV)/.installed
	$(PYTHON) -m venv $(OLDEST_GENAI)
	$(VENV)/bin/uv pip install -q --python $(OLDEST_GENAI)/bin/python -e ".[dev]" $(OLDEST_GENAI_PINS)
	touch $@

$(FRAMEWORKS)/.installed: pyproject.toml $(VENV)/.installed
	$(PYTHON) -m venv $(FRAMEWORKS)
	$(VENV)/bin/uv pip install -q --python $(FRAMEWORKS)/bin/python -e ".[dev]" $(FRAMEWORK_PINS)
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/llm-otel demo $(ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests benchmarks docs/_gen
	$(VENV)/bin/ruff format --check src tests benchmarks docs/_gen
	$(VENV)/bin/mypy --strict src

# The suites one after the other, the two big ones spread over pytest-xdist workers: one more than
# the 2 cores of CI's machine, since much of the suite waits on servers and subprocesses (the latest
# suite takes 6 minutes so, 12 in one process).
WORKERS ?= 3
test: lint test-latest test-oldest test-oldest-genai test-frameworks

test-latest: $(VENV)/.installed
	$(VENV)/bin/python -m pytest -n $(WORKERS) $(PYTEST_ARGS)

test-oldest: $(OLDEST)/.installed
	$(OLDEST)/bin/python -m pytest -n $(WORKERS) $(PYTEST_ARGS)

test-oldest-genai: $(OLDEST_GENAI)/.installed
	$(OLDEST_GENAI)/bin/python -m pytest $(GENAI_TESTS) $(PYTEST_ARGS)

test-frameworks: $(FRAMEWORKS)/.installed
	$(FRAMEWORKS)/bin/python -m pytest tests/frameworks $(PYTEST_ARGS)

docs: $(VENV)/.installed
	$(VENV)/bin/mkdocs build --strict --site-dir site

# The shipped price table from the genai-prices of the dev extra, at today's prices; bump its pin in
# pyproject.toml first to take newer ones.
prices: $(VENV)/.installed
	$(VENV)/bin/python docs/_gen/pricing.py

bench: $(VENV)/.installed
	$(VENV)/bin/python benchmarks/run.py $(ARGS)

clean:
	rm -rf $(VENV) $(OLDEST) $(OLDEST_GENAI) $(FRAMEWORKS)

# The compose stack's generated files (deploy/): the dashboards, Prometheus configuration and rules that
# `llm-otel dashboards` writes, for the services of docker-compose.yml. The repository's collector
# configuration is collector-config.yaml at the root, so the written copy is dropped.
deploy: $(VENV)/.installed
	$(VENV)/bin/llm-otel dashboards --out deploy --app-job llm-otel-demo --app-target demo:9464 \
		--collector-host otel-collector >/dev/null
	rm deploy/collector-config.yaml
