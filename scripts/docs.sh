#!/usr/bin/env bash
# The documentation site: `bash scripts/docs.sh` serves it at http://127.0.0.1:8000 with live
# reload; `bash scripts/docs.sh build --strict --site-dir site` builds it as CI does.
# The toolchain is pinned in pyproject.toml (MkDocs 1.6, Material 9.7+; the comment there says
# why). Material prints an end-of-life banner on every run; we know, so it is turned off here.
set -euo pipefail
cd "$(dirname "$0")/.."
REGFLOW_EXTRAS=dev bash scripts/setup.sh
export NO_MKDOCS_2_WARNING=1
if [ "$#" -eq 0 ]; then
  set -- serve
fi
exec .venv/bin/mkdocs "$@"
