# syntax=docker/dockerfile:1
# FlowHub's production image (Fly.io): the locked runtime dependencies only, compiled bytecode,
# a non-root user, one uvicorn process on :4000 (entrypoints/server.py has its settings).
# tests/deploy/test_image_command.py replays this file's build steps and runs its CMD outside
# Docker; tests/deploy/test_dockerfile.py checks its pins against the rest of the repository.

# The same Python in both stages (the virtual environment links to /usr/local/bin/python3.13);
# a test keeps the two FROM lines equal and render.yaml's PYTHON_VERSION on the same release.
FROM python:3.13.16-slim-trixie AS build

# uv from PyPI, the version the Makefile installs (a test keeps the two equal).
ARG UV_VERSION=0.13.9
# binutils for `strip`. Not pinned to a Debian version (DL3008): security updates replace pinned
# versions in the archive, and this stage is thrown away (the runtime image never has binutils).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends binutils \
 && rm -rf /var/lib/apt/lists/* \
 && pip install --no-cache-dir --disable-pip-version-check "uv==${UV_VERSION}"

# .pyc files compiled at install: without them every cold start recompiles the stack (3.3x slower).
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv

WORKDIR /app

# Dependencies first, in their own layer: a change to the code alone does not reinstall them.
COPY pyproject.toml uv.lock .python-version ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project

# Smaller, same code: debug symbols out of the compiled extensions (uvloop alone carries 13 MB)
# and the C/Cython sources some wheels ship beside them (dependency-injector: 11 MB).
RUN find /app/.venv -name '*.so' -exec strip --strip-unneeded {} + \
 && find /app/.venv/lib \( -name '*.c' -o -name '*.pyx' -o -name '*.pxd' \) -type f -delete

COPY domain/ domain/
COPY ports/ ports/
COPY schemas/ schemas/
COPY adapters/ adapters/
COPY config/ config/
COPY entrypoints/ entrypoints/
# FlowHub's own bytecode too; the image never changes, so no source timestamps are checked.
RUN python -m compileall -q -j 0 --invalidation-mode unchecked-hash \
    domain ports adapters config entrypoints


FROM python:3.13.16-slim-trixie AS runtime

RUN groupadd --system --gid 10001 flowhub \
 && useradd --system --uid 10001 --gid flowhub --no-create-home --shell /usr/sbin/nologin flowhub

# APP_ENV=production: without its variables the process refuses to start (exit 78), rather
# than serving on in-memory adapters by mistake. Fly's [env] and secrets provide them.
# HOST=0.0.0.0: a container is reached from outside it, whatever APP_ENV it is run with.
ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    APP_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000

WORKDIR /app
# Owned by root, read-only to the user that runs it.
COPY --from=build /app /app

USER 10001:10001
EXPOSE 4000

# Validates the environment (exit 78 on bad settings), then one uvicorn process: uvloop,
# httptools, websockets without per-message deflate, graceful stop of SHUTDOWN_TIMEOUT_S.
CMD ["python", "-m", "entrypoints"]
