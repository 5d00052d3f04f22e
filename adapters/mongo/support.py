"""What the MongoDB repositories share: failures in the domain's words, datetimes at
MongoDB's precision, and the mapping between domain entities and their odmantic models.

Nothing here imports motor, pymongo or odmantic at import time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, fields, is_dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from domain.errors import ServiceUnavailable

if TYPE_CHECKING:
    from _typeshed import DataclassInstance
    from odmantic import Model


# The most a `reachable()` block may take (it may hold a few operations, each bounded by the
# client's `timeoutMS`). motor runs pymongo on a pool of threads (5 per core): with MongoDB
# hanging, requests beyond the pool's size queue for a thread, then spend their own timeout;
# this deadline gives up on them (a queued operation is cancelled before it starts), so no
# request waits longer than this whatever the queue.
OPERATION_DEADLINE_S = 3.0


@asynccontextmanager
async def reachable(deadline_s: float = OPERATION_DEADLINE_S) -> AsyncIterator[None]:
    """Turn a MongoDB that cannot be reached (no server selected, network error or timeout)
    or that does not answer within `deadline_s` into `ServiceUnavailable`.

    A write given up on by the deadline may still complete: chat messages carry `client_id`
    for a safe retry."""
    from pymongo.errors import ConnectionFailure, PyMongoError

    try:
        async with asyncio.timeout(deadline_s):
            yield
    except TimeoutError as error:
        raise ServiceUnavailable() from error
    except PyMongoError as error:
        # ConnectionFailure: AutoReconnect, NetworkTimeout, ServerSelectionTimeoutError, ...
        # `timeout`: also ExecutionTimeout, WTimeoutError and CSOT timeouts.
        if isinstance(error, ConnectionFailure) or error.timeout:
            raise ServiceUnavailable() from error
        raise


def stored_datetime(value: datetime) -> datetime:
    """`value` as MongoDB keeps it: UTC, truncated to the millisecond (a naive value is
    taken to be UTC already)."""
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return aware.replace(microsecond=aware.microsecond // 1000 * 1000)


def loaded_datetime(value: datetime) -> datetime:
    """A datetime read back, as the domain expects it: timezone-aware, in `datetime.UTC`."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def document(model: type[Model], entity: DataclassInstance) -> dict[str, Any]:
    """The BSON document of a domain entity through its model, whose fields are named as
    the entity's (`id` is stored as `_id`)."""
    values = {f.name: _stored(getattr(entity, f.name)) for f in fields(entity)}
    return model.model_validate(values).model_dump_doc()


def entity[E: DataclassInstance](kind: type[E], found: Model) -> E:
    """The domain entity `kind` of a model read back (fields matched by name)."""
    return kind(**{f.name: _loaded(getattr(found, f.name)) for f in fields(kind)})


def _stored(value: object) -> object:
    if isinstance(value, tuple):  # a tuple of entities (a file's thumbnails): embedded
        return [asdict(v) if is_dataclass(v) and not isinstance(v, type) else v for v in value]
    return stored_datetime(value) if isinstance(value, datetime) else value


def _loaded(value: object) -> object:
    return loaded_datetime(value) if isinstance(value, datetime) else value
