// Realtime chat on @flowhub/client's Realtime (../vendor/flowhub-client.js): one Socket.IO
// connection, the rooms, their messages in seq order, typing and presence. The package sends
// the access token at every (re)connect, renews it when the server refuses it, and after a
// reconnect fetches what every followed room missed; this module keeps the page's state: each
// room's history without gaps (a gap seen live is filled over HTTP), unread counts, and an
// outbox for messages written while offline, sent again on reconnect with the same client_id
// (the server stores each client_id once).

import { connectRealtime } from "../vendor/flowhub-client.js";

const TYPING_RENEW_MS = 2000; // the server forgets a typing state after 3 s
const TYPING_IDLE_MS = 2500;
const TYPING_SHOWN_MS = 4000;
const PAGE = 100;
const ATTACHMENT_FRESH_MS = 10 * 60 * 1000; // an attachment's URLs are valid 15 min
export const ATTACHMENTS_MAX = 4; // the server's limit per message
const HISTORY_PAGE = 50; // the latest page a room opens with, and each "Load earlier"

function newClientId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes); // crypto.randomUUID needs a secure context; this does not
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

class RoomState {
  constructor(room) {
    this.room = room;
    this.messages = new Map(); // seq -> Message
    this.lastSeq = 0; // the highest seq held without a gap below it
    this.loaded = false;
    this.unread = 0;
    this.typing = new Map(); // user_id -> timer
    this.nextBefore = null; // the history page's next_before: older messages exist below it
    this.receipts = new Map(); // user_id -> the seq that member has read up to ("seen by")
  }

  get sorted() {
    return [...this.messages.values()].sort((a, b) => a.seq - b.seq);
  }
}

export class Chat extends EventTarget {
  constructor(api) {
    super();
    this.api = api;
    this.rt = null; // the package's Realtime
    this.rooms = new Map(); // room_id -> RoomState
    this.invitations = new Map(); // room_id -> Room the user is invited to
    this.names = new Map(); // user_id -> display name (GET /users: room-mates and inviters)
    this.avatars = new Map(); // user_id -> avatar_url, or null (initials)
    this.presence = new Map(); // user_id -> "online" | "offline"
    this.outbox = []; // {room_id, body, client_id}
    this.currentRoomId = null;
    this.everConnected = false;
    this._typingSentAt = 0;
    this._typingRoom = null;
    this._typingIdle = null;
    this.editWindowS = null; // GET /config's chat.edit_window_s, when the server reports it
    this.attachments = new Map(); // "room/file" -> {at, meta | null (gone), promise}
  }

