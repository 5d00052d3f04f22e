"""Chat (API.md "Chat over HTTP" and "Realtime"): rooms, ordered messages, typing, presence
and the simulated peer. HTTP and Socket.IO call the same methods, so a message posted over
HTTP is delivered in realtime exactly like one sent over a socket.

Membership: a room the caller is not in is `NotFound`, exactly like a room that does not exist.
Ordering: `seq` comes from the room's counter (atomic in the store); a room's sends take
turns (`RoomTurns`), so this instance's `message:new` events leave in `seq` order.
Idempotency: a (room, sender, client_id) seen before answers the first message.

Presence and typing live in memory (domain/chat/presence.py; the typing timers beside the
realtime entry point): a store is written for neither. Presence changes at a user's first
socket anywhere and after their last one; the other instances (the cluster link) hear only
the transitions, and only while there are other instances.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from domain.chat import peer
from domain.chat.errors import DuplicateMessage, InvalidInput
from domain.chat.model import (
    BODY_MAX,
    CLIENT_ID_MAX,
    PAGE_DEFAULT,
    PAGE_MAX,
    ROOM_NAME_MAX,
    Message,
    MessagePage,
    Room,
    Sent,
    Status,
    is_peer,
    message_id_for,
)
from domain.chat.presence import Presence
from domain.chat.turns import RoomTurns
from domain.errors import NotFound, ServiceUnavailable, TooManyRequests
from ports.chat import ClusterLink, MessageRepository, RealtimeBroadcaster, RoomRepository
from ports.clock import Clock
from ports.ids import IdGenerator
from ports.rate_limit import RateLimiter
from ports.tasks import BackgroundTasks
from ports.users import UserRepository

log = logging.getLogger("flowhub.chat")


@dataclass(frozen=True, slots=True)
class ChatPolicy:
    page_default: int = PAGE_DEFAULT
    page_max: int = PAGE_MAX
    messages_per_window: int = 20
    message_window_s: int = 10
    typing_ttl_s: int = 3
    typing_absorb_s: float = 1.0  # a repeated `typing: true` within this changes nothing
    peer_seed: int = 16
    peer_typing_min_s: float = 0.4
    peer_typing_max_s: float = 1.6
    # The most a send waits for its room's turn: past it, ServiceUnavailable (retry with the
    # same client_id) rather than a queue that grows while the store is slow.
    send_wait_s: float = 5.0


class ChatService:
    def __init__(
        self,
        *,
        rooms: RoomRepository,
        messages: MessageRepository,
        presence: Presence,
        cluster: ClusterLink,
        broadcaster: RealtimeBroadcaster,
        users: UserRepository,
        limiter: RateLimiter,
        tasks: BackgroundTasks,
        clock: Clock,
        ids: IdGenerator,
        turns: RoomTurns,
        policy: ChatPolicy | None = None,
    ) -> None:
        self._rooms = rooms
        self._messages = messages
        self._presence = presence
        self._cluster = cluster
        self._broadcaster = broadcaster
        self._users = users
        self._limiter = limiter
        self._tasks = tasks
        self._clock = clock
        self._ids = ids
        self._turns = turns
        self._policy = policy or ChatPolicy()

    @property
    def policy(self) -> ChatPolicy:
        return self._policy

    # rooms ---------------------------------------------------------------------------

    async def create_room(
        self, user_id: str, name: str, member_ids: Sequence[str] = (), simulated: bool = False
    ) -> Room:
        name = name.strip()
        if not 1 <= len(name) <= ROOM_NAME_MAX:
            raise InvalidInput(f"A room name has 1 to {ROOM_NAME_MAX} characters.")
        members = [user_id]
        for member in member_ids:
            if member in members:
                continue
            if is_peer(member) or await self._users.get(member) is None:
                raise NotFound("No such user.")
            members.append(member)
        room_id = self._ids.new_id()
        room = Room(
            id=room_id,
            name=name,
            member_ids=tuple(members),
            simulated=simulated,
            created_at=_ms(self._clock),
        )
        if simulated:
            room = room.with_member(peer.peer_id_of(room_id))
        await self._rooms.add(room)
        for member in members[1:]:
            await self._broadcaster.room_added(room, member)
        await self._broadcaster.room_added(room, user_id)
        return room

    async def rooms(self, user_id: str) -> list[Room]:
        return await self._rooms.for_member(user_id)

    async def room(self, user_id: str, room_id: str) -> Room:
        """The room, if `user_id` is a member; `NotFound` otherwise."""
        room = await self._rooms.get(room_id)
        if room is None or not room.has_member(user_id):
            raise NotFound("No such room.")
        return room

    async def add_member(self, user_id: str, room_id: str, new_member_id: str) -> Room:
        await self.room(user_id, room_id)
        if is_peer(new_member_id) or await self._users.get(new_member_id) is None:
            raise NotFound("No such user.")
        room = await self._rooms.add_member(room_id, new_member_id)
        if room is None:
            raise NotFound("No such room.")
        await self._broadcaster.room_added(room, new_member_id)
        return room

    # messages ------------------------------------------------------------------------

    async def send(
        self, user_id: str, room_id: str, body: str, client_id: str | None = None
    ) -> Sent:
        if not 1 <= len(body) <= BODY_MAX or not body.strip():
            raise InvalidInput(f"A message has 1 to {BODY_MAX} characters.")
        if client_id is not None and not 1 <= len(client_id) <= CLIENT_ID_MAX:
            raise InvalidInput(f"A client_id has 1 to {CLIENT_ID_MAX} characters.")
        room = await self.room(user_id, room_id)
        if client_id is not None:
            first = await self._messages.by_client_id(room_id, user_id, client_id)
            if first is not None:
                return Sent(first, created=False)
        await self._limit(user_id)
        sent = await self._append(room, user_id, body, client_id)
        if sent.created and room.simulated and not is_peer(user_id):
            self._tasks.spawn(self._peer_answers(room, sent.message), f"chat-peer-{room_id}")
        return sent

    async def _limit(self, user_id: str) -> None:
        policy = self._policy
        try:
            window = await self._limiter.hit(
                f"rate:{user_id}:chat", policy.messages_per_window, policy.message_window_s
            )
        except ServiceUnavailable:
            log.warning("chat rate limit unavailable; letting the message through")
            return
        if window.exceeded:
            raise TooManyRequests(window.reset_in_s)

    async def _append(self, room: Room, sender_id: str, body: str, client_id: str | None) -> Sent:
        async with self._turns.turn(room.id, self._policy.send_wait_s):
            return await self._append_in_turn(room, sender_id, body, client_id)

    async def _append_in_turn(
        self, room: Room, sender_id: str, body: str, client_id: str | None
    ) -> Sent:
        seq = await self._rooms.next_seq(room.id)
        message = Message(
            id=self._ids.new_id()
            if client_id is None
            else message_id_for(room.id, sender_id, client_id),
            room_id=room.id,
            sender_id=sender_id,
            body=body,
            seq=seq,
            created_at=_ms(self._clock),
            client_id=client_id,
        )
        try:
            await self._messages.add(message)
        except DuplicateMessage:
            # The same client_id raced in on another request: answer its message (this seq
            # stays unused: the one way a gap can appear, documented in the README).
            if client_id is None:
                raise
            first = await self._messages.by_client_id(room.id, sender_id, client_id)
            if first is None:
                raise
            return Sent(first, created=False)
        await self._broadcaster.message_new(message)
        return Sent(message, created=True)

    async def messages(
        self,
        user_id: str,
        room_id: str,
        limit: int | None = None,
        before: int | None = None,
        after: int | None = None,
    ) -> MessagePage:
        await self.room(user_id, room_id)
        size = limit or self._policy.page_default
        if not 1 <= size <= self._policy.page_max:
            raise InvalidInput(f"limit is 1 to {self._policy.page_max}.")
        items = await self._messages.page(room_id, size + 1, before=before, after=after)
        if after is not None:
            return MessagePage(items[:size], None)
        more = len(items) > size
        items = items[-size:]
        return MessagePage(items, items[0].seq if more and items else None)

    # typing: the caller checks membership with `room()` and keeps the state and its timer

    async def typing_started(self, room_id: str, user_id: str) -> None:
        await self._broadcaster.typing(room_id, user_id, True)

    async def typing_ended(self, room_id: str, user_id: str) -> None:
        await self._broadcaster.typing(room_id, user_id, False)

    # the simulated peer ----------------------------------------------------------------

    async def _peer_answers(self, room: Room, message: Message) -> None:
        policy, peer_id = self._policy, peer.peer_id_of(room.id)
        await self._broadcaster.typing(room.id, peer_id, True)
        try:
            await asyncio.sleep(
                peer.delay_s(
                    policy.peer_seed,
                    room.id,
                    message.seq,
                    policy.peer_typing_min_s,
                    policy.peer_typing_max_s,
                )
            )
            text = peer.reply(policy.peer_seed, room.id, message.seq, message.body)
            await self._append(room, peer_id, text, None)
        finally:
            await self._broadcaster.typing(room.id, peer_id, False)

    # presence: the caller tells each socket's connect and disconnect ------------------

    async def socket_connected(self, user_id: str) -> None:
        """At the user's first socket here, the peers hear it; at their first anywhere, so do
        their rooms (`online`)."""
        if not self._presence.connect(user_id):
            return
        await self._cluster.user_online(user_id)
        if not self._presence.elsewhere(user_id):
            await self._tell_presence(user_id, Status.ONLINE)

    async def socket_disconnected(self, user_id: str) -> None:
        """After the user's last socket here, the peers hear it; after their last anywhere,
        so do their rooms (`offline`)."""
        if not self._presence.disconnect(user_id):
            return
        await self._cluster.user_offline(user_id)
        if not self._presence.elsewhere(user_id):
            await self._tell_presence(user_id, Status.OFFLINE)

    def online_here(self) -> list[str]:
        """The users with a socket on this instance."""
        return self._presence.here()

    async def users_gone(self, user_ids: Sequence[str]) -> None:
        """Users whose instance stopped or died (told by the cluster link): `offline` to the
        rooms of those not online anywhere else."""
        for user_id in user_ids:
            if not self._presence.is_online(user_id):
                await self._tell_presence(user_id, Status.OFFLINE)

    async def _tell_presence(self, user_id: str, status: Status) -> None:
        rooms = await self._rooms.for_member(user_id)
        await self._broadcaster.presence(user_id, status, [r.id for r in rooms])

    async def presence(self, user_id: str, user_ids: Sequence[str]) -> dict[str, str]:
        """The status of those of `user_ids` who share a room with `user_id`, from memory."""
        rooms = await self._rooms.for_member(user_id)
        shared = {m for r in rooms for m in r.member_ids}
        wanted = [u for u in dict.fromkeys(user_ids) if u in shared]
        online = self._presence.is_online
        return {u: Status.ONLINE if is_peer(u) or online(u) else Status.OFFLINE for u in wanted}


def _ms(clock: Clock) -> datetime:
    now = clock.now()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)
