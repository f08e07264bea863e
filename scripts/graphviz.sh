#!/usr/bin/env bash
# Graphviz's `dot` program, which SVG/PNG diagrams and their tests need: installed once, as root.
set -euo pipefail
if command -v dot >/dev/null; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/graphviz.sh: install Graphviz (apt-get install graphviz) for the SVG/PNG tests" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq graphviz >/dev/null 2>&1 || {
  apt-get update -qq >/dev/null
  apt-get install -y -qq graphviz >/dev/null
}
