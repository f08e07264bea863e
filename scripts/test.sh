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
.venv/bin/python bench/slow_ports.py --smoke >/dev/null  # and of the slow-port one
# and of the HTTP one: the portal under gunicorn, its own Redis, PostgreSQL (a schema in the
# test server's database, or a cluster of its own when there is none)
REGFLOW_BENCH_POSTGRES_DSN="${REGFLOW_TEST_POSTGRES_DSN:-}" .venv/bin/python bench/http_load.py --smoke >/dev/null
.venv/bin/pytest "$@"
# The engine's behaviour tests once more, on AsyncEngine over async fakes: one set of rules,
# two drivers (docs/architecture.md#two-drivers-sync-and-asyncio). Not when given arguments.
if [ "$#" -eq 0 ]; then
  .venv/bin/pytest -q --engine-driver=async \
    tests/test_async_engine.py \
    tests/test_bhxh_check.py \
    tests/test_declare.py \
    tests/test_engine_guards.py \
    tests/test_faults.py \
    tests/test_flow_lifecycle.py \
    tests/test_form.py \
    tests/test_generated_paths.py \
    tests/test_hasher_failure.py \
    tests/test_hooks.py \
    tests/test_host_rule.py \
    tests/test_lock_warnings.py \
    tests/test_method.py \
    tests/test_odd_strings.py \
    tests/test_otel.py \
    tests/test_otp.py \
    tests/test_otp_rotation.py \
    tests/test_password.py \
    tests/test_password_profiles.py \
    tests/test_rate_limits.py \
    tests/test_records.py \
    tests/test_recovery.py \
    tests/test_secrets.py \
    tests/test_secrets_and_snapshots.py \
    tests/test_sms.py \
    tests/test_snapshot_json.py \
    tests/test_start_limit.py \
    tests/test_tone_marks.py \
    tests/test_versioning.py \
    tests/test_versioning_property.py \
    tests/test_vietnamese_acceptance.py \
    tests/test_vneid.py
fi
