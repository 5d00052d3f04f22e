from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from domain.auth.passkey import Passkey


class MemoryPasskeyStore:
    """No await inside a method: each is atomic on the event loop, as MongoDB's conditional
    updates are."""

    def __init__(self) -> None:
        self._passkeys: dict[str, Passkey] = {}

    async def add(self, passkey: Passkey) -> bool:
        if passkey.id in self._passkeys or any(
            p.credential_id == passkey.credential_id for p in self._passkeys.values()
        ):
            return False
        self._passkeys[passkey.id] = passkey
        return True

    async def by_credential(self, credential_id: str) -> Passkey | None:
        return next((p for p in self._passkeys.values() if p.credential_id == credential_id), None)

    async def for_user(self, user_id: str) -> list[Passkey]:
        found = [p for p in self._passkeys.values() if p.user_id == user_id]
        return sorted(found, key=lambda p: (p.created_at, p.id))

    async def rename(self, user_id: str, passkey_id: str, name: str) -> Passkey | None:
        current = self._passkeys.get(passkey_id)
        if current is None or current.user_id != user_id:
            return None
        self._passkeys[passkey_id] = renamed = replace(current, name=name)
        return renamed

    async def delete(self, user_id: str, passkey_id: str) -> bool:
        current = self._passkeys.get(passkey_id)
        if current is None or current.user_id != user_id:
            return False
        del self._passkeys[passkey_id]
        return True

    async def delete_all(self, user_id: str) -> None:
        for passkey_id in [p.id for p in self._passkeys.values() if p.user_id == user_id]:
            del self._passkeys[passkey_id]

    async def use(self, passkey_id: str, sign_count: int, issued_ms: int, at: datetime) -> bool:
        current = self._passkeys.get(passkey_id)
        if current is None or issued_ms <= current.spent_before_ms:
            return False
        counter_moves = current.sign_count < sign_count or current.sign_count == sign_count == 0
        if not counter_moves:
            return False
        self._passkeys[passkey_id] = replace(
            current, sign_count=sign_count, spent_before_ms=issued_ms, last_used_at=at
        )
        return True
