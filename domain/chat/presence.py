"""Who is online, as this instance knows it, in memory: the sockets each user has here, and
the users each live peer instance said it has (kept by the cluster link from its messages).

Nothing here touches a store: presence changes are decided from this view at each
transition, and only the transitions travel (to peers, when there are any).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(slots=True)
class PeerView:
    users: set[str] = field(default_factory=set)
    seen_at: float = 0.0  # monotonic seconds of its last message


def digest(users: Iterable[str]) -> str:
    """A short fingerprint of a set of users: peers compare it to find a drift."""
    joined = "\n".join(sorted(users)).encode()
    return hashlib.blake2b(joined, digest_size=8).hexdigest()


class Presence:
    def __init__(self) -> None:
        self._sockets: Counter[str] = Counter()  # connected sockets per user, here
        self._peers: dict[str, PeerView] = {}

    # this instance -------------------------------------------------------------------

    def connect(self, user_id: str) -> bool:
        """A socket of `user_id` connected here; True at their first one."""
        self._sockets[user_id] += 1
        return self._sockets[user_id] == 1

    def disconnect(self, user_id: str) -> bool:
        """A socket of `user_id` left; True at their last one here."""
        if self._sockets[user_id] <= 1:
            self._sockets.pop(user_id, None)
            return True
        self._sockets[user_id] -= 1
        return False

    def here(self) -> list[str]:
        return sorted(self._sockets)

    def is_here(self, user_id: str) -> bool:
        return user_id in self._sockets

    def digest(self) -> str:
        return digest(self._sockets)

    # every instance ------------------------------------------------------------------

    def elsewhere(self, user_id: str) -> bool:
        return any(user_id in view.users for view in self._peers.values())

    def is_online(self, user_id: str) -> bool:
        return self.is_here(user_id) or self.elsewhere(user_id)

    # the peers -----------------------------------------------------------------------

    def peers(self) -> list[str]:
        return sorted(self._peers)

    def has_peers(self) -> bool:
        return bool(self._peers)

    def knows(self, instance_id: str) -> bool:
        return instance_id in self._peers

    def peer_digest(self, instance_id: str) -> str | None:
        view = self._peers.get(instance_id)
        return None if view is None else digest(view.users)

    def seen(self, instance_id: str, now: float) -> bool:
        """A message from a peer; True when it was not known."""
        view = self._peers.get(instance_id)
        if view is None:
            self._peers[instance_id] = PeerView(seen_at=now)
            return True
        view.seen_at = now
        return False

    def peer_has(self, instance_id: str, users: Iterable[str], now: float) -> list[str]:
        """The peer's whole list of users; the users no longer online anywhere."""
        self.seen(instance_id, now)
        view = self._peers[instance_id]
        before, view.users = view.users, set(users)
        return sorted(u for u in before - view.users if not self.is_online(u))

    def peer_online(self, instance_id: str, user_id: str, now: float) -> None:
        self.seen(instance_id, now)
        self._peers[instance_id].users.add(user_id)

    def peer_offline(self, instance_id: str, user_id: str, now: float) -> None:
        self.seen(instance_id, now)
        self._peers[instance_id].users.discard(user_id)

    def peer_gone(self, instance_id: str) -> list[str]:
        """A peer stopped or died; the users no longer online anywhere."""
        view = self._peers.pop(instance_id, None)
        if view is None:
            return []
        return sorted(u for u in view.users if not self.is_online(u))

    def lapsed(self, now: float, after_s: float) -> list[str]:
        """Peers not heard from for `after_s`."""
        return sorted(i for i, v in self._peers.items() if now - v.seen_at > after_s)
