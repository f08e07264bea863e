#!/usr/bin/env bash
# Start the reference portal at http://127.0.0.1:8000 in development mode: demo BHXH data,
# the development SMS inbox at /dev/sms. Extra arguments go to the server (e.g. --port 8080).
set -euo pipefail
cd "$(dirname "$0")/../.."
REGFLOW_EXTRAS=portal bash scripts/setup.sh
export REGFLOW_PORTAL_DEV=1
# Accounts and flows survive a restart here (git-ignored, with its -wal and -shm files). To start
# over, stop the server first, then: rm -f examples/portal/portal.sqlite3*
export REGFLOW_PORTAL_DATABASE="${REGFLOW_PORTAL_DATABASE:-examples/portal/portal.sqlite3}"
# The portal's package, and the tutorial's flow it runs besides regflow's own (phone_change).
export PYTHONPATH="examples/portal:examples/phone_change${PYTHONPATH:+:$PYTHONPATH}"
exec .venv/bin/python -m regflow_portal "$@"
