"""Chat (API.md "Chat over HTTP" and "Realtime"): rooms, ordered messages, typing, presence
and the simulated peer. HTTP and Socket.IO call the same methods, so a message posted over
HTTP is delivered in realtime exactly like one sent over a socket.

Membership: a room the caller is not in is `NotFound`, exactly like a room that does not exist.
Consent: nobody is put in a room. Creating a room or adding a member invites (`room:invited`);
the invitee accepts (a member: `room:added` to them, `room:member_added` to the room) or
declines; a member leaves, the creator removes (`room:member_left`). Until they accept, an
invitee sees no message, no presence and no typing of the room. Rooms created and invitations
sent per hour are capped per user (in this process, like the message rate), and so are the
rooms a user is in and the invitations waiting for them.
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
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from domain.auth.model import is_valid_email, normalize_email
from domain.chat import peer
from domain.chat.attachments import as_read, attachments_of
from domain.chat.errors import DuplicateMessage, InvalidInput
from domain.chat.model import (
    BODY_MAX,
    CLIENT_ID_MAX,
    INVITATIONS_PENDING_MAX,
    PAGE_DEFAULT,
    PAGE_MAX,
    ROOM_NAME_MAX,
    ROOMS_PER_USER,
    Attachment,
    Message,
    MessagePage,
    ReadState,
    Room,
    Sent,
    Status,
    email_invitation_id,
    email_invitee,
    is_email_invitee,
    is_peer,
    message_id_for,
)
from domain.chat.presence import Presence
from domain.chat.reads import ReadReceipts
from domain.chat.turns import RoomTurns
from domain.errors import (
    Conflict,
    Forbidden,
    InvalidCursor,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
)
from ports.chat import ClusterLink, MessageRepository, RealtimeBroadcaster, RoomRepository
from ports.clock import Clock
from ports.files import FileRepository
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
    rooms_per_hour: int = 30  # rooms one user may create an hour
    invitations_per_hour: int = 60  # invitations one user may send an hour
    rooms_per_user: int = ROOMS_PER_USER
    invitations_pending_max: int = INVITATIONS_PENDING_MAX
    rooms_page_default: int = 50


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
        reads: ReadReceipts,
        policy: ChatPolicy | None = None,
        files: FileRepository | None = None,  # None: no message can attach a file
        # the keyed hash an email invitation waits under (Keyring.email_key); None: none can
        address_key: Callable[[str], str] | None = None,
    ) -> None:
        self._files = files
        self._address_key = address_key
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
        self._reads = reads
        self._policy = policy or ChatPolicy()

    @property
    def policy(self) -> ChatPolicy:
        return self._policy

    # rooms ---------------------------------------------------------------------------

    async def create_room(
        self, user_id: str, name: str, member_ids: Sequence[str] = (), simulated: bool = False
    ) -> Room:
        """A room with its creator as the one member; `member_ids` are invited."""
        name = name.strip()
        if not 1 <= len(name) <= ROOM_NAME_MAX:
            raise InvalidInput(f"A room name has 1 to {ROOM_NAME_MAX} characters.")
        invited: list[str] = []
        for member in member_ids:
            if member == user_id or member in invited:
                continue
            if is_peer(member) or await self._users.get(member) is None:
                raise NotFound("No such user.")
            invited.append(member)
        await self._has_room_for(user_id)
        await self._spend(user_id, "rooms", self._policy.rooms_per_hour)
        for _ in invited:
            await self._spend(user_id, "invitations", self._policy.invitations_per_hour)
        room_id = self._ids.new_id()
        room = Room(
            id=room_id,
            name=name,
            member_ids=(user_id,),
            simulated=simulated,
            created_at=_ms(self._clock),
            creator_id=user_id,
        )
        if simulated:
            room = room.with_member(peer.peer_id_of(room_id))
        await self._rooms.add(room)
        await self._broadcaster.room_added(room, user_id)
        for member in invited:
            try:
                room = await self._invite(room, member)
            except Conflict:
                continue  # too many invitations waiting: the room's `invited_ids` shows it
        return room

    async def rooms(self, user_id: str) -> list[Room]:
        return await self._rooms.for_member(user_id)

    async def rooms_page(
        self, user_id: str, limit: int | None = None, cursor: str | None = None
    ) -> tuple[list[Room], str | None]:
        """The caller's rooms, oldest first, `limit` at a time; `cursor` is the id of the last
        room of the page before (the rooms are few: `rooms_per_user` at most)."""
        size = limit or self._policy.rooms_page_default
        if not 1 <= size <= self._policy.page_max:
            raise InvalidInput(f"limit is 1 to {self._policy.page_max}.")
        rooms = await self._rooms.for_member(user_id)
        start = 0
        if cursor is not None:
            ids = [r.id for r in rooms]
            if cursor not in ids:
                raise InvalidCursor()
            start = ids.index(cursor) + 1
        page = rooms[start : start + size]
        more = start + size < len(rooms)
        return page, (page[-1].id if more and page else None)

    async def room(self, user_id: str, room_id: str) -> Room:
        """The room, if `user_id` is a member; `NotFound` otherwise."""
        room = await self._rooms.get(room_id)
        if room is None or not room.has_member(user_id):
            raise NotFound("No such room.")
        return room

    # read state ----------------------------------------------------------------------

    async def read_states(self, user_id: str, rooms: list[Room]) -> dict[str, ReadState]:
        """The caller's read state in each of their rooms (one read of the marks)."""
        marks = await self._reads.of_user(user_id, rooms)
        return {r.id: self._reads.state(r, marks.get(r.id, 0)) for r in rooms}

    async def mark_read(self, user_id: str, room_id: str, seq: int) -> ReadState:
        """The caller has read the room up to `seq`; the room gets a `receipt`."""
        if seq < 0:
            raise InvalidInput("seq is 0 or more.")
        return await self._reads.mark(await self.room(user_id, room_id), user_id, seq)

    async def receipts(self, user_id: str, room_id: str) -> dict[str, int]:
        """How far each member has read the room ("seen by")."""
        return await self._reads.of_room(await self.room(user_id, room_id))

    # membership ----------------------------------------------------------------------

    async def invite(self, user_id: str, room_id: str, invitee_id: str) -> Room:
        """A member invites someone; inviting a member or an invitee again changes nothing."""
        room = await self.room(user_id, room_id)
        if is_peer(invitee_id) or await self._users.get(invitee_id) is None:
            raise NotFound("No such user.")
        if room.has_member(invitee_id) or room.has_invited(invitee_id):
            return room
        await self._spend(user_id, "invitations", self._policy.invitations_per_hour)
        return await self._invite(room, invitee_id)

    async def invite_email(self, user_id: str, room_id: str, email: str) -> Room:
        """A member invites an address. The invitation waits under the address's keyed hash
        and the room shows only its hint, whether or not an account has the address, so the
        answer is the same either way; the account that has verified the address sees it
        (`room:invited` now if there is one, `GET /chat/invitations` whenever) and answers."""
        room = await self.room(user_id, room_id)
        address = normalize_email(email)
        if self._address_key is None or not is_valid_email(address):
            raise InvalidInput("That is not an email address.")
        invitee = email_invitee(self._address_key(address), address)
        if room.has_invited(invitee):
            return room
        await self._spend(user_id, "invitations", self._policy.invitations_per_hour)
        invited = await self._invite(room, invitee)
        account = await self._users.by_email(address)
        if (
            invited.has_invited(invitee)
            and account is not None
            and account.email_verified
            and not invited.has_member(account.id)
        ):
            await self._broadcaster.room_invited(invited, account.id)
        return invited

    async def _email_invitee_of(self, user_id: str) -> str | None:
        """The invitee the user's verified address is invited as (an unverified address is
        not the user's yet: answering its invitations would let a squatter in)."""
        if self._address_key is None:
            return None
        user = await self._users.get(user_id)
        if user is None or not user.email_verified:
            return None
        return email_invitee(self._address_key(user.email), user.email)

    async def _invite(self, room: Room, invitee_id: str) -> Room:
        waiting = await self._rooms.invited_to(invitee_id)
        if len(waiting) >= self._policy.invitations_pending_max:
            # said to the inviter as a plain refusal: it tells only that the user is busy
            raise Conflict("This user has too many invitations waiting.")
        invited = await self._rooms.invite(room.id, invitee_id)
        if invited is None:  # a member meanwhile (or the room is gone)
            return await self._rooms.get(room.id) or room
        if not is_email_invitee(invitee_id):
            await self._broadcaster.room_invited(invited, invitee_id)
        await self._broadcaster.room_updated(invited)
        return invited

    async def invitations(self, user_id: str) -> list[Room]:
        """The invitations to the user and to the user's verified address, oldest first."""
        rooms = await self._rooms.invited_to(user_id)
        invitee = await self._email_invitee_of(user_id)
        if invitee is not None:
            known = {r.id for r in rooms}
            by_address = await self._rooms.invited_to(invitee)
            rooms += [r for r in by_address if r.id not in known and not r.has_member(user_id)]
            rooms.sort(key=lambda r: (r.created_at, r.id))
        return rooms

    async def accept(self, user_id: str, room_id: str) -> Room:
        """The invitee joins: their sockets enter the room, the room hears of them."""
        await self._has_room_for(user_id)
        room = await self._rooms.accept(room_id, user_id)
        if room is None:
            invitee = await self._email_invitee_of(user_id)
            if invitee is not None:
                room = await self._rooms.accept(room_id, user_id, invitee=invitee)
        if room is None:
            current = await self._rooms.get(room_id)
            if current is not None and current.has_member(user_id):
                return current  # accepted already (another tab)
            raise NotFound("No such invitation.")
        await self._broadcaster.room_added(room, user_id)
        await self._broadcaster.member_added(room, user_id)
        # the newcomer sees who is online there, and the room sees the newcomer: no presence
        # transition happens at a join, so neither would hear it otherwise
        online = self._presence.is_online
        others = [m for m in room.member_ids if m != user_id and (is_peer(m) or online(m))]
        await self._broadcaster.presence_snapshot(user_id, others)
        if online(user_id):
            await self._broadcaster.presence(user_id, Status.ONLINE, [room.id])
        return room

    async def decline(self, user_id: str, room_id: str) -> None:
        room = await self._rooms.get(room_id)
        if room is not None and room.has_member(user_id):
            # the room is there (it is the caller's): a conflict, not a missing resource
            raise Conflict("You are a member of this room: leave it instead.")
        invitees = [user_id]
        if (invitee := await self._email_invitee_of(user_id)) is not None:
            invitees.append(invitee)
        if room is None or not any(room.has_invited(i) for i in invitees):
            raise NotFound("No such invitation.")
        after = None
        for invitee in invitees:
            after = await self._rooms.remove(room_id, invitee)
        if after is not None:
            await self._broadcaster.room_updated(after)

    async def leave(self, user_id: str, room_id: str) -> None:
        room = await self.room(user_id, room_id)
        await self._out(room, user_id)

    async def remove_member(self, user_id: str, room_id: str, member_id: str) -> Room:
        """The creator takes a member out, or withdraws an invitation."""
        room = await self.room(user_id, room_id)
        if room.creator_id != user_id:
            raise Forbidden("Only the room's creator removes members.")
        if member_id == user_id:
            raise Conflict("The creator leaves the room instead.")
        if room.has_member(member_id):
            return await self._out(room, member_id)
        if is_email_invitee(member_id):  # an email invitation is named without its hint
            named = (i for i in room.invited_emails if email_invitation_id(i) == member_id)
            member_id = next(named, "")
        if room.has_invited(member_id):
            after = await self._rooms.remove(room_id, member_id)
            if after is not None:
                await self._broadcaster.room_updated(after)
                return after
        raise NotFound("No such member.")

    async def forget_user(self, user_id: str) -> int:
        """An account's deletion: the user leaves every room (each hears `room:member_left`),
        its invitations are withdrawn (`room:updated`), its messages become tombstones and
        its read marks go. Repeating it after a failure finishes the work; how many messages
        it tombstoned."""
        for room in await self._rooms.for_member(user_id):
            with contextlib.suppress(NotFound):  # gone meanwhile: nothing to leave
                await self._out(room, user_id)
        for room in await self._rooms.invited_to(user_id):
            after = await self._rooms.remove(room.id, user_id)
            if after is not None:
                await self._broadcaster.room_updated(after)
        # the invitations waiting for its address go too (before the user, who names it)
        if (invitee := await self._email_invitee_of(user_id)) is not None:
            for room in await self._rooms.invited_to(invitee):
                after = await self._rooms.remove(room.id, invitee)
                if after is not None:
                    await self._broadcaster.room_updated(after)
        tombstoned = await self._messages.tombstone_sender(user_id)
        await self._reads.forget(user_id)
        return tombstoned

    async def _out(self, room: Room, user_id: str) -> Room:
        after = await self._rooms.remove(room.id, user_id)
        if after is None:
            raise NotFound("No such room.")
        await self._broadcaster.member_left(after, user_id)
        return after

    async def _has_room_for(self, user_id: str) -> None:
        if len(await self._rooms.for_member(user_id)) >= self._policy.rooms_per_user:
            raise Conflict(
                f"You are in {self._policy.rooms_per_user} rooms, the most: leave one first."
            )

    async def _spend(self, user_id: str, what: str, per_hour: int) -> None:
        window = await self._limiter.hit(f"rate:{user_id}:{what}", per_hour, 3600)
        if window.exceeded:
            raise TooManyRequests(window.reset_in_s)

    # messages ------------------------------------------------------------------------

    async def send(
        self,
        user_id: str,
        room_id: str,
        body: str,
        client_id: str | None = None,
        attachment_ids: Sequence[str] = (),
    ) -> Sent:
        """`attachment_ids`: files of the sender's, each ready (at most ATTACHMENTS_MAX)."""
        if not 1 <= len(body) <= BODY_MAX or not body.strip():
            raise InvalidInput(f"A message has 1 to {BODY_MAX} characters.")
        if client_id is not None and not 1 <= len(client_id) <= CLIENT_ID_MAX:
            raise InvalidInput(f"A client_id has 1 to {CLIENT_ID_MAX} characters.")
        room = await self.room(user_id, room_id)
        if client_id is not None:
            first = await self._messages.by_client_id(room_id, user_id, client_id)
            if first is not None:
                return Sent((await as_read(self._files, [first]))[0], created=False)
        attachments = await attachments_of(self._files, user_id, attachment_ids)
        await self._limit(user_id)
        sent = await self._append(room, user_id, body, client_id, attachments)
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

    async def _append(
        self,
        room: Room,
        sender_id: str,
        body: str,
        client_id: str | None,
        attachments: tuple[Attachment, ...] = (),
    ) -> Sent:
        async with self._turns.turn(room.id, self._policy.send_wait_s):
            return await self._append_in_turn(room, sender_id, body, client_id, attachments)

    async def _append_in_turn(
        self,
        room: Room,
        sender_id: str,
        body: str,
        client_id: str | None,
        attachments: tuple[Attachment, ...],
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
            attachments=attachments,
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
            return Sent((await as_read(self._files, [first]))[0], created=False)
        await self._broadcaster.message_new(message)
        if not is_peer(sender_id):  # a sender has read their own message
            await self._reads.mark(replace(room, last_seq=seq), sender_id, seq, tell=False)
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
            return MessagePage(await as_read(self._files, items[:size]), None)
        more = len(items) > size
        items = items[-size:]
        shown = await as_read(self._files, items)
        return MessagePage(shown, items[0].seq if more and items else None)

    # typing: the caller checks membership with `room()` and keeps the state and its timer

    async def typing_started(self, room_id: str, user_id: str) -> None:
        await self._broadcaster.typing(room_id, user_id, True)

    async def typing_ended(self, room_id: str, user_id: str, by_message: bool = False) -> None:
        """`by_message`: the typist sent a message, which tells the other instances (each
        ends the state it relayed when it delivers that message): only this one's sockets
        need the event."""
        await self._broadcaster.typing(room_id, user_id, False, here_only=by_message)

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

    async def users_back(self, user_ids: Sequence[str]) -> None:
        """Users a resync with a peer found online there who were not known online (lost
        messages, an outage): `online` to their rooms."""
        for user_id in user_ids:
            await self._tell_presence(user_id, Status.ONLINE)

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
