"""Routes that exist only in tests, to drive the HTTP machinery (validation, errors, slowness).

They are mounted through `create_http_app(..., extra_blueprints=[...])`, never in the real app.
"""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, Field
from quart import Blueprint, current_app, request
from quart_schema import validate_request

from domain.auth.principal import Principal
from domain.errors import NotFound, TooManyRequests
from entrypoints.http.guard import authenticated

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


# --- observability: errors that carry secrets, and errors from distinct places ---------------

LEAKY_SECRETS = {
    "email": "ada.lovelace@example.com",
    "code": "482913",
    "aws_key_id": "AKIAIOSFODNN7EXAMPLE",
    "aws_secret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "db_password": "s3cr3t-db-pw",
}


@blueprint.post("/leak")
@authenticated
async def leak(principal: Principal) -> dict[str, str]:
    """Fails with a message full of what must never reach Rollbar: the password and token of
    the request, an email address, a code, AWS keys and a database password."""
    body = await request.get_json()
    token = request.headers.get("Authorization", "")
    s = LEAKY_SECRETS
    raise RuntimeError(
        f"login for {s['email']} failed: password={body['password']} {token} "
        f"code {s['code']} aws {s['aws_key_id']} {s['aws_secret']} "
        f"mongodb://flowhub:{s['db_password']}@db.example.net/flowhub"
    )


@blueprint.get("/fail/<int:n>")
async def fail(n: int) -> dict[str, str]:
    """Five different failures (five fingerprints), by `n`."""
    if n == 0:
        raise RuntimeError("first")
    if n == 1:
        raise KeyError("second")
    if n == 2:
        raise ValueError("third")
    if n == 3:
        raise LookupError("fourth")
    raise ArithmeticError("fifth")
