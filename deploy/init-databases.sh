#!/usr/bin/env bash
# First start of the compose Postgres: a database and a role for Dagster's own storage, and one for the catalog.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username postgres \
  -v dagster_password="$DAGSTER_DB_PASSWORD" -v catalog_password="$CATALOG_DB_PASSWORD" <<'SQL'
CREATE ROLE dagster LOGIN PASSWORD :'dagster_password';
CREATE DATABASE dagster OWNER dagster;
ALTER DATABASE dagster SET timezone TO 'UTC';
CREATE ROLE catalog LOGIN PASSWORD :'catalog_password';
CREATE DATABASE catalog OWNER catalog;
SQL
