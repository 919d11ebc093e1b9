# The llm-otel demo application, as the `demo` service of docker-compose.yml runs it.
FROM python:3.11.15-slim-trixie

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# Only what the package build reads (see .dockerignore): a change elsewhere does not invalidate this layer.
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install ".[all]" && useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin llm-otel

USER llm-otel
EXPOSE 9464
CMD ["llm-otel", "demo", "--keep-serving", "--metrics-host", "0.0.0.0"]
