#!/usr/bin/env bash
# One PostgreSQL role per subgraph, owning only its own schema (README "Database roles").
#
# Compose runs this once, when the PostgreSQL volume is first initialised (/docker-entrypoint-initdb.d); tests
# run it against a scratch database (packages/testkit provisionSubgraphRoles). Re-running it is harmless: roles
# that exist get the password from the environment again.
#
# Environment:
#   POSTGRES_USER, POSTGRES_DB              the superuser to run as and the platform's database
#   IDENTITY_DB_PASSWORD, CHAT_DB_PASSWORD, ORCHESTRATION_DB_PASSWORD, ML_CLASSIFIER_DB_PASSWORD, GITHUB_DB_PASSWORD,
#   CICD_DB_PASSWORD
#                                           required, one per subgraph role
#   SUBGRAPH_ROLE_PREFIX                    optional prefix of the role names (tests: roles are cluster-wide)
# psql also reads PGHOST, PGPORT and PGPASSWORD when they are set.
set -euo pipefail

: "${POSTGRES_USER:?}" "${POSTGRES_DB:?}"
prefix="${SUBGRAPH_ROLE_PREFIX:-}"
subgraphs=(identity chat orchestration ml_classifier github cicd)

run_psql() {
  psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" "$@"
}

# Nobody gets anything by default: no tables in `public`, no temporary tables, no connecting unless granted.
run_psql -v db="$POSTGRES_DB" <<'SQL'
REVOKE ALL ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
SQL

for schema in "${subgraphs[@]}"; do
  variable="$(echo "$schema" | tr '[:lower:]' '[:upper:]')_DB_PASSWORD"
  password="${!variable:-}"
  if [ -z "$password" ]; then
    echo "subgraph-roles: set $variable (the password of the $schema role)" >&2
    exit 1
  fi
  run_psql -v db="$POSTGRES_DB" -v role="${prefix}${schema}" -v schema="$schema" -v password="$password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'role', :'password')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L', :'role', :'password') \gexec
GRANT CONNECT ON DATABASE :"db" TO :"role";
-- The first migration of a subgraph says CREATE SCHEMA IF NOT EXISTS, which PostgreSQL checks against the
-- database's CREATE right even when the schema exists. The role may create schemas of its own; it gets no
-- right on anybody else's.
GRANT CREATE ON DATABASE :"db" TO :"role";
CREATE SCHEMA IF NOT EXISTS :"schema" AUTHORIZATION :"role";
ALTER SCHEMA :"schema" OWNER TO :"role";
REVOKE ALL ON SCHEMA :"schema" FROM PUBLIC;
SQL
done
