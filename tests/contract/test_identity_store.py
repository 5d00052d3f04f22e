"""The IdentityStore contract, held by the memory adapter and by MongoDB alike."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from adapters.memory.clock import MemoryClock
from adapters.memory.identities import MemoryIdentityStore
from adapters.mongo.identities import MongoIdentityStore
from domain.auth.identities import ProviderIdentity
from ports.federation import IdentityStore
from tests.contract.conftest import Backend, make_backend

pytestmark = pytest.mark.contract

AT = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
ISSUER = "https://accounts.google.com"


def identity(
    id_: str, user: str, subject: str = "sub-1", email: str | None = "a@x.io"
) -> ProviderIdentity:
    return ProviderIdentity(id_, user, "google", ISSUER, subject, email, AT)


@pytest.fixture(params=["memory", "mongo"])
def backend(request: pytest.FixtureRequest, clock: MemoryClock) -> Backend:
    return make_backend(request, clock)


@pytest.fixture
def store(backend: Backend) -> IdentityStore:
    if backend.mongo is not None:
        return MongoIdentityStore(backend.mongo.managed, backend.mongo.database)
    return MemoryIdentityStore()


async def test_an_identity_is_found_by_issuer_and_subject(store: IdentityStore) -> None:
    assert await store.by_subject(ISSUER, "sub-1") is None
    assert await store.add(identity("i1", "u1"))
    assert await store.by_subject(ISSUER, "sub-1") == identity("i1", "u1")
    assert await store.by_subject("https://other.example", "sub-1") is None
    assert await store.add(identity("i2", "u1", "sub-2", None))
    found = sorted(await store.for_user("u1"), key=lambda i: i.id)
    assert found == [identity("i1", "u1"), identity("i2", "u1", "sub-2", None)]
    assert await store.for_user("u2") == []


async def test_one_provider_account_links_once(store: IdentityStore) -> None:
    assert await store.add(identity("i1", "u1"))
    assert not await store.add(identity("i2", "u2"))  # the same (issuer, subject)
    found = await store.by_subject(ISSUER, "sub-1")
    assert found is not None and found.user_id == "u1"


async def test_concurrent_links_store_exactly_one(store: IdentityStore) -> None:
    results = await asyncio.gather(*(store.add(identity(f"i{n}", f"u{n}")) for n in range(8)))
    assert results.count(True) == 1


async def test_only_its_user_removes_an_identity(store: IdentityStore) -> None:
    assert await store.add(identity("i1", "u1"))
    assert not await store.remove("u2", "i1")
    assert await store.by_subject(ISSUER, "sub-1") is not None
    assert await store.remove("u1", "i1")
    assert not await store.remove("u1", "i1")
    assert await store.by_subject(ISSUER, "sub-1") is None
    assert await store.add(identity("i3", "u2"))  # free to link again
