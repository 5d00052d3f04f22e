# FlowHub: `make run` serves on :4000 with in-memory adapters; `make test` runs every check.
# Both install what they need first (uv, Python 3.13 packages from uv.lock, redis-server).

SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.9
UV := .uv/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
# .pyc files are compiled at install: this machine sets PYTHONDONTWRITEBYTECODE, and without
# bytecode every start recompiles the stack (measured: cold start 3.3x slower)
export UV_COMPILE_BYTECODE := 1
PYTEST := $(PY) -m pytest
CODE := domain ports schemas adapters config entrypoints tests bench devtools

.PHONY: help install install-serve run dev dev-reset seed test check lint typecheck imports unit contract integration api e2e \
        fuzz bench bench-peer bench-http budget services format clean faults soak load reliability

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(UV):
	@python3 -m venv .uv >/dev/null || { echo "python3 with the venv module is needed to bootstrap uv (Debian: apt-get install python3-venv)"; exit 1; }
	@.uv/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

NO_PYTHON_313 := echo "Could not create the environment: FlowHub needs CPython 3.13 (README \"Platforms\": pyenv install 3.13 on Debian 12, python3 on Debian 13)."; exit 1

# everything: the app's packages and the dev group (tests, linters, the local services' helpers)
$(VENV)/.installed: $(UV) pyproject.toml uv.lock
	@$(UV) sync --frozen --python 3.13 --quiet || { $(NO_PYTHON_313); }
	@touch $@ $(VENV)/.installed-serve

# what serving needs, no test tools; --inexact keeps a dev group installed earlier (make test's)
$(VENV)/.installed-serve: $(UV) pyproject.toml uv.lock
	@$(UV) sync --frozen --no-dev --inexact --python 3.13 --quiet || { $(NO_PYTHON_313); }
	@touch $@

install: $(VENV)/.installed  ## create .venv with Python 3.13 and the locked dependencies (dev group included)

install-serve: $(VENV)/.installed-serve  ## only what serving needs (make run's), no test tools

run: install-serve  ## serve on HOST:PORT (127.0.0.1:4000) with in-memory adapters unless services are configured
	$(PY) -m entrypoints

dev: install  ## serve on the real Redis and MongoDB adapters with data kept in .dev/ and keys in .env (Ctrl-C stops all three)
	@command -v redis-server >/dev/null || bash scripts/ensure-test-services.sh redis-server
	@$(PY) -m devtools.dev serve

dev-reset: install-serve  ## wipe make dev's data (.dev/); .env and its keys stay
	@$(PY) -m devtools.dev reset

seed: install-serve  ## two verified users with known passwords, a room with both and a few messages, on the running make dev (idempotent)
	@$(PY) -m devtools.seed

services: tests/interop/node_modules/.installed tests/oidc/node_modules/.installed clients/typescript/node_modules/.installed  ## the local services and tools the tests start
	@bash scripts/ensure-test-services.sh

# the official JavaScript Socket.IO client, for the interoperability test
tests/interop/node_modules/.installed: tests/interop/package.json tests/interop/package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node.js 18+) is needed for the socket.io-client interop test: apt-get install nodejs npm"; exit 1; }
	@cd tests/interop && npm ci --no-audit --no-fund --silent
	@touch $@

# a local OpenID provider (node-oidc-provider, certified) for the provider sign-in tests
tests/oidc/node_modules/.installed: tests/oidc/package.json tests/oidc/package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node.js 20+) is needed for the OpenID provider of the sign-in tests: apt-get install nodejs npm"; exit 1; }
	@cd tests/oidc && npm ci --no-audit --no-fund --silent
	@touch $@

# the TypeScript client's toolchain, pinned by its lock: redocly (lints /openapi.json),
# openapi-typescript, tsc, and swagger-ui-dist (vendored for /docs)
clients/typescript/node_modules/.installed: clients/typescript/package.json clients/typescript/package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node.js 20.19+) is needed for the TypeScript client: apt-get install nodejs npm"; exit 1; }
	@cd clients/typescript && npm ci --no-audit --no-fund --silent
	@touch $@

.PHONY: client-types
client-types: install clients/typescript/node_modules/.installed  ## regenerate the TypeScript client's types from /openapi.json and /asyncapi.json, and its bundle in the reference web client
	$(PY) -m entrypoints.documents clients/typescript/schema
	cd clients/typescript && node scripts/generate.mjs schema/openapi.json schema/asyncapi.json src/generated
	cd clients/typescript && node scripts/bundle.mjs ../../entrypoints/web/vendor/flowhub-client.js

lint: install  ## ruff
	$(VENV)/bin/ruff check $(CODE)
	$(VENV)/bin/ruff format --check $(CODE)

