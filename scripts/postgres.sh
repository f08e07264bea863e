#!/usr/bin/env bash
# Start a local PostgreSQL (installing it from Debian if missing, so as root) with a fresh,
# empty database for the tests, and print its DSN:
#   export REGFLOW_TEST_POSTGRES_DSN="$(bash scripts/postgres.sh)"
# Safe to run again: it reuses the cluster and the role and only recreates the database.
set -euo pipefail
db=regflow_test role=regflow password=regflow

if ! command -v pg_ctlcluster >/dev/null; then
  echo "postgres.sh: installing PostgreSQL from Debian" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi

cluster=$(pg_lsclusters --no-header | sort -V | tail -n 1)
if [ -z "$cluster" ]; then
  version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  pg_createcluster "$version" main >&2
  cluster=$(pg_lsclusters --no-header | sort -V | tail -n 1)
fi
read -r version name port status _ <<<"$cluster"
if [ "$status" != online ]; then
  pg_ctlcluster "$version" "$name" start >&2
fi
until pg_isready -q -h localhost -p "$port"; do sleep 0.2; done

as_postgres() { runuser -u postgres -- "$@"; }
as_postgres psql -q -p "$port" -v ON_ERROR_STOP=1 >&2 <<SQL
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', '$role', '$password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$role') \gexec
SQL
as_postgres dropdb -p "$port" --if-exists --force "$db" >&2
as_postgres createdb -p "$port" --owner "$role" "$db" >&2
echo "postgresql://$role:$password@localhost:$port/$db"
