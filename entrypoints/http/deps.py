"""How a handler reaches the composition root: through the app that serves the request.

Not dependency-injector's `wire()`: wiring patches module globals, so two apps built in one
process (tests do this all the time) would share whichever container was wired last.
"""

from __future__ import annotations

from typing import cast

from quart import current_app

from config.container import Container


def container() -> Container:
    return cast(Container, current_app.extensions["container"])