typecheck: install  ## mypy --strict
	$(VENV)/bin/mypy --strict $(CODE)

imports: install  ## the dependency rule, as import-linter contracts
	$(VENV)/bin/lint-imports

.PHONY: deploy-lint deploy-check

# actionlint and hadolint come as wheels in the dev group (no Docker, no Go toolchain needed)
deploy-lint: install  ## actionlint on the GitHub workflows, hadolint on the Dockerfile
	$(VENV)/bin/actionlint
	$(VENV)/bin/hadolint Dockerfile

deploy-check: deploy-lint  ## the deployment files, and the image's CMD served from a fresh no-dev env built from the lock
	$(PYTEST) -m deploy

check: lint typecheck imports deploy-lint  ## every static check

unit: install  ## domain and services on memory adapters
	$(PYTEST) -m unit

contract: install services  ## one suite per port, against every adapter
	$(PYTEST) -m contract

integration: install services  ## adapters against real MongoDB, Redis, S3/SES
	$(PYTEST) -m integration

api: install services  ## HTTP and Socket.IO through the ASGI app
	$(PYTEST) -m api

e2e: install services  ## a real browser
	$(PYTEST) -m e2e

# schemathesis examples per API operation for `make fuzz` (`make test` runs the fuzz suites at 15)
FUZZ_EXAMPLES ?= 300

fuzz: install services  ## hostile input at full size: schemathesis (FUZZ_EXAMPLES per operation, fixed seed) on both shapes, malformed Socket.IO, the authorization sweep
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PYTEST) -m fuzz -s

test: install services check  ## everything: ruff, mypy --strict, import contracts, the whole pytest suite (but the slow variants)
	$(PYTEST) -m "not slow"

faults: install services  ## services stopped, paused and restarted under real servers, slow variants included
	$(PYTEST) -m "faults or slow" -s

SOAK_ARGS ?= --clients 200 --duration 600
soak: install services  ## chat soak over two instances (SOAK_ARGS="--clients 50 --duration 30" for a short one)
	$(PY) -m bench.soak $(SOAK_ARGS)

LOAD_ARGS ?= --duration 10 --over 256,1024
load: install services  ## HTTP load at peak, half of it and above it, with and without load shedding
	@command -v wrk >/dev/null || bash scripts/ensure-test-services.sh wrk
	$(PY) -m bench.load $(LOAD_ARGS)

reliability: install services  ## fuzz (make fuzz), faults, load and soak; see RELIABILITY.md
	$(MAKE) fuzz
	$(MAKE) faults
	$(MAKE) load
	$(MAKE) soak

bench: install  ## start the real server and print the benchmark tables (foundation, auth, files, observability, chat)
	@command -v wrk >/dev/null || bash scripts/ensure-test-services.sh wrk
	$(PY) -m bench.foundation
	$(PY) -m bench.auth
	$(PY) -m bench.files
	$(PY) -m bench.observability
	$(PY) -m bench.chat

HTTP_AB_ARGS ?=
bench-http: install  ## the signed-in GET /users/me A/B: one production-shape server per arm, interleaved, medians (HTTP_AB_ARGS="--quick")
	$(PY) -m bench.http_ab $(HTTP_AB_ARGS)

BUDGET_ARGS ?=
budget: install services  ## the free-tier budget: a scripted day's Redis commands and MongoDB bytes per user, baseline vs this checkout, 1 and 2 instances (BUDGET_ARGS="--users 9 --idle-s 6" for a short one)
	$(PY) -m bench.budget $(BUDGET_ARGS)

# the Node.js peer of issue 21 (bench/peer), installed from the lock with npm ci
bench/peer/node_modules/.installed: bench/peer/package.json bench/peer/package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node.js 20+) is needed for the Node peer: apt-get install nodejs npm"; exit 1; }
	@cd bench/peer && npm ci --no-audit --no-fund --silent
	@touch $@

PEER_BENCH_ARGS ?=
bench-peer: install bench/peer/node_modules/.installed  ## FlowHub against a minimal Node peer doing the same work, each on one core (PEER_BENCH_ARGS=--quick for a smoke run)
	@command -v wrk >/dev/null || bash scripts/ensure-test-services.sh wrk
	@command -v redis-server >/dev/null || bash scripts/ensure-test-services.sh redis-server
	$(PY) -m bench.peer_bench $(PEER_BENCH_ARGS)

format: install  ## apply ruff's formatting and fixes
	$(VENV)/bin/ruff format $(CODE)
	$(VENV)/bin/ruff check --fix $(CODE)

clean:  ## remove the environment and caches
	rm -rf $(VENV) .uv .mypy_cache .ruff_cache .pytest_cache
