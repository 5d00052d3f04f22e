"""The signed-in user (API.md: GET/PATCH /users/me) and the users they share a room with
(GET /users?ids=...)."""

from __future__ import annotations

from quart import Blueprint, Response
from quart_schema import (
    document_response,
    validate_querystring,
    validate_request,
    validate_response,
)

from domain.auth.principal import Principal
from entrypoints.http.deps import container
from entrypoints.http.guard import authenticated
from entrypoints.http.openapi import no_content
from schemas.auth import (
    DeleteAccountIn,
    PublicUserOut,
    PublicUsersOut,
    RenameIn,
    UserOut,
    UsersQuery,
)
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


@blueprint.delete("/me")
@authenticated
@validate_request(DeleteAccountIn)
@no_content
@document_response(ErrorResponse, 401)
@document_response(ErrorResponse, 409)
@document_response(ErrorResponse, 429)
async def delete_me(principal: Principal, data: DeleteAccountIn) -> Response:
    """Delete the caller's account and everything of it (204).

    The current password is checked again (401 `invalid_credentials`, counted with failed
    logins: 429 past 5 a minute); an account without a password is 409 `password_not_set`
    (set one with a password reset first). Sessions, sockets, rooms, invitations, files and
    read marks go, messages become tombstones."""
    await container().services.account_deletion().delete(principal.user_id, data.password)
    return Response(status=204)


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
