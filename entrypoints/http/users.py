"""The signed-in user (API.md: GET/PATCH /users/me)."""

from __future__ import annotations

from quart import Blueprint, Response, jsonify
from quart_schema import document_response, validate_request

from domain.auth.principal import Principal
from entrypoints.http.deps import container
from entrypoints.http.guard import authenticated
from entrypoints.http.serialize import user_json
from schemas.auth import RenameIn, UserOut
from schemas.common import ErrorResponse

blueprint = Blueprint("users", __name__, url_prefix="/users")


@blueprint.get("/me")
@authenticated
@document_response(UserOut, 200)
@document_response(ErrorResponse, 401)
async def me(principal: Principal) -> Response:
    return jsonify(user_json(await container().services.profiles().me(principal.user_id)))


@blueprint.patch("/me")
@authenticated
@validate_request(RenameIn)
@document_response(UserOut, 200)
@document_response(ErrorResponse, 401)
async def rename(principal: Principal, data: RenameIn) -> Response:
    profile = await container().services.profiles().rename(principal.user_id, data.name)
    return jsonify(user_json(profile))
