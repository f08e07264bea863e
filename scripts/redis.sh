#!/usr/bin/env bash
# Start a throwaway redis-server on loopback for the Redis limiter tests and print its URL
# (nothing when Redis cannot be had: those tests then skip). Installs it on Debian as root.
set -euo pipefail
port="${REGFLOW_REDIS_PORT:-6390}"
if ! command -v redis-server >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    if ! { apt-get install -y -qq redis-server || { apt-get update -qq && apt-get install -y -qq redis-server; }; } >&2; then
      echo "redis-server could not be installed: the Redis limiter tests will skip" >&2
      exit 0
    fi
  else
    echo "redis-server is not installed: the Redis limiter tests will skip" >&2
    exit 0
  fi
fi
if ! redis-cli -p "$port" ping >/dev/null 2>&1; then
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes >&2
fi
for _ in $(seq 50); do
  if redis-cli -p "$port" ping >/dev/null 2>&1; then
    echo "redis://127.0.0.1:${port}/0"
    exit 0
  fi
  sleep 0.1
done
echo "redis-server did not answer on port ${port}" >&2
exit 1
