"""`python -m entrypoints`: validate the environment, then serve the ASGI app on $HOST:$PORT
(HOST: 0.0.0.0 in production, 127.0.0.1 otherwise)."""

from __future__ import annotations

import logging
import os
import sys

from config.settings import SettingsError, load_settings


def main() -> int:
    try:
        settings = load_settings(os.environ)
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 78  # EX_CONFIG: the process refuses to start

    from entrypoints.server import CannotListen, configure_logging, listen, serve

    configure_logging(settings)
    log = logging.getLogger("flowhub")
    if settings.generated_secrets:
        log.warning(
            "JWT_SECRET/JWT_REFRESH_SECRET not set: using generated secrets; "
            "tokens will not survive a restart"
        )
    log.info(
        "starting FlowHub %s (%s) on http://%s:%d; adapters: mongo=%s redis=%s storage=%s mail=%s",
        settings.version,
        settings.app_env,
        settings.host,
        settings.port,
        "mongodb" if settings.uses_mongo else "memory",
        "redis" if settings.uses_redis else "memory",
        "s3" if settings.uses_s3 else "disk" if settings.uses_disk_files else "memory",
        "ses" if settings.uses_ses else "memory",
    )

    if settings.relaxed_limits:
        log.warning("RELAXED_LIMITS: the per-address signup and login limits are lifted")

    try:  # before the app is built: a port in use is said at once, not after the imports
        sock = listen(settings.host, settings.port)
    except CannotListen as error:
        print(error, file=sys.stderr)
        return 78

    from entrypoints.asgi import create_app

    serve(create_app(settings), settings, sock=sock)
    return 0


if __name__ == "__main__":
    sys.exit(main())
