"""`python -m entrypoints.documents DIR`: write the contract documents of the development
shape (every route, the dev-only ones marked) to DIR/openapi.json and DIR/asyncapi.json, the
input of the TypeScript client's generated types (`make client-types`)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from config.container import build_container
from config.settings import load_settings
from entrypoints.http.app import create_http_app

# No memory or real service is reached: building the app and asking for its documents
# touches no adapter. APP_VERSION is fixed so the files do not change with the build.
ENV = {"APP_ENV": "development", "APP_VERSION": "1"}


async def documents() -> dict[str, Any]:
    app = create_http_app(build_container(load_settings(ENV)))
    found: dict[str, Any] = {}
    async with app.test_app() as test_app:
        client = test_app.test_client()
        for name in ("openapi.json", "asyncapi.json"):
            response = await client.get(f"/{name}")
            found[name] = await response.get_json()
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m entrypoints.documents DIR", file=sys.stderr)
        return 2
    folder = Path(argv[0])
    folder.mkdir(parents=True, exist_ok=True)
    for name, document in asyncio.run(documents()).items():
        (folder / name).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
