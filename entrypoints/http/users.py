"""The signed-in user (API.md: GET/PATCH /users/me) and the users they share a room with
(GET /users?ids=...)."""

from __future__ import annotations

from dataclasses import replace

from quart import Blueprint, Response
from quart_schema import (
    document_response,
    validate_querystring,
    validate_request,
    validate_response,
)

from domain.auth.model import PublicProfile, TokenPair, UserProfile
from domain.auth.principal import Principal
from domain.auth.profile import KEEP
from entrypoints.http.deps import container
from entrypoints.http.files import absolute
from entrypoints.http.guard import authenticated, client_ip
from entrypoints.http.openapi import no_content
from schemas.auth import (
    CodeConfirmation,
    DeleteAccountIn,
    DeletionCodeSentOut,
    PasswordConfirmation,
    ProfileUpdateIn,
    PublicUserOut,
    PublicUsersOut,
    UserOut,
    UsersQuery,
)
from schemas.common import ErrorResponse
from schemas.passkeys import AuthenticationOptionsOut

blueprint = Blueprint("users", __name__, url_prefix="/users")


@blueprint.get("/me")
@authenticated
@validate_response(UserOut, 200)
@document_response(ErrorResponse, 401)
async def get_me(principal: Principal) -> UserOut:
    """The caller's profile."""
    return _out(await container().services.profiles().me(principal.user_id))


@blueprint.patch("/me")
@authenticated
@validate_request(ProfileUpdateIn)
@validate_response(UserOut, 200)
@document_response(ErrorResponse, 401)
@document_response(ErrorResponse, 404)
@document_response(ErrorResponse, 409)
@document_response(ErrorResponse, 413)
async def update_me(principal: Principal, data: ProfileUpdateIn) -> UserOut:
    """Change the caller's display name and/or avatar (only the fields sent).

    `avatar_file_id`: one of the caller's ready images, made public if it is not, shown as
    `avatar_url` wherever the caller's profile is (404 for a file that is not the caller's,
    409 `not_an_image`, 409 `upload_incomplete` for a pending file, 413 `quota_exceeded` when
    its public copies do not fit); null clears it. The avatar goes when its file is deleted
    or made private."""
    profile = (
        await container()
        .services.profiles()
        .update(
            principal.user_id,
            name=data.new_name(),
            avatar_file_id=data.avatar_file_id if data.avatar_sent() else KEEP,
        )
    )
    return _out(profile)


@blueprint.delete("/me")
@authenticated
@validate_request(DeleteAccountIn)
@no_content
@document_response(ErrorResponse, 401)
@document_response(ErrorResponse, 400)
@document_response(ErrorResponse, 409)
@document_response(ErrorResponse, 429)
async def delete_me(principal: Principal, data: DeleteAccountIn) -> Response:
    """Delete the caller's account and everything of it (204).

    Confirmed by `{password}`, the current password checked again (401 `invalid_credentials`,
    counted with failed logins: 429 past 5 a minute; an account without a password is 409
    `password_not_set`), or by `{code}`, the code `POST /users/me/deletion-code` mailed (400
    `invalid_otp`, counted and locked like sign-in codes), or by `{credential}`, one of the
    caller's passkeys answering `POST /users/me/deletion-options` with user verification (400
    `invalid_passkey`: another user's passkey, a sign-in's challenge, a replay, no user
    verification). Sessions, sockets, rooms, invitations, files and read marks go, messages
    become tombstones."""
    deletion = container().services.account_deletion()
    confirmation = data.root
    if isinstance(confirmation, PasswordConfirmation):
        await deletion.delete(principal.user_id, confirmation.password)
    elif isinstance(confirmation, CodeConfirmation):
        await deletion.delete_with_code(principal.user_id, confirmation.code, client_ip())
    else:
        await deletion.delete_with_passkey(principal.user_id, confirmation.credential.wire())
    return Response(status=204)


@blueprint.post("/me/deletion-options")
@authenticated
@validate_response(AuthenticationOptionsOut, 200)
@document_response(ErrorResponse, 400)
async def deletion_passkey_options(principal: Principal) -> AuthenticationOptionsOut:
    """Options for `navigator.credentials.get()` that confirm `DELETE /users/me
    {credential}`: the caller's passkeys, user verification required, a challenge valid 5
    minutes that only a deletion takes (400 `invalid_passkey` for an account without one)."""
    options = await container().services.account_deletion().passkey_options(principal.user_id)
    return AuthenticationOptionsOut.from_domain(options)


@blueprint.post("/me/deletion-code")
@authenticated
@validate_response(DeletionCodeSentOut, 202)
@document_response(ErrorResponse, 429)
async def request_deletion_code(principal: Principal) -> tuple[DeletionCodeSentOut, int]:
    """Mail the caller a code that confirms deleting the account (`DELETE /users/me
    {code}`), valid like a sign-in code; 429 within the cooldown of the last one."""
    await container().services.account_deletion().request_code(principal.user_id, client_ip())
    return DeletionCodeSentOut(status="sent"), 202


@blueprint.get("")
@authenticated
@validate_querystring(UsersQuery)
@validate_response(PublicUsersOut, 200)
@document_response(ErrorResponse, 401)
async def get_users(principal: Principal, query_args: UsersQuery) -> PublicUsersOut:
    """Names and avatars of the users who share a room with the caller.

    The `id`, `name` and `avatar_url` (when they have one) of those of `ids` who share a room
    with the caller (the caller included), each once; unknown and unrelated ids are left out
    alike, never 404."""
    found = (
        await container().services.peer_profiles().related(principal.user_id, query_args.wanted())
    )
    return PublicUsersOut(items=[PublicUserOut.from_domain(_absolute_avatar(p)) for p in found])


def _out(profile: UserProfile) -> UserOut:
    return UserOut.from_domain(_absolute_avatar(profile))


def absolute_pair(pair: TokenPair) -> TokenPair:
    """A token pair whose user's avatar URL is absolute (the auth routes answer pairs)."""
    return replace(pair, user=_absolute_avatar(pair.user))


def _absolute_avatar[P: (UserProfile, PublicProfile)](profile: P) -> P:
    """An avatar URL of the development storage (a path on this server) made absolute."""
    if profile.avatar_url is None:
        return profile
    return replace(profile, avatar_url=absolute(profile.avatar_url))
