# Tarikh: the Discord bot in a container.
#   docker build -t tarikh .
#   docker run --env-file .env -v tarikh-data:/data tarikh
# Or, with the volume, log rotation and health check wired: docker compose up -d
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# 1. Dependencies only, in their own layer: rebuilt when pyproject.toml changes, not the code.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# 2. An unprivileged user, and /data owned by it (a new named volume starts with this ownership).
RUN groupadd --system --gid 10001 tarikh \
    && useradd --system --uid 10001 --gid tarikh --create-home --shell /usr/sbin/nologin tarikh \
    && mkdir /data \
    && chown tarikh:tarikh /data

# 3. The code and the knowledge pack (owned by root: the bot cannot change them). Run from the
#    source folder, not installed: `python -m bot` finds the package through PYTHONPATH.
COPY bot/ ./bot/
COPY knowledge/ ./knowledge/

# The pack is baked in; mount another over /app/knowledge (or elsewhere and point
# TARIKH_KNOWLEDGE at it) to change it without a rebuild. The query log lives on the volume.
ENV PYTHONPATH=/app \
    TARIKH_KNOWLEDGE=/app/knowledge \
    TARIKH_DB=/data/tarikh.db \
    TARIKH_HEALTH_FILE=/data/health.json
VOLUME ["/data"]

USER 10001:10001

# Pack loads, database takes a write, gateway connected (the bot rewrites /data/health.json
# every 15 s). The first heartbeat comes a few seconds after start.
HEALTHCHECK --interval=30s --timeout=15s --start-period=60s --retries=3 \
    CMD ["python", "-m", "bot", "health"]

# SIGTERM (docker stop) finishes replies in flight, flushes the query log and exits 0.
STOPSIGNAL SIGTERM
# `run` (not `start`): in a container there is no console to fall back to, so a missing token
# is an error that says so, rather than a console that exits at once.
CMD ["python", "-m", "bot", "run"]
