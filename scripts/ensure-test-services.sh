#!/usr/bin/env bash
# Installs the Debian packages the test session (or the benchmark) starts by itself, where missing
# (each command is its package's name): by default redis-server and chromium.
# Redis: only needed when neither TEST_REDIS_URL nor a Docker engine provides one; installing it
# anyway keeps `make test` independent of what the machine happens to run.
# chromium: the browser of the end-to-end tests (Playwright drives the system's chromium; no
# browser download works on the development machines), unless CHROMIUM_PATH names another one.
set -euo pipefail

if [ $# -gt 0 ]; then wanted=("$@"); else wanted=(redis-server chromium); fi
missing=()
for cmd in "${wanted[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 && continue
  [ "$cmd" = redis-server ] && [ -n "${TEST_REDIS_URL:-}" ] && continue  # the tests use that Redis
  [ "$cmd" = chromium ] && [ -x "${CHROMIUM_PATH:-/nonexistent}" ] && continue
  missing+=("$cmd")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo="sudo -n"
if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || [ -n "$sudo" ]; }; then
  echo "installing ${missing[*]} (Debian packages)"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi

echo "Missing: ${missing[*]}. Install it (Debian/Ubuntu: apt-get install ${missing[*]};" \
     "macOS: brew install redis chromium), or point the tests at a running Redis with" \
     "TEST_REDIS_URL=redis://host:port/0 (or start Docker so testcontainers can run redis:7)," \
     "and at a Chromium or Chrome executable with CHROMIUM_PATH=/path/to/chrome." >&2
exit 1
