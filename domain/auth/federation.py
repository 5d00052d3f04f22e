"""Sign-in through a provider (Google, GitHub, any OpenID provider): start, callback, exchange,
and the identities a user links and unlinks.

Linking follows the pre-hijacking lesson: a provider identity joins an existing account only
when the provider asserts a verified address and the account is verified. An unverified
account with that address belongs to nobody (a squatter's signup, Flow 2): the provider's
verified address claims it as a login code does (`User.claimed`: the stranger's password goes),
and the identity is linked to it. A provider asserting no verified address creates and links
nothing (`ProviderEmailUnverified`); a signed-in user can still link such a provider.

Every sign-in ends at the second-factor gate, as a password login does."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from domain.auth.errors import (
    EmailTaken,
    IdentityTaken,
    InvalidProviderState,
    LastSignInMethod,
    ProviderEmailUnverified,
    ProviderFailed,
    RedirectNotAllowed,
    UnknownProvider,
)
from domain.auth.identities import AuthorizationRequest, ProviderClaims, ProviderIdentity
from domain.auth.limits import enforce
from domain.auth.mfa import SecondFactorGate
from domain.auth.model import NO_PASSWORD, MfaChallenge, TokenPair, User, normalize_email
from domain.errors import NotFound
from ports.clock import Clock
from ports.events import EventLog
from ports.federation import IdentityProvider, IdentityStore, PendingStore, ProviderError
from ports.ids import IdGenerator
from ports.rate_limit import RateLimiter
from ports.users import UserRepository

STATE_TTL_S = 600  # the provider's login and consent pages, at a person's pace
EXCHANGE_TTL_S = 60  # the front end trades the code as soon as it loads
NAME_FALLBACK = "FlowHub user"
# starts per client address and minute, counted in this instance (no Redis command): each
# start writes a pending state, which a script must not turn into Redis spend
STARTS_PER_IP_PER_MINUTE = 20


@dataclass(kw_only=True, slots=True)
class FederatedSignIn:
    providers: Mapping[str, IdentityProvider]
    identities: IdentityStore
    pending: PendingStore
    users: UserRepository
    gate: SecondFactorGate
    clock: Clock
    ids: IdGenerator
    events: EventLog
    redirect_allowed: Callable[[str], bool]
    local_limiter: RateLimiter

    def enabled(self) -> list[str]:
        return sorted(self.providers)

    def _provider(self, name: str) -> IdentityProvider:
        provider = self.providers.get(name)
        if provider is None:
            raise UnknownProvider()
        return provider

    async def start(
        self,
        name: str,
        redirect_uri: str,
        callback_url: str,
        ip: str,
        link_user_id: str | None = None,
    ) -> str:
        """The provider's authorization URL; the request waits under its state (one write)."""
        provider = self._provider(name)
        if not self.redirect_allowed(redirect_uri):
            raise RedirectNotAllowed()
        key = f"rate:ip:{ip}:oauth-start"
        await enforce(self.local_limiter, key, STARTS_PER_IP_PER_MINUTE, 60)
        request = AuthorizationRequest(
            provider=name,
            state=secrets.token_urlsafe(24),
            nonce=secrets.token_urlsafe(24),
            code_verifier=secrets.token_urlsafe(48),
            redirect_uri=redirect_uri,
            link_user_id=link_user_id,
        )
        await self.pending.put("oauth:state:" + request.state, request.dumps(), STATE_TTL_S)
        return await provider.authorize_url(request, callback_url)

    async def callback(
        self, name: str, state: str, code: str | None, error: str | None, callback_url: str
    ) -> str:
        """Where the browser goes next: the front end's redirect_uri with `#code=` (a one-time
        exchange code), `#linked=<provider>`, or `#error=<code>`. `InvalidProviderState` when
        the state is unknown (there is no front end to send the browser to)."""
        raw = await self.pending.take("oauth:state:" + state) if state else None
        request = AuthorizationRequest.loads(raw) if raw else None
        if request is None or request.provider != name:
            raise InvalidProviderState()
        provider = self._provider(name)
        try:
            if error or not code:
                raise ProviderFailed()
            try:
                claims = await provider.claims(code, request, callback_url)
            except ProviderError as failure:
                self.events.warn("provider_failed", provider=name, reason=str(failure)[:200])
                raise ProviderFailed() from None
            if request.link_user_id is not None:
                await self._link(request.link_user_id, name, claims)
                return _fragment(request.redirect_uri, linked=name)
            user = await self._resolve(name, claims)
        except (ProviderFailed, ProviderEmailUnverified, IdentityTaken) as refused:
            return _fragment(request.redirect_uri, error=refused.code)
        exchange = secrets.token_urlsafe(32)
        await self.pending.put("oauth:exchange:" + exchange, f"{user.id} {name}", EXCHANGE_TTL_S)
        return _fragment(request.redirect_uri, code=exchange)

    async def exchange(self, code: str, client: str = "") -> TokenPair | MfaChallenge:
        """The exchange code for what a password login gives."""
        raw = await self.pending.take("oauth:exchange:" + code) if code else None
        if raw is None:
            raise InvalidProviderState()
        user_id, name = raw.split(" ", 1)
        user = await self.users.get(user_id)
        if user is None:
            raise InvalidProviderState()
        return await self.gate.open(user, "oauth:" + name, client)

    async def _resolve(self, name: str, claims: ProviderClaims) -> User:
        known = await self.identities.by_subject(claims.issuer, claims.subject)
        if known is not None:
            user = await self.users.get(known.user_id)
            if user is not None:
                return user
            # its account was deleted (a deletion interrupted before it reached identities)
            await self.identities.remove(known.user_id, known.id)
        if not claims.email or not claims.email_verified:
            self.events.warn("provider_email_unverified", provider=name)
            raise ProviderEmailUnverified()
        email = normalize_email(claims.email)
        now = self.clock.now()
        user = await self.users.by_email(email)
        if user is None:
            user = User(
                self.ids.new_id(), email, claims.name or NAME_FALLBACK, NO_PASSWORD, True, now, now
            )
            try:
                await self.users.add(user)
                self.events.record("signup", user_id=user.id, outcome="provider", provider=name)
            except EmailTaken:  # a concurrent signup of the address
                user = await self.users.by_email(email)
                if user is None:
                    raise ProviderFailed() from None
        if not user.email_verified:
            # a squatter's unverified registration: the provider proved the mailbox, so the
            # account is claimed as a login code claims it (its password goes)
            claimed = user.claimed(now)
            if not await self.users.replace_unverified(claimed):
                raise ProviderFailed()
            self.events.warn("unverified_account_claimed", user_id=user.id, provider=name)
            user = claimed
        await self._add(user.id, name, claims)
        return user

    async def _link(self, user_id: str, name: str, claims: ProviderClaims) -> None:
        known = await self.identities.by_subject(claims.issuer, claims.subject)
        if known is not None:
            if known.user_id != user_id:
                raise IdentityTaken()
            return
        await self._add(user_id, name, claims)

    async def _add(self, user_id: str, name: str, claims: ProviderClaims) -> None:
        identity = ProviderIdentity(
            id=self.ids.new_id(),
            user_id=user_id,
            provider=name,
            issuer=claims.issuer,
            subject=claims.subject,
            email=normalize_email(claims.email) if claims.email else None,
            created_at=self.clock.now(),
        )
        if not await self.identities.add(identity):
            known = await self.identities.by_subject(claims.issuer, claims.subject)
            if known is None or known.user_id != user_id:
                raise IdentityTaken()
            return
        self.events.record("identity_linked", user_id=user_id, provider=name)

    async def of_user(self, user_id: str) -> list[ProviderIdentity]:
        found = await self.identities.for_user(user_id)
        return sorted(found, key=lambda i: (i.created_at, i.id))

    async def unlink(self, user_id: str, identity_id: str) -> None:
        """Unlink while another way to sign in remains (a password, another identity)."""
        linked = await self.identities.for_user(user_id)
        if not any(i.id == identity_id for i in linked):
            raise NotFound("No such identity.")
        user = await self.users.get(user_id)
        has_password = user is not None and user.password_hash != NO_PASSWORD
        if not has_password and len(linked) < 2:
            raise LastSignInMethod()
        if not await self.identities.remove(user_id, identity_id):
            raise NotFound("No such identity.")
        self.events.record("identity_unlinked", user_id=user_id, identity_id=identity_id)


def _fragment(redirect_uri: str, **values: str) -> str:
    """The answer in the URL's fragment: never sent to a server, nor in a Referer."""
    return redirect_uri.split("#", 1)[0] + "#" + urlencode(values)
