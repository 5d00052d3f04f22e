import { io, type Socket } from "socket.io-client";

import type { FlowHub, Message } from "./client.js";
import { FlowHubError } from "./errors.js";
import type { ClientEvents, ServerEvents } from "./generated/realtime.js";

export type { ClientEvents, ServerEvents };
export type ClientEvent = keyof ClientEvents;
export type ServerEvent = keyof ServerEvents;

export interface RealtimeOptions {
  /** The Socket.IO server's origin; the API's by default. */
  url?: string;
  /** How long an ack may take, in ms (default 10 s). */
  ackTimeoutMs?: number;
  /** Transports, as socket.io-client takes them (websocket first, polling as a fallback). */
  transports?: ("websocket" | "polling" | "webtransport")[];
}

type Listener<E extends ServerEvent> = (payload: ServerEvents[E]) => void;
type MessageListener = (message: Message) => void;

const PAGE = 100;
// renew the socket's token this long before it expires (a minute of margin for slow networks;
// a token living less than two minutes is renewed at half its remaining life)
const RENEW_BEFORE_MS = 60_000;
const MIN_RENEWAL_GAP_MS = 500;

/** socket.io-client with FlowHub's events typed (generated from /asyncapi.json), the access
 * token sent on every (re)connect and renewed when the server refuses it, the connected
 * socket's token renewed in place (`auth:renew`) a minute before it expires, and catch-up
 * after a reconnect: for every room it saw a message of, what came after the last one is
 * fetched over HTTP and delivered as `message:new`, in `seq` order and never twice. A socket
 * the server ends (`session:ended`) reconnects with a renewed token when it had merely
 * `expired`; a `revoked` one stays closed (the session was signed out). */
export class Realtime {
  readonly socket: Socket;
  private readonly hub: FlowHub;
  private readonly ackTimeoutMs: number;
  // `message:new` goes through deliver() (seq order, no duplicates); every other event
  // reaches its listeners straight from the socket.
  private readonly messageListeners = new Set<MessageListener>();
  private readonly lastSeq = new Map<string, number>();
  private connectedOnce = false;
  private caughtUp: Promise<void> = Promise.resolve();
  private renewedForThisAttempt = false;
  private renewal: ReturnType<typeof setTimeout> | undefined;
  private ended: "expired" | "revoked" | null = null;

  constructor(hub: FlowHub, options: RealtimeOptions = {}) {
    this.hub = hub;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    this.socket = io(options.url ?? hub.origin, {
      autoConnect: false,
      transports: options.transports ?? ["websocket", "polling"],
      auth: (send) => {
        void hub.accessToken().then((token) => send({ token: token ?? "" }));
      },
    });
    this.socket.on("message:new", (message: Message) => this.deliver(message));
    this.socket.on("connect", () => {
      this.renewedForThisAttempt = false;
      this.ended = null;
      void this.scheduleRenewal();
      if (this.connectedOnce) this.caughtUp = this.catchUp();
      this.connectedOnce = true;
    });
    this.socket.on("session:ended", ({ reason }: ServerEvents["session:ended"]) => {
      this.ended = reason;
    });
    this.socket.on("disconnect", (reason: string) => {
      clearTimeout(this.renewal);
      // the server ended it: socket.io-client does not reconnect by itself
      if (reason === "io server disconnect" && this.ended === "expired") {
        hub.refresh().then(
          () => this.socket.connect(),
          () => undefined,
        );
      }
    });
    this.socket.on("connect_error", (error: Error) => {
      // A refused token is not retried by socket.io-client: renew it once, then reconnect.
      if (error.message === "unauthorized" && !this.renewedForThisAttempt) {
        this.renewedForThisAttempt = true;
        hub.refresh().then(
          () => this.socket.connect(),
          () => undefined,
        );
      }
    });
  }

