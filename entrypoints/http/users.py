"""The signed-in user (API.md: GET/PATCH /users/me) and the users they share a room with
(GET /users?ids=...)."""

from __future__ import annotations

from quart import Blueprint
from quart_schema import (
    document_response,
    validate_querystring,
    validate_request,
    validate_response,
)

from domain.auth.principal import Principal
from entrypoints.http.deps import container
from entrypoints.http.guard import authenticated
from schemas.auth import PublicUserOut, PublicUsersOut, RenameIn, UserOut, UsersQuery
from schemas.common import ErrorResponse

blueprint = Blueprint("users", __name__, url_prefix="/users")


@blueprint.get("/me")
@authenticated
@validate_response(UserOut, 200)
@document_response(ErrorResponse, 401)
async def get_me(principal: Principal) -> UserOut:
    """The caller's profile."""
    return UserOut.from_domain(await container().services.profiles().me(principal.user_id))


@blueprint.patch("/me")
@authenticated
@validate_request(RenameIn)
@validate_response(UserOut, 200)
@document_response(ErrorResponse, 401)
async def update_me(principal: Principal, data: RenameIn) -> UserOut:
    """Change the caller's display name."""
    profile = await container().services.profiles().rename(principal.user_id, data.name)
    return UserOut.from_domain(profile)


@blueprint.get("")
@authenticated
@validate_querystring(UsersQuery)
@validate_response(PublicUsersOut, 200)
@document_response(ErrorResponse, 401)
async def get_users(principal: Principal, query_args: UsersQuery) -> PublicUsersOut:
    """Names of the users who share a room with the caller.

    The `id` and `name` of those of `ids` who share a room with the caller (the caller
    included), each once; unknown and unrelated ids are left out alike, never 404."""
    found = (
        await container().services.peer_profiles().related(principal.user_id, query_args.wanted())
    )
    return PublicUsersOut(items=[PublicUserOut.from_domain(p) for p in found])
