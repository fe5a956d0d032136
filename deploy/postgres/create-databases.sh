#!/bin/sh
# MLflow's role and database beside Dagster's. The postgres image runs this once, on an empty data
# directory, from /docker-entrypoint-initdb.d (as POSTGRES_USER, over the local socket);
# financial_assets_tests/test_deploy_topology.py runs it the same way against a native server.
set -e
: "${POSTGRES_USER:?}" "${POSTGRES_DB:?}" "${MLFLOW_POSTGRES_USER:?}" "${MLFLOW_POSTGRES_PASSWORD:?}" "${MLFLOW_POSTGRES_DB:?}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v mlflow_user="$MLFLOW_POSTGRES_USER" -v mlflow_password="$MLFLOW_POSTGRES_PASSWORD" \
    -v mlflow_db="$MLFLOW_POSTGRES_DB" <<'SQL'
CREATE ROLE :"mlflow_user" LOGIN PASSWORD :'mlflow_password';
CREATE DATABASE :"mlflow_db" OWNER :"mlflow_user";
SQL
