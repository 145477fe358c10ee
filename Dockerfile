# One image for every service of the compose stack: the Dagster webserver, daemon and code server, the
# ingest API and the simulators all run the same installed package with different commands.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DAGSTER_HOME=/opt/dagster/home \
    INGEST_HOME=/var/lib/ingest

WORKDIR /opt/ingest_pipeline

# Dependencies first, from setup.py alone with an empty package, so that a code change reuses this layer.
COPY setup.py ./
RUN mkdir ingest_pipeline && touch ingest_pipeline/__init__.py \
    && pip install . \
    && rm -rf ingest_pipeline build *.egg-info

COPY ingest_pipeline ./ingest_pipeline
RUN pip install --no-deps . && rm -rf build *.egg-info

# The production instance (Postgres storage, queued runs, pools) and the compose workspace.
COPY dagster.yaml ${DAGSTER_HOME}/dagster.yaml
COPY deploy/workspace.yaml /opt/dagster/workspace.yaml
# The bundled samples, for a first `ingest-pipeline ingest samples/` inside the stack.
COPY samples ./samples

# Not root: the volumes for stored documents and Dagster's compute logs are created owned by this user.
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin ingest \
    && mkdir -p ${INGEST_HOME} ${DAGSTER_HOME}/storage \
    && chown -R ingest ${INGEST_HOME} ${DAGSTER_HOME}
USER ingest

EXPOSE 3000 4000 8000
CMD ["ingest-pipeline", "--help"]
