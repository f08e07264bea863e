#!/usr/bin/env bash
# Create .venv (once) and install regflow, with the extras named in $REGFLOW_EXTRAS (e.g. "dev").
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
target="."
if [ -n "${REGFLOW_EXTRAS:-}" ]; then
  target=".[${REGFLOW_EXTRAS}]"
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$target"
