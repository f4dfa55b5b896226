# syntax=docker/dockerfile:1
# Switchboard: the web front end (ASGI), Celery workers and beat all run this image.
#   docker build -t switchboard .
# Stage 1 builds the widget and the flow builder from their sources, so the image's bundles
# always match them; stage 2 installs the hashed runtime lock into a virtualenv; the last stage
# copies both onto a slim Python with no compiler and runs as an unprivileged user.

ARG PYTHON_VERSION=3.12

FROM node:22-slim AS frontend
WORKDIR /src
COPY frontend/widget/package.json frontend/widget/package-lock.json frontend/widget/
COPY frontend/builder/package.json frontend/builder/package-lock.json frontend/builder/
RUN cd frontend/widget && npm ci --no-audit --no-fund && cd ../builder && npm ci --no-audit --no-fund
COPY frontend/ frontend/
COPY static/ static/
RUN cd frontend/widget && npm run build && cd ../builder && npm run build

FROM python:${PYTHON_VERSION}-slim AS python-deps
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.lock /tmp/requirements.lock
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --require-hashes --no-deps -r /tmp/requirements.lock

FROM python:${PYTHON_VERSION}-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MEDIA_ROOT=/app/var/media \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin switchboard
WORKDIR /app
COPY --from=python-deps /opt/venv /opt/venv
COPY --chown=switchboard:switchboard . /app
COPY --from=frontend --chown=switchboard:switchboard /src/static/switchboard /app/static/switchboard
# Static files are collected into the image; these values only let the settings load for it.
RUN SECRET_KEY=collectstatic-only \
    FIELD_ENCRYPTION_KEY=$(python -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())") \
    DATABASE_URL=postgres://build@localhost/build REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput \
    && mkdir -p /app/var/media /app/var/beat /tmp/prometheus \
    && chown -R switchboard:switchboard /app/var /app/staticfiles /tmp/prometheus
USER switchboard
EXPOSE 8000
# Several ASGI workers per container; PROMETHEUS_MULTIPROC_DIR lets /metrics add up all of them.
CMD ["sh", "-c", "rm -rf $PROMETHEUS_MULTIPROC_DIR/* && exec python -m config.web --host 0.0.0.0 --port 8000 --workers ${WEB_WORKERS:-4} --access-log"]
