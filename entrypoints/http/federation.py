"""Sign in with a provider (README "Sign in with a provider"): thin handlers over
`FederatedSignIn`."""

from __future__ import annotations

from quart import Blueprint, Response, request, url_for
from quart_schema import (
    document_response,
    validate_querystring,
    validate_request,
    validate_response,
)

from domain.auth.principal import Principal
from entrypoints.http.auth import _absolute, _client
from entrypoints.http.deps import container
from entrypoints.http.guard import authenticated, client_ip
from entrypoints.http.openapi import no_content, redirects
from schemas.auth import LoginOut
from schemas.common import ErrorResponse
from schemas.federation import (
    AuthorizationUrlOut,
    IdentityListOut,
    IdentityOut,
    OAuthCallbackQuery,
    OAuthExchangeIn,
    OAuthLinkIn,
    OAuthStartQuery,
    ProviderListOut,
    ProviderOut,
)

blueprint = Blueprint("federation", __name__, url_prefix="/auth")

_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _callback_url(provider: str) -> str:
    """The URL registered with the provider: OAUTH_CALLBACK_BASE_URL's origin, or this
    request's."""
    path = url_for("api.federation.callback", provider=provider)
    base = container().settings().oauth_callback_base_url
    return (base.rstrip("/") if base else request.host_url.rstrip("/")) + path


@blueprint.get("/providers")
@validate_response(ProviderListOut, 200)
async def list_providers() -> ProviderListOut:
    """The sign-in providers enabled on this server."""
    names = container().services.federation().enabled()
    return ProviderListOut(items=[ProviderOut(name=n) for n in names])


@blueprint.get("/oauth/<provider>/start")
@validate_querystring(OAuthStartQuery)
@redirects("To the provider's sign-in page (authorization code with PKCE).")
@document_response(ErrorResponse, 400)
@document_response(ErrorResponse, 404)
@document_response(ErrorResponse, 429)
async def start(provider: str, query_args: OAuthStartQuery) -> Response:
    """302 to the provider; it returns to the callback, which returns to `redirect_uri`."""
    url = (
        await container()
        .services.federation()
        .start(provider, query_args.redirect_uri, _callback_url(provider), client_ip())
    )
    return Response("", status=302, headers={"Location": url, **_NO_STORE})


@blueprint.get("/oauth/<provider>/callback")
@validate_querystring(OAuthCallbackQuery)
@redirects(
    "To the front end's redirect_uri with `#code=` (for POST /auth/oauth/exchange),"
    " `#linked=<provider>` or `#error=<code>`."
)
@document_response(ErrorResponse, 400)
async def callback(provider: str, query_args: OAuthCallbackQuery) -> Response:
    """Where the provider sends the browser back."""
    url = (
        await container()
        .services.federation()
        .callback(
            provider, query_args.state, query_args.code, query_args.error, _callback_url(provider)
        )
    )
    return Response("", status=302, headers={"Location": url, **_NO_STORE})


@blueprint.post("/oauth/exchange")
@validate_request(OAuthExchangeIn)
@validate_response(LoginOut, 200)
@document_response(ErrorResponse, 400)
@document_response(ErrorResponse, 403)
async def exchange(data: OAuthExchangeIn) -> LoginOut:
    """Trade the one-time code of the redirect for a TokenPair (or a second-factor
    challenge), as a password login answers."""
    result = await container().services.federation().exchange(data.code, _client())
    return LoginOut.from_domain(_absolute(result))


@blueprint.post("/oauth/<provider>/link")
@authenticated
@validate_request(OAuthLinkIn)
@validate_response(AuthorizationUrlOut, 200)
@document_response(ErrorResponse, 400)
@document_response(ErrorResponse, 404)
async def link(principal: Principal, provider: str, data: OAuthLinkIn) -> AuthorizationUrlOut:
    """Start linking a provider to the caller's account: the browser goes to
    `authorization_url`; the callback returns to `redirect_uri` with `#linked=<provider>`."""
    url = (
        await container()
        .services.federation()
        .start(
            provider,
            data.redirect_uri,
            _callback_url(provider),
            client_ip(),
            link_user_id=principal.user_id,
        )
    )
    return AuthorizationUrlOut(authorization_url=url)


@blueprint.get("/identities")
@authenticated
@validate_response(IdentityListOut, 200)
async def list_identities(principal: Principal) -> IdentityListOut:
    """The provider identities linked to the caller's account."""
    found = await container().services.federation().of_user(principal.user_id)
    return IdentityListOut(items=[IdentityOut.from_domain(i) for i in found])


@blueprint.delete("/identities/<identity_id>")
@authenticated
@no_content
@document_response(ErrorResponse, 404)
@document_response(ErrorResponse, 409)
async def unlink(principal: Principal, identity_id: str) -> Response:
    """Unlink a provider (204) while another way to sign in remains; 409 otherwise."""
    await container().services.federation().unlink(principal.user_id, identity_id)
    return Response(status=204)
