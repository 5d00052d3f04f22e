"""Routes that exist only in tests, to drive the HTTP machinery (validation, errors, slowness).

They are mounted through `create_http_app(..., extra_blueprints=[...])`, never in the real app.
"""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, Field
from quart import Blueprint, current_app
from quart_schema import validate_request

from domain.errors import NotFound, TooManyRequests

blueprint = Blueprint("testing", __name__, url_prefix="/_test")


class Signup(BaseModel):
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    password: str = Field(min_length=10)
    name: str = Field(min_length=1, max_length=100)


@blueprint.post("/echo")
@validate_request(Signup)
async def echo(data: Signup) -> dict[str, str]:
    return {"email": data.email, "name": data.name}


@blueprint.get("/boom")
async def boom() -> dict[str, str]:
    raise RuntimeError("pymongo.errors.ServerSelectionTimeoutError at /srv/app/adapters/mongo.py")


@blueprint.get("/limited")
async def limited() -> dict[str, str]:
    raise TooManyRequests(retry_after_s=17)


@blueprint.get("/missing")
async def missing() -> dict[str, str]:
    raise NotFound("No such widget.")


@blueprint.get("/slow")
async def slow() -> dict[str, str]:
    await asyncio.sleep(1.0)
    return {"status": "finished"}


@blueprint.get("/lifecycle")
async def lifecycle() -> dict[str, bool]:
    """Whether Quart's before_serving hook ran, i.e. the ASGI lifespan reached Quart."""
    return {"started": current_app.extensions["container"].lifecycle().started}
