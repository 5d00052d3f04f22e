"""`python -m entrypoints`: validate the environment, then serve the ASGI app on 0.0.0.0:$PORT."""

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

    from entrypoints.server import configure_logging, serve

    configure_logging(settings)
    log = logging.getLogger("flowhub")
    if settings.generated_secrets:
        log.warning(
            "JWT_SECRET/JWT_REFRESH_SECRET not set: using generated secrets; "
            "tokens will not survive a restart"
        )
    log.info(
        "starting FlowHub %s (%s) on 0.0.0.0:%d; adapters: mongo=%s redis=%s storage=%s mail=%s",
        settings.version,
        settings.app_env,
        settings.port,
        "mongodb" if settings.uses_mongo else "memory",
        "redis" if settings.uses_redis else "memory",
        "s3" if settings.uses_s3 else "memory",
        "ses" if settings.uses_ses else "memory",
    )

    from entrypoints.asgi import create_app

    serve(create_app(settings), settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
