#!/usr/bin/env bash
# Installs the Debian packages the test session (or the benchmark) starts by itself, where missing.
# Redis: only needed when neither TEST_REDIS_URL nor a Docker engine provides one; installing it
# anyway keeps `make test` independent of what the machine happens to run.
set -euo pipefail

wanted=("${@:-redis-server}")
missing=()
for cmd in "${wanted[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ -n "${TEST_REDIS_URL:-}" ] && [ "${missing[*]}" = "redis-server" ]; then
  exit 0  # the tests use the Redis at TEST_REDIS_URL
fi

sudo=""
[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo="sudo -n"
if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || [ -n "$sudo" ]; }; then
  echo "installing ${missing[*]} (Debian packages)"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi

echo "Missing: ${missing[*]}. Install it (Debian/Ubuntu: apt-get install ${missing[*]};" \
     "macOS: brew install redis), or point the tests at a running Redis with" \
     "TEST_REDIS_URL=redis://host:port/0, or start Docker so testcontainers can run redis:7." >&2
exit 1
