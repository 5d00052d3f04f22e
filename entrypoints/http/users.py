"""The signed-in user (API.md: GET/PATCH /users/me)."""

from __future__ import annotations

from quart import Blueprint
from quart_schema import document_response, validate_request, validate_response

from domain.auth.principal import Principal
from entrypoints.http.deps import container
from entrypoints.http.guard import authenticated
from schemas.auth import RenameIn, UserOut
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