  _emit(type, detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  get me() {
    return this.api.user ? this.api.user.id : null;
  }

  get connected() {
    return Boolean(this.rt && this.rt.connected);
  }

  // --- connection -------------------------------------------------------------------------
  async start() {
    this.api
      .config()
      .then((config) => {
        const window = config && config.chat && config.chat.edit_window_s;
        if (typeof window === "number") this.editWindowS = window;
      })
      .catch(() => undefined); // without it, the server's 409 says when an edit is too late
    await this.loadRooms();
    const rt = connectRealtime(this.api.hub);
    this.rt = rt;
    rt.socket.on("connect", () => this._connected());
    rt.socket.on("disconnect", (reason) => {
      this._emit("connection", { state: "reconnecting", reason });
    });
    rt.socket.on("connect_error", (error) => {
      // a refused token is renewed by the package; the page only says it is not connected
      this._emit("connection", { state: "reconnecting", reason: error.message });
    });
    rt.on("message:new", (message) => this._received(message));
    rt.on("message:updated", (message) => this._changed(message));
    rt.on("message:deleted", (message) => this._changed(message));
    rt.on("typing", (event) => this._typingSeen(event));
    rt.on("receipt", (event) => this._receipt(event));
    rt.on("presence", (event) => {
      this.presence.set(event.user_id, event.status);
      this._emit("presence");
    });
    rt.on("session:ended", ({ reason }) => {
      // signed out elsewhere (logout-all, a password reset): the renewal is refused, and the
      // page's session ends with its sentence; an expired token the package renews by itself
      if (reason === "revoked") this.api.hub.refresh().catch(() => undefined);
    });
    rt.on("room:invited", (room) => {
      this.invitations.set(room.id, room);
      this._emit("rooms");
      this._learnNames([room.creator_id]).catch(() => undefined);
    });
    rt.on("room:updated", (room) => {
      if (this.rooms.has(room.id)) this._addRoom(room);
      this._emit("rooms");
    });
    rt.on("room:member_added", (event) => this._membership(event, true));
    rt.on("room:member_left", (event) => this._membership(event, false));
    rt.on("room:added", (room) => {
      this.invitations.delete(room.id);
      this._addRoom(room);
      this._emit("rooms");
    });
    this._emit("connection", { state: "connecting" });
    rt.connect().catch((error) => {
      if (this.rt === rt) this._emit("error", { error });
    });
  }

  stop() {
    if (this.rt) {
      this.rt.socket.removeAllListeners();
      this.rt.disconnect();
      this.rt = null;
    }
    for (const state of this.rooms.values()) for (const timer of state.typing.values()) clearTimeout(timer);
    clearTimeout(this._typingIdle);
    this.rooms.clear();
    this.presence.clear();
    this.outbox = [];
    this.currentRoomId = null;
    this.everConnected = false;
  }

  async _connected() {
    const again = this.everConnected;
    this.everConnected = true;
    this._emit("connection", { state: "connected", again });
    try {
      if (again) await this.loadRooms(); // rooms added while away
      await this.rt.whenCaughtUp(); // the package delivered what followed rooms missed
      await this.refreshPresence();
      if (again && this.currentRoomId) await this.loadReceipts(this.currentRoomId); // missed ones
      await this._flushOutbox();
      this._emit("caughtup", { again });
    } catch (error) {
      this._emit("error", { error });
    }
  }

  // --- rooms and messages -----------------------------------------------------------------
  _addRoom(room) {
    const known = this.rooms.get(room.id);
    if (known) {
      known.room = { ...known.room, ...room };
      return known;
    }
    const state = new RoomState(room);
    // the server's count of what came after the user's read mark (the rooms list has it)
    if (typeof room.unread_count === "number") state.unread = room.unread_count;
    this.rooms.set(room.id, state);
    return state;
  }

  // Tell the server how far the user has read the open room (it coalesces a fast reader's
  // marks); the other members get a receipt.
  _markRead(state) {
    if (!this.connected || state.lastSeq <= (state.readSent || 0)) return;
    state.readSent = state.lastSeq;
    this.rt.emit("room:read", { room_id: state.room.id, seq: state.lastSeq }).catch(() => undefined);
  }

  async loadRooms() {
    for (let cursor = null, first = true; first || cursor; first = false) {
      const page = await this.api.rooms(cursor);
      for (const room of page.items) this._addRoom(room);
      cursor = page.next_cursor;
    }
    const invited = await this.api.invitations();
    for (const room of invited.items) this.invitations.set(room.id, room);
    this._emit("rooms");
    const people = [...this.rooms.values()].flatMap((state) => state.room.member_ids || []);
    await this._learnNames([...people, ...invited.items.map((room) => room.creator_id)]);
  }

  async accept(roomId) {
    const room = await this.api.membership(roomId, "accept");
    this.invitations.delete(roomId);
    this._addRoom(room);
    this._emit("rooms");
    return room;
  }

  async decline(roomId) {
    await this.api.membership(roomId, "decline");
    this.invitations.delete(roomId);
    this._emit("rooms");
  }

  async leave(roomId) {
    await this.api.membership(roomId, "leave");
    this._forgetRoom(roomId);
  }

  _forgetRoom(roomId) {
    this.rooms.delete(roomId);
    if (this.currentRoomId === roomId) this.currentRoomId = null;
    this._emit("rooms");
  }

  _membership(event, joined) {
    const state = this.rooms.get(event.room_id);
    if (!state) return;
    if (!joined && event.user_id === this.me) {
      this._forgetRoom(event.room_id); // left (another tab) or removed by the creator
      return;
    }
    const others = state.room.member_ids.filter((id) => id !== event.user_id);
    state.room = {
      ...state.room,
      member_ids: joined ? [...others, event.user_id] : others,
      invited_ids: state.room.invited_ids.filter((id) => id !== event.user_id),
    };
    this._emit("rooms");
    // the event carries no Room: one who accepted an email invitation leaves its hint listed
    // until the rooms are read again (there is no GET of one room)
    if (joined && (state.room.email_invitations || []).length) this.loadRooms().catch(() => undefined);
    // a newcomer may have been online all along: no presence event says so, ask
    if (joined) this.refreshPresence().catch(() => undefined);
  }

  async createRoom(name, simulated) {
    const room = await this.api.createRoom(name, simulated);
    this._addRoom(room);
    if (this.connected) await this.rt.emit("room:join", { room_id: room.id });
    this._emit("rooms");
    return room;
  }

  // A Room the API answered (an invitation sent or withdrawn): the page's copy follows.
  updated(room) {
    this._addRoom(room);
    this._emit("rooms");
  }

  async addMember(roomId, userId) {
    const room = await this.api.addMember(roomId, userId);
    this._addRoom(room);
    this._emit("rooms");
    await this.refreshPresence();
    return room;
  }

  async open(roomId) {
    const state = this.rooms.get(roomId);
    if (!state) return;
    if (this._typingRoom && this._typingRoom !== roomId) this.stopTyping();
    this.currentRoomId = roomId;
    state.unread = 0;
    if (!state.loaded) {
      const page = await this.api.messages(roomId, { limit: HISTORY_PAGE });
      this._merge(state, page.items);
      state.nextBefore = page.next_before;
      state.loaded = true;
      await this.catchUp(roomId); // anything that arrived while the page loaded
      await this.loadReceipts(roomId);
    }
    this._markRead(state);
    this._emit("room", { roomId });
    // no event tells of a changed avatar or name: opening a room reads its people again
    this._learnNames(state.room.member_ids || [], true).catch(() => undefined);
    await this.refreshPresence();
  }

  // How far each member has read (GET .../receipts); `receipt` events keep it current.
  async loadReceipts(roomId) {
    const state = this.rooms.get(roomId);
    if (!state) return;
    const found = await this.api.receipts(roomId);
    for (const receipt of found.items) this._raise(state, receipt.user_id, receipt.seq);
    this._emit("messages", { roomId });
  }

  _raise(state, userId, seq) {
    if (seq > (state.receipts.get(userId) || 0)) state.receipts.set(userId, seq);
  }

  _receipt(event) {
    const state = this.rooms.get(event.room_id);
    if (!state) return;
    this._raise(state, event.user_id, event.seq);
    this._emit("messages", { roomId: event.room_id });
  }

  // The members (not the user, not its sender) who have read up to `message`.
  seenBy(roomId, message) {
    const state = this.rooms.get(roomId);
    if (!state) return [];
    return (state.room.member_ids || []).filter(
      (id) => id !== this.me && id !== message.sender_id && (state.receipts.get(id) || 0) >= message.seq,
    );
  }

  // The page of history before the oldest message held (the server pages by seq).
  async loadEarlier(roomId) {
    const state = this.rooms.get(roomId);
    if (!state || state.nextBefore === null) return 0;
    const page = await this.api.messages(roomId, { before: state.nextBefore, limit: HISTORY_PAGE });
    this._merge(state, page.items);
    state.nextBefore = page.next_before;
    this._emit("messages", { roomId });
    return page.items.length;
  }

  // Everything after the last seq this room holds, page by page.
  async catchUp(roomId) {
    const state = this.rooms.get(roomId);
    if (!state) return;
    for (;;) {
      const page = await this.api.messages(roomId, { after: state.lastSeq, limit: PAGE });
      this._merge(state, page.items);
      if (page.items.length < PAGE) break;
    }
    this._emit("messages", { roomId });
  }

  _merge(state, messages) {
    for (const message of messages) {
      state.messages.set(message.seq, message);
    }
    while (state.messages.has(state.lastSeq + 1)) state.lastSeq += 1;
    if (state.lastSeq === 0 && state.messages.size) {
      // a first page that starts past seq 1 (older history not loaded): count from its start
      const seqs = [...state.messages.keys()].sort((a, b) => a - b);
      state.lastSeq = seqs[0];
      while (state.messages.has(state.lastSeq + 1)) state.lastSeq += 1;
    }
    // a reconnect's catch-up (the package's) starts from here
    if (this.rt) this.rt.follow(state.room.id, state.lastSeq);
  }

  _received(message) {
    let state = this.rooms.get(message.room_id);
    if (!state) {
      state = this._addRoom({ id: message.room_id, name: "(new room)", member_ids: [], simulated: false });
      this.loadRooms().catch((error) => this._emit("error", { error }));
    }
    this._typingEnded(state, message.sender_id);
    if (!state.loaded) {
      if (message.sender_id !== this.me) state.unread += 1;
      this._emit("rooms");
      return;
    }
    const gap = message.seq > state.lastSeq + 1;
    this._merge(state, [message]);
    if (message.room_id !== this.currentRoomId && message.sender_id !== this.me) state.unread += 1;
    if (message.room_id === this.currentRoomId && message.sender_id !== this.me) this._markRead(state);
    this._emit("messages", { roomId: message.room_id });
    this._emit("rooms");
    if (gap) this.catchUp(message.room_id).catch((error) => this._emit("error", { error }));
  }

  // An edit or a deletion (a tombstone keeps its seq): replaces the message if the room holds it.
  _changed(message) {
    const state = this.rooms.get(message.room_id);
    if (!state || !state.messages.has(message.seq)) return;
    state.messages.set(message.seq, message);
    this._emit("messages", { roomId: message.room_id });
  }

  // Whether the page offers to edit `message`: the user's own, not deleted, and (when the
  // server reports its edit window) young enough.
  editable(message) {
    if (message.sender_id !== this.me || message.deleted) return false;
    if (this.editWindowS === null) return true;
    return Date.now() - new Date(message.created_at).getTime() < this.editWindowS * 1000;
  }

  async edit(roomId, messageId, body) {
    this._changed(await this.api.editMessage(roomId, messageId, body));
  }

  async remove(roomId, messageId) {
    this._changed(await this.api.deleteMessage(roomId, messageId));
  }

  // Pending messages of a room (sent, no answer yet), in the order they were written.
  pending(roomId) {
    return this.outbox.filter((m) => m.room_id === roomId);
  }

  async send(roomId, body, attachmentIds = []) {
    this.stopTyping();
    const item = { room_id: roomId, body, client_id: newClientId() };
    if (attachmentIds.length) item.attachment_ids = attachmentIds.slice(0, ATTACHMENTS_MAX);
    this.outbox.push(item);
    this._emit("messages", { roomId });
    if (this.connected) await this._deliver(item);
  }

  async _deliver(item) {
    let ack;
    try {
      ack = await this.rt.emit("message:send", item);
    } catch {
      return; // no answer (the connection dropped): it goes again on reconnect, same client_id
    }
    this.outbox = this.outbox.filter((m) => m !== item);
    if (ack && ack.ok) {
      const state = this.rooms.get(item.room_id);
      if (state && state.loaded) this._merge(state, [ack.message]);
    } else {
      const error = (ack && ack.error) || { code: "internal_error", message: "The message was not sent." };
      this._emit("error", { error: { readable: `Message not sent: ${error.message}`, code: error.code } });
    }
    this._emit("messages", { roomId: item.room_id });
  }

  async _flushOutbox() {
    for (const item of [...this.outbox]) {
      if (!this.connected) return;
      await this._deliver(item);
    }
  }

  // An attached file as the room's members read it (GET .../attachments/{file_id}): its
  // download_url and thumbnails, fetched once per 10 minutes; null once the server says it is
  // gone (deleted since). `onReady` runs when the fetch this call starts ends (a call while
  // one is in flight adds nothing: the first caller's redraw shows it).
  attachment(roomId, fileId, onReady) {
    const key = `${roomId}/${fileId}`;
    const known = this.attachments.get(key);
    if (known && (known.meta === null || Date.now() - known.at < ATTACHMENT_FRESH_MS)) return known;
    const entry = { at: Date.now(), meta: undefined, promise: null };
    entry.promise = this.api
      .attachment(roomId, fileId)
      .then(
        (meta) => {
          entry.meta = meta;
        },
        (error) => {
          if (error.status === 404) entry.meta = null;
          else this.attachments.delete(key); // asked again at the next render
        },
      )
      .finally(() => {
        entry.promise = null;
      });
    this.attachments.set(key, entry);
    if (onReady) entry.promise.then(onReady, () => undefined);
    return entry;
  }

  // --- typing -----------------------------------------------------------------------------
  typed() {
    const roomId = this.currentRoomId;
    if (!roomId || !this.connected) return;
    const now = Date.now();
    if (this._typingRoom !== roomId || now - this._typingSentAt > TYPING_RENEW_MS) {
      this._typingRoom = roomId;
      this._typingSentAt = now;
      this.rt.socket.emit("typing", { room_id: roomId, is_typing: true }); // no ack awaited
    }
    clearTimeout(this._typingIdle);
    this._typingIdle = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  stopTyping() {
    clearTimeout(this._typingIdle);
    if (this._typingRoom && this.connected) {
      this.rt.socket.emit("typing", { room_id: this._typingRoom, is_typing: false });
    }
    this._typingRoom = null;
    this._typingSentAt = 0;
  }

  _typingSeen(event) {
    const state = this.rooms.get(event.room_id);
    if (!state || event.user_id === this.me) return;
    if (!event.is_typing) {
      this._typingEnded(state, event.user_id);
      return;
    }
    clearTimeout(state.typing.get(event.user_id));
    state.typing.set(
      event.user_id,
      setTimeout(() => this._typingEnded(state, event.user_id), TYPING_SHOWN_MS),
    );
    this._emit("typing", { roomId: event.room_id });
  }

  _typingEnded(state, userId) {
    if (!state.typing.has(userId)) return;
    clearTimeout(state.typing.get(userId));
    state.typing.delete(userId);
    this._emit("typing", { roomId: state.room.id });
  }

  typists(roomId) {
    const state = this.rooms.get(roomId);
    return state ? [...state.typing.keys()] : [];
  }

  // --- presence ---------------------------------------------------------------------------
  async refreshPresence() {
    const others = new Set();
    for (const state of this.rooms.values()) {
      for (const id of state.room.member_ids || []) if (id !== this.me) others.add(id);
    }
    await this._learnNames([...others, ...[...this.invitations.values()].map((r) => r.creator_id)]);
    if (!others.size) return;
    const found = await this.api.presence([...others].slice(0, 200));
    for (const [id, status] of Object.entries(found)) this.presence.set(id, status);
    this._emit("presence");
  }

  // The names (and avatars) of the users not known yet (one GET /users for up to 100 of them).
  // `again`: also those known (their avatar or name may have changed).
  async _learnNames(userIds, again = false) {
    const unknown = [...new Set(userIds)].filter((id) => id && !id.startsWith("peer-") && (again || !this.names.has(id)));
    if (!unknown.length) return;
    const found = await this.api.users(unknown.slice(0, 100)).catch(() => ({ items: [] }));
    for (const user of found.items) {
      this.names.set(user.id, user.name);
      this.avatars.set(user.id, user.avatar_url || null);
    }
    this._emit("people");
  }
}
