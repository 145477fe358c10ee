#!/bin/sh
# Runs once, when the postgres volume is first initialised: Dagster's runs and event logs get their own
# database beside the pipeline's, so each can be backed up, vacuumed and pruned on its own terms.
set -eu
if [ "${DAGSTER_PG_DB}" != "${POSTGRES_DB}" ]; then
    psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER}" --dbname "${POSTGRES_DB}" \
        -c "CREATE DATABASE \"${DAGSTER_PG_DB}\""
fi
