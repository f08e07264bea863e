#!/usr/bin/env bash
# Install Debian's Chromium for the portal's browser tests, once (Playwright drives it).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/chromium.sh: the browser tests need Debian's chromium: sudo apt-get install chromium" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
for attempt in 1 2 3 4 5; do  # another apt run may hold the dpkg lock for a while
  if apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null; then
    exit 0
  fi
  echo "chromium install failed (attempt $attempt), retrying" >&2
  sleep 15
done
exit 1
