"""Sign in with a provider: the shapes of README "Sign in with a provider"."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BaseModel, Field

from domain.auth.identities import ProviderIdentity
from schemas.common import In, Moment

URL_MAX = 2048
CODE_MAX = 128

FrontEndUrl = Annotated[
    str,
    Field(
        min_length=1,
        max_length=URL_MAX,
        description="the front end's page to return to; its origin must be in CORS_ORIGINS",
    ),
]


class OAuthStartQuery(BaseModel):
    redirect_uri: FrontEndUrl


class OAuthLinkIn(In):
    redirect_uri: FrontEndUrl


class OAuthCallbackQuery(BaseModel):
    state: Annotated[str, Field(max_length=CODE_MAX)] = ""
    code: Annotated[str | None, Field(max_length=URL_MAX)] = None
    error: Annotated[str | None, Field(max_length=URL_MAX)] = None


class OAuthExchangeIn(In):
    code: Annotated[str, Field(min_length=1, max_length=CODE_MAX)]


class AuthorizationUrlOut(BaseModel):
    authorization_url: str = Field(description="where the browser goes to link the provider")


class ProviderOut(BaseModel):
    name: str = Field(description='"google", "github", or the configured OIDC_NAME')


class ProviderListOut(BaseModel):
    items: list[ProviderOut]


class IdentityOut(BaseModel):
    id: str
    provider: str
    email: str | None = Field(description="the address the provider asserted when linked")
    created_at: Moment

    @classmethod
    def from_domain(cls, identity: ProviderIdentity) -> Self:
        return cls(
            id=identity.id,
            provider=identity.provider,
            email=identity.email,
            created_at=identity.created_at,
        )


class IdentityListOut(BaseModel):
    items: list[IdentityOut]
