"""The admin API (README "Administration"): thin handlers over domain/admin.

Every route answers anyone but an administrator exactly as an unknown route does: 404
`not_found`, signed in or not, before its input is read, so the API's existence is not told."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Concatenate

from quart import Blueprint, Response
from quart_schema import document_response, security_scheme, validate_querystring, validate_response
from werkzeug.exceptions import NotFound as UnknownRoute

from domain.auth.principal import Principal
from domain.errors import Unauthorized
from entrypoints.http.deps import container
from entrypoints.http.guard import authenticated
from entrypoints.http.openapi import no_content
from schemas.admin import (
    AdminFilesOut,
    AdminMailOut,
    AdminRoomsOut,
    AdminUserOut,
    AdminUsersOut,
    AdminUsersQuery,
    GaugeOut,
    GaugesOut,
)
from schemas.common import ErrorResponse

blueprint = Blueprint("admin", __name__, url_prefix="/admin")


def admin_only[**P, R](
    handler: Callable[Concatenate[Principal, P], Awaitable[R]],
) -> Callable[P, Awaitable[R]]:
    """`authenticated`, then the caller must be an administrator; every refusal (no token, a
    bad one, a non-admin) is the unknown route's 404. The quota is counted as for any 🔒
    route, after the token is checked."""
    inner = authenticated(_require_admin(handler))

    @security_scheme([{"bearer": []}])
    @wraps(handler)
    async def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await inner(*args, **kwargs)
        except Unauthorized:
            raise UnknownRoute() from None

    return guarded


def _require_admin[**P, R](
    handler: Callable[Concatenate[Principal, P], Awaitable[R]],
) -> Callable[Concatenate[Principal, P], Awaitable[R]]:
    async def checked(principal: Principal, /, *args: P.args, **kwargs: P.kwargs) -> R:
        if not await container().services.admin_access().is_admin(principal.user_id):
            raise UnknownRoute()
        return await handler(principal, *args, **kwargs)

    return checked


@blueprint.get("/users")
@admin_only
@validate_querystring(AdminUsersQuery)
@validate_response(AdminUsersOut, 200)
@document_response(ErrorResponse, 404)
async def list_users(principal: Principal, query_args: AdminUsersQuery) -> AdminUsersOut:
    """Accounts whose email starts with `q` or whose name contains it, newest first."""
    q = query_args
    page = (
        await container().services.admin_users().search(principal.user_id, q.q, q.offset, q.limit)
    )
    return AdminUsersOut.from_domain(page, q.offset)


@blueprint.post("/users/<user_id>/disable")
@admin_only
@validate_response(AdminUserOut, 200)
@document_response(ErrorResponse, 404)
@document_response(ErrorResponse, 409)
async def disable_user(principal: Principal, user_id: str) -> AdminUserOut:
    """Disable an account: its sessions end (tokens refused, sockets closed) and its logins
    answer 403 `account_disabled` after a correct password or code. 409 for oneself."""
    users = container().services.admin_users()
    return AdminUserOut.from_domain(await users.set_disabled(principal.user_id, user_id, True))


@blueprint.post("/users/<user_id>/enable")
@admin_only
@validate_response(AdminUserOut, 200)
@document_response(ErrorResponse, 404)
async def enable_user(principal: Principal, user_id: str) -> AdminUserOut:
    """Let a disabled account sign in again."""
    users = container().services.admin_users()
    return AdminUserOut.from_domain(await users.set_disabled(principal.user_id, user_id, False))


@blueprint.post("/users/<user_id>/sessions/end")
@admin_only
@no_content
@document_response(ErrorResponse, 404)
async def end_sessions(principal: Principal, user_id: str) -> Response:
    """End every session of an account (as its logout-all would), 204."""
    await container().services.admin_users().end_sessions(principal.user_id, user_id)
    return Response(status=204)


@blueprint.delete("/users/<user_id>")
@admin_only
@no_content
@document_response(ErrorResponse, 404)
@document_response(ErrorResponse, 409)
async def delete_user(principal: Principal, user_id: str) -> Response:
    """Delete an account as `DELETE /users/me` does, without its password (204). 409 for
    oneself (use `DELETE /users/me`)."""
    await container().services.admin_users().delete(principal.user_id, user_id)
    return Response(status=204)


@blueprint.get("/rooms")
@admin_only
@validate_response(AdminRoomsOut, 200)
@document_response(ErrorResponse, 404)
async def rooms(principal: Principal) -> AdminRoomsOut:
    """How many rooms, the busiest (most messages) and the newest ten."""
    overview = await container().services.admin_overview().of_rooms(principal.user_id)
    return AdminRoomsOut.from_domain(overview)


@blueprint.get("/files")
@admin_only
@validate_response(AdminFilesOut, 200)
@document_response(ErrorResponse, 404)
async def files(principal: Principal) -> AdminFilesOut:
    """How many ready files and their bytes, the largest and the newest ten."""
    overview = await container().services.admin_overview().of_files(principal.user_id)
    return AdminFilesOut.from_domain(overview)


@blueprint.get("/gauges")
@admin_only
@validate_response(GaugesOut, 200)
@document_response(ErrorResponse, 404)
async def gauges(principal: Principal) -> GaugesOut:
    """The free tiers: Redis commands this month (projected to its end), MongoDB storage,
    S3 storage, this machine's memory; each used, limit and percent."""
    found = await container().services.gauges().read(principal.user_id)
    return GaugesOut(items=[GaugeOut.from_domain(g) for g in found])


@blueprint.get("/mail")
@admin_only
@validate_response(AdminMailOut, 200)
@document_response(ErrorResponse, 404)
async def mail(principal: Principal) -> AdminMailOut:
    """The mail reputation SES judges the sender by: the last 14 UTC days' sends, bounces and
    complaints, the bounce and complaint rates over them, and the suppressed addresses."""
    rates = await container().services.admin_overview().of_mail(principal.user_id)
    return AdminMailOut.from_domain(rates)
