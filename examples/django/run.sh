#!/usr/bin/env bash
# Serve the Django example at http://127.0.0.1:8000 in development: the demo BHXH citizens,
# OTPs printed on this console. Extra arguments go to runserver (e.g. 127.0.0.1:8080).
set -euo pipefail
cd "$(dirname "$0")/../.."
REGFLOW_EXTRAS=django bash scripts/setup.sh
# Accounts and flows in one database: this SQLite file (git-ignored), or a postgresql:// URL.
export REGFLOW_DJANGO_DATABASE="${REGFLOW_DJANGO_DATABASE:-examples/django/db.sqlite3}"
# One key of each for the server and the child runserver restarts on a change of code, so
# a session and a code sent survive it (made up per run unless set).
for name in REGFLOW_DJANGO_SECRET_KEY REGFLOW_DJANGO_OTP_SECRET; do
  export "$name=${!name:-$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(32))')}"
done
export PYTHONPATH="examples/django${PYTHONPATH:+:$PYTHONPATH}"
.venv/bin/python examples/django/manage.py migrate
exec .venv/bin/python examples/django/manage.py runserver "${@:-127.0.0.1:8000}"
