#!/usr/bin/env bash
# Run once by the postgres image on the first start of an empty data volume (docker-entrypoint-initdb.d):
# one database per service, each owned by its own login role, and neither role can connect to the other's.
# The passwords come from the postgres service's environment (docker-compose.yml), never from this file.
# A volume that already holds a database is left alone: to change a password later, use ALTER ROLE.
set -e

: "${CATALOGUE_DB_PASSWORD:?CATALOGUE_DB_PASSWORD is not set}"
: "${ENROLMENT_DB_PASSWORD:?ENROLMENT_DB_PASSWORD is not set}"

# psql's :'name' quotes each password as an SQL literal, whatever characters it holds.
psql --no-psqlrc -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
     -v catalogue_password="$CATALOGUE_DB_PASSWORD" -v enrolment_password="$ENROLMENT_DB_PASSWORD" <<'SQL'
CREATE ROLE catalogue LOGIN PASSWORD :'catalogue_password';
CREATE ROLE enrolment LOGIN PASSWORD :'enrolment_password';
CREATE DATABASE catalogue OWNER catalogue ENCODING 'UTF8' TEMPLATE template0;
CREATE DATABASE enrolment OWNER enrolment ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE catalogue FROM PUBLIC;
REVOKE ALL ON DATABASE enrolment FROM PUBLIC;
SQL