  /** Connect; resolves once connected, rejects when the server refuses for good. */
  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const connected = (): void => {
        this.socket.off("connect_error", refused);
        resolve();
      };
      const refused = (error: Error): void => {
        if (error.message === "unauthorized" && this.renewedForThisAttempt) return; // renewing
        if (this.socket.active) return; // socket.io-client retries by itself
        this.socket.off("connect", connected);
        reject(new FlowHubError(401, "unauthorized", error.message));
      };
      this.socket.once("connect", connected);
      this.socket.on("connect_error", refused);
      this.socket.connect();
    });
  }

  disconnect(): void {
    clearTimeout(this.renewal);
    this.socket.disconnect();
  }

  /** Listen to a server event; returns the function that stops listening. */
  on<E extends ServerEvent>(event: E, listener: Listener<E>): () => void {
    if (event === "message:new") {
      const onMessage = listener as MessageListener;
      this.messageListeners.add(onMessage);
      return () => this.messageListeners.delete(onMessage);
    }
    const untyped = listener as (payload: unknown) => void;
    this.socket.on(event as string, untyped);
    return () => this.socket.off(event as string, untyped);
  }

  get connected(): boolean {
    return this.socket.connected;
  }

  /** Emit a client event and wait for its ack (`{ok: true, ...}` or `{ok: false, error}`). */
  async emit<E extends ClientEvent>(
    event: E,
    payload: ClientEvents[E]["payload"],
  ): Promise<ClientEvents[E]["ack"]> {
    return (await this.socket
      .timeout(this.ackTimeoutMs)
      .emitWithAck(event, payload)) as ClientEvents[E]["ack"];
  }

  /** Start catch-up for a room from a known point (the last `seq` of the history shown; 0
   * for a room with no message yet). */
  follow(roomId: string, lastSeq: number): void {
    const known = this.lastSeq.get(roomId);
    if (known === undefined || lastSeq > known) this.lastSeq.set(roomId, lastSeq);
  }

  /** Settles when the catch-up the latest reconnect started is over (at once when none runs):
   * by then every missed message of a followed room has been delivered. Never rejects. */
  whenCaughtUp(): Promise<void> {
    return this.caughtUp;
  }

  private async scheduleRenewal(): Promise<void> {
    clearTimeout(this.renewal);
    const session = await this.hub.session();
    if (session === null || !this.socket.connected) return;
    const left = session.expiresAt - Date.now();
    // an expiry the store does not know (0) or that has passed: the server ends the socket
    // at its token's expiry and the reconnect renews it; never a renewal loop
    if (left <= 0) return;
    // a minute before the expiry, or at half of what is left for a short-lived token
    const wait = Math.max(left - RENEW_BEFORE_MS, left / 2, MIN_RENEWAL_GAP_MS);
    this.renewal = setTimeout(() => void this.renew(), wait);
  }

  /** Send the socket a fresh access token (the stored one when another call renewed it
   * already, else a renewal), then plan the next. A failure leaves the socket to expire:
   * the server then ends it and it reconnects. */
  private async renew(): Promise<void> {
    try {
      let session = await this.hub.session();
      if (session === null) return;
      if (session.expiresAt - Date.now() <= RENEW_BEFORE_MS) session = await this.hub.refresh();
      const ack = await this.emit("auth:renew", { token: session.accessToken });
      if (ack.ok) await this.scheduleRenewal();
    } catch {
      // expiry ends the socket; the reconnect renews the token
    }
  }

  private deliver(message: Message): void {
    const last = this.lastSeq.get(message.room_id) ?? 0;
    if (message.seq <= last) return; // caught up already, or a duplicate
    this.lastSeq.set(message.room_id, message.seq);
    for (const listener of this.messageListeners) listener(message);
  }

  private async catchUp(): Promise<void> {
    for (const [roomId, after] of [...this.lastSeq]) {
      let from = after;
      for (;;) {
        const page = await this.hub
          .call(
            this.hub.api.GET("/api/v1/chat/rooms/{room_id}/messages", {
              params: { path: { room_id: roomId }, query: { after: from, limit: PAGE } },
            }),
          )
          .catch(() => null);
        if (page === null || page.items.length === 0) break;
        for (const message of page.items) this.deliver(message);
        from = page.items[page.items.length - 1]?.seq ?? from;
        if (page.items.length < PAGE) break;
      }
    }
  }
}

export function connectRealtime(hub: FlowHub, options?: RealtimeOptions): Realtime {
  return new Realtime(hub, options);
}
