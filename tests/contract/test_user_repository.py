"""The UserRepository contract, held by the memory adapter, by MongoDB and by the caching
decorator (over the memory adapter, its copies in the real Redis) alike."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from adapters.caching.users import CachedUserRepository, cache_key
from adapters.lifecycle import ManagedClient
from adapters.memory.clock import MemoryClock
from adapters.memory.users import MemoryUserRepository
from adapters.mongo.client import MongoClient
from adapters.mongo.users import MongoUserRepository
from adapters.redis.cache import RedisCache
from adapters.redis.client import redis_client
from domain.auth.errors import EmailTaken
from domain.auth.model import User
from domain.errors import ServiceUnavailable
from ports.users import UserRepository
from tests.contract.conftest import (
    Backend,
    MongoService,
    RedisService,
    make_backend,
    now_ms,
    pass_real_time,
)
from tests.support.processes import free_port

pytestmark = pytest.mark.contract


@pytest.fixture(params=["memory", "mongo", "cached"])
def backend(request: pytest.FixtureRequest, clock: MemoryClock) -> Backend:
    if request.param == "cached":
        service: RedisService = request.getfixturevalue("redis_service")
        return Backend("cached", clock, pass_real_time, redis=service)
    return make_backend(request, clock)


@pytest.fixture
def users(backend: Backend) -> UserRepository:
    if backend.mongo is not None:
        return MongoUserRepository(backend.mongo.managed, backend.mongo.database)
    if backend.redis is not None:
        return CachedUserRepository(MemoryUserRepository(), RedisCache(backend.redis.managed))
    return MemoryUserRepository()


def to_ms(value: datetime) -> datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def a_user(
    user_id: str = "u1",
    email: str = "ada@example.com",
    name: str = "Ada",
    created_at: datetime | None = None,
    updated_at: datetime | None = None,
) -> User:
    created = created_at or now_ms()
    password_hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"
    return User(user_id, email, name, password_hash, False, created, updated_at or created)


async def test_an_added_user_is_found_by_id_and_by_email(users: UserRepository) -> None:
    user = a_user()

    await users.add(user)

    assert await users.get("u1") == user
    assert await users.by_email("ada@example.com") == user


async def test_unknown_ids_and_emails_find_nothing(users: UserRepository) -> None:
    await users.add(a_user())

    assert await users.get("u2") is None
    assert await users.by_email("bob@example.com") is None


async def test_get_many_finds_the_existing_users_each_once(users: UserRepository) -> None:
    ada = a_user("u1", "ada@example.com", "Ada")
    bob = a_user("u2", "bob@example.com", "Bob")
    await users.add(ada)
    await users.add(bob)
    await users.add(a_user("u3", "cy@example.com", "Cy"))

    found = await users.get_many(["u2", "ghost", "u1", "u2"])

    assert sorted(found, key=lambda u: u.id) == [ada, bob]
    assert await users.get_many([]) == []
    assert await users.get_many(["ghost", "nobody"]) == []


async def test_get_many_reads_a_hundred_ids_at_once(users: UserRepository) -> None:
    stored = [a_user(f"u{i}", f"u{i}@example.com", f"User {i}") for i in range(0, 100, 2)]
    for user in stored:
        await users.add(user)

    found = await users.get_many([f"u{i}" for i in range(100)])

    assert sorted(found, key=lambda u: u.id) == sorted(stored, key=lambda u: u.id)


async def test_get_many_reads_back_a_saved_user(users: UserRepository) -> None:
    user = a_user()
    await users.add(user)
    assert await users.get("u1") == user  # the caching decorator holds a copy now
    renamed = replace(user, name="Ada Lovelace")

    await users.save(renamed)

    assert await users.get_many(["u1"]) == [renamed]


async def test_an_email_belongs_to_one_user(users: UserRepository) -> None:
    first = a_user("u1")
    await users.add(first)

    with pytest.raises(EmailTaken):
        await users.add(a_user("u2", name="Impostor"))

    assert await users.by_email("ada@example.com") == first
    assert await users.get("u2") is None


async def test_of_ten_concurrent_signups_with_one_email_one_wins(users: UserRepository) -> None:
    candidates = [a_user(f"u{i}") for i in range(10)]

    results = await asyncio.gather(*(users.add(u) for u in candidates), return_exceptions=True)

    assert results.count(None) == 1
    assert all(isinstance(r, EmailTaken) for r in results if r is not None), results
    winner = candidates[results.index(None)]
    assert await users.by_email("ada@example.com") == winner


async def test_save_replaces_the_stored_user(users: UserRepository) -> None:
    user = a_user()
    await users.add(user)
    later = user.created_at + timedelta(minutes=5)

    changed = user.renamed("Ada L.", later).verified(later).with_password("new-hash", later)
    await users.save(changed)

    assert await users.get("u1") == changed
    assert await users.by_email("ada@example.com") == changed


async def test_save_moves_the_user_to_a_new_email(users: UserRepository) -> None:
    await users.add(a_user())

    moved = replace(a_user(), email="ada@new.example")
    await users.save(moved)

    assert await users.by_email("ada@new.example") == moved
    assert await users.by_email("ada@example.com") is None
    await users.add(a_user("u2"))  # the old address is free again


async def test_save_refuses_an_email_of_another_user(users: UserRepository) -> None:
    await users.add(a_user("u1", "ada@example.com"))
    bob = a_user("u2", "bob@example.com")
    await users.add(bob)

    with pytest.raises(EmailTaken):
        await users.save(replace(bob, email="ada@example.com"))

    assert await users.get("u2") == bob


async def test_save_does_not_create_a_user(users: UserRepository) -> None:
    await users.save(a_user("ghost"))

    assert await users.get("ghost") is None
    assert await users.by_email("ada@example.com") is None


async def test_datetimes_read_back_utc_aware_equal_to_the_millisecond(
    users: UserRepository,
) -> None:
    created = datetime(2026, 3, 1, 12, 30, 45, 123456, tzinfo=UTC)
    updated = datetime(2026, 3, 1, 12, 31, 0, 999999, tzinfo=UTC)
    await users.add(a_user(created_at=created, updated_at=updated))

    found = await users.get("u1")

    assert found is not None
    assert found.created_at.tzinfo is UTC
    assert found.updated_at.tzinfo is UTC
    assert to_ms(found.created_at) == datetime(2026, 3, 1, 12, 30, 45, 123000, tzinfo=UTC)
    assert to_ms(found.updated_at) == datetime(2026, 3, 1, 12, 31, 0, 999000, tzinfo=UTC)


async def test_text_fields_read_back_unchanged(users: UserRepository) -> None:
    user = a_user(email="zoë.ñandú@exämple.com", name="Zoë 🦜 O'Brien")

    await users.add(user)

    assert await users.by_email("zoë.ñandú@exämple.com") == user


async def test_an_unverified_user_is_replaced_by_a_newer_registration(
    users: UserRepository,
) -> None:
    await users.add(a_user())
    newer = replace(a_user(), name="Ada", password_hash="newer hash")

    assert await users.replace_unverified(newer)

    assert await users.get("u1") == newer
    assert await users.by_email("ada@example.com") == newer


async def test_a_verified_or_missing_user_is_not_replaced_as_a_registration(
    users: UserRepository,
) -> None:
    verified = replace(a_user(), email_verified=True)
    await users.add(verified)

    assert not await users.replace_unverified(replace(verified, password_hash="stranger"))
    assert not await users.replace_unverified(replace(a_user("ghost", "g@example.com")))

    assert await users.get("u1") == verified
    assert await users.get("ghost") is None


async def test_a_registration_racing_a_verification_never_unverifies(
    users: UserRepository,
) -> None:
    user = a_user()
    await users.add(user)
    verified = replace(user, email_verified=True)

    await users.save(verified)
    replaced = await users.replace_unverified(replace(user, password_hash="stranger"))

    assert not replaced
    assert await users.get("u1") == verified


# the caching decorator ----------------------------------------------------------------------


async def test_a_cached_copy_reads_back_equal_and_a_save_drops_it(
    redis_service: RedisService,
) -> None:
    users = CachedUserRepository(MemoryUserRepository(), RedisCache(redis_service.managed))
    user = a_user()
    await users.add(user)

    assert await users.get("u1") == user  # a miss: read through, copied
    assert await redis_service.raw.exists(cache_key("u1")) == 1
    assert await users.get("u1") == user  # the copy
    renamed = replace(user, name="Ada Lovelace")
    await users.save(renamed)

    assert await redis_service.raw.exists(cache_key("u1")) == 0
    assert await users.get("u1") == renamed


async def test_an_avatar_reads_back_and_clears(users: UserRepository) -> None:
    user = a_user()
    await users.add(user)
    await users.get("u1")  # a cached copy, where there is a cache
    chosen = user.with_avatar("f" * 32, "Yp-3E8vYvrJ4vekt6SZD4w", user.updated_at)

    await users.save(chosen)

    assert await users.get("u1") == chosen
    assert await users.get("u1") == chosen  # the copy, where there is one, holds it too
    assert await users.get_many(["u1"]) == [chosen]
    cleared = chosen.with_avatar(None, None, user.updated_at)
    await users.save(cleared)
    assert await users.get("u1") == cleared == user


async def test_a_cached_copy_from_before_avatars_reads_back_without_one(
    redis_service: RedisService,
) -> None:
    users = CachedUserRepository(MemoryUserRepository(), RedisCache(redis_service.managed))
    user = a_user()
    await users.add(user)
    await users.get("u1")
    copy = await redis_service.raw.get(cache_key("u1"))
    assert copy is not None
    raw = json.loads(copy)
    for field in ("avatar_file_id", "avatar_token"):
        raw.pop(field)
    await redis_service.raw.set(cache_key("u1"), json.dumps(raw))

    assert await users.get("u1") == user


async def test_a_cache_that_is_down_reads_through() -> None:
    dead = RedisCache(redis_client(f"redis://127.0.0.1:{free_port()}/0", 0.2))
    users = CachedUserRepository(MemoryUserRepository(), dead)
    user = a_user()
    await users.add(user)

    assert await users.get("u1") == user
    await users.save(replace(user, name="Ada L."))
    assert await users.get("u1") == replace(user, name="Ada L.")


# MongoDB: indexes, failures -----------------------------------------------------------------


async def test_mongo_makes_its_indexes_idempotently(mongo_service: MongoService) -> None:
    repository = MongoUserRepository(mongo_service.managed, mongo_service.database)

    await repository.ensure_indexes()
    await repository.ensure_indexes()

    indexes = await mongo_service.index_keys("users")
    email = [spec for spec in indexes.values() if spec["key"] == [("email", 1)]]
    assert len(email) == 1
    assert email[0].get("unique") is True


async def test_mongo_makes_its_indexes_before_first_use(mongo_service: MongoService) -> None:
    repository = MongoUserRepository(mongo_service.managed, mongo_service.database)

    await repository.get("u1")

    indexes = await mongo_service.index_keys("users")
    assert any(spec["key"] == [("email", 1)] and spec.get("unique") for spec in indexes.values())


async def test_mongo_stores_one_document_per_user_in_users(mongo_service: MongoService) -> None:
    repository = MongoUserRepository(mongo_service.managed, mongo_service.database)
    user = a_user()
    await repository.add(user)

    client = await mongo_service.managed.get()
    stored = await client[mongo_service.database]["users"].find_one({"_id": "u1"})

    assert stored is not None
    assert stored["email"] == "ada@example.com"
    assert stored["email_verified"] is False
    assert stored["created_at"] == user.created_at


async def test_mongo_reads_a_user_stored_before_avatars_without_one(
    mongo_service: MongoService,
) -> None:
    repository = MongoUserRepository(mongo_service.managed, mongo_service.database)
    user = a_user()
    await repository.add(user)
    client = await mongo_service.managed.get()
    collection = client[mongo_service.database]["users"]
    await collection.update_one(
        {"_id": "u1"}, {"$unset": {"avatar_file_id": "", "avatar_token": ""}}
    )
    stored = await collection.find_one({"_id": "u1"})
    assert stored is not None and "avatar_file_id" not in stored

    assert await repository.get("u1") == user
    assert await repository.get_many(["u1"]) == [user]


async def test_mongo_down_is_service_unavailable(dead_mongo: ManagedClient[MongoClient]) -> None:
    repository = MongoUserRepository(dead_mongo, "unreachable")
    calls = [
        repository.ensure_indexes(),
        repository.add(a_user()),
        repository.get("u1"),
        repository.get_many(["u1", "u2"]),
        repository.by_email("ada@example.com"),
        repository.save(a_user()),
    ]

    results = await asyncio.gather(*calls, return_exceptions=True)

    assert all(isinstance(result, ServiceUnavailable) for result in results), results


async def test_a_deleted_user_is_gone_by_id_and_email_and_its_email_free(
    users: UserRepository,
) -> None:
    ada, bob = a_user(), a_user("u2", "bob@example.com")
    await users.add(ada)
    await users.add(bob)
    assert await users.get(ada.id) == ada  # a cached copy, where there is a cache

    await users.delete(ada.id)
    await users.delete(ada.id)  # idempotent
    await users.delete("nobody")

    assert await users.get(ada.id) is None
    assert await users.by_email(ada.email) is None
    assert await users.get_many([ada.id, bob.id]) == [bob]
    await users.add(replace(ada, id="u3"))  # the address is free again
    assert (await users.by_email(ada.email)) == replace(ada, id="u3")


# the admin API's reads and the disabled flag ------------------------------------------------


async def test_the_disabled_flag_reads_back_and_defaults_to_false(users: UserRepository) -> None:
    user = a_user()
    await users.add(user)
    assert (await users.get("u1")) == user and not user.disabled
    disabled = user.with_disabled(True, now_ms())
    await users.save(disabled)
    assert (await users.get("u1")) == disabled
    assert (await users.get("u1")) == disabled  # again: from a cache, if any
    assert (await users.by_email(user.email)) == disabled
    assert [u.disabled for u in await users.get_many(["u1"])] == [True]


async def test_search_matches_an_email_prefix_or_a_part_of_the_name_newest_first(
    users: UserRepository,
) -> None:
    base = now_ms()
    people = [
        a_user("u1", "ada@example.com", "Ada Lovelace", base),
        a_user("u2", "adam@example.com", "Adam", base + timedelta(seconds=1)),
        a_user("u3", "grace@example.com", "Grace (ada fan)", base + timedelta(seconds=2)),
        a_user("u4", "bob@example.com", "Bob", base + timedelta(seconds=3)),
    ]
    for person in people:
        await users.add(person)

    async def ids(text: str, offset: int = 0, limit: int = 10) -> list[str]:
        return [u.id for u in await users.search(text, offset, limit)]

    assert await ids("ada") == ["u3", "u2", "u1"]  # name part, any case, or email prefix
    assert await ids("ADA@") == ["u1"]
    assert await ids("example") == []  # the email's middle is no prefix
    assert await ids("LOVELACE") == ["u1"]
    assert await ids("(ada") == ["u3"]  # literally, not a pattern
    assert await ids(".*") == []
    assert await ids("") == ["u4", "u3", "u2", "u1"]
    assert await ids("", 1, 2) == ["u3", "u2"]
    assert await users.count() == 4
    await users.delete("u4")
    assert await users.count() == 3
