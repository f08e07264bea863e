#!/usr/bin/env bash
# Quick start: set up and run every check CI runs — lint, types, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
REGFLOW_EXTRAS=dev bash scripts/setup.sh
bash scripts/graphviz.sh
# The PostgreSQL store tests need a server: start one where we may (CI, or root locally).
if [ -z "${REGFLOW_TEST_POSTGRES_DSN:-}" ] && { [ "${CI:-}" = true ] || [ "$(id -u)" = 0 ]; }; then
  REGFLOW_TEST_POSTGRES_DSN="$(bash scripts/postgres.sh)"
  export REGFLOW_TEST_POSTGRES_DSN
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
bash scripts/chromium.sh
bash scripts/docs.sh build --strict --quiet --site-dir "$(mktemp -d)"
REGFLOW_REDIS_URL="$(bash scripts/redis.sh)"
export REGFLOW_REDIS_URL
.venv/bin/python bench/run.py --quick >/dev/null  # a smoke run of the benchmark, so it never rots
.venv/bin/pytest "$@"
