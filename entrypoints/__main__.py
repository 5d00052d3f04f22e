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

    logging.basicConfig(
        level=settings.log_level,
        stream=sys.stdout,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
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

    import uvicorn  # noqa: PLC0415 (only the launcher needs the server)

    from entrypoints.asgi import create_app  # noqa: PLC0415

    uvicorn.run(
        create_app(settings),
        host="0.0.0.0",  # noqa: S104 (a container's service port)
        port=settings.port,
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        lifespan="on",
        proxy_headers=True,
        forwarded_allow_ips="*",
        server_header=False,
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=settings.shutdown_timeout_s,
        timeout_keep_alive=30,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
