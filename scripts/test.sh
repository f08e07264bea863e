#!/usr/bin/env bash
# Quick start: set up and run every check CI runs — lint, types, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
REGFLOW_EXTRAS=dev bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
bash scripts/chromium.sh
.venv/bin/pytest "$@"
