#!/usr/bin/env bash
# Quick start: set up and walk through a registration in the terminal (`--lang en` for English).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/regflow demo "$@"
