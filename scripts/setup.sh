#!/usr/bin/env bash
# Create .venv (once) and install regflow with the extras named in $REGFLOW_EXTRAS.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[${REGFLOW_EXTRAS:-}]"
