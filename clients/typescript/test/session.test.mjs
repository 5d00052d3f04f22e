// The client's session handling against the real server at FLOWHUB_URL: one renewal for many
// calls that find the access token expired (a second spend of the refresh token would revoke
// the session), the rotated refresh token stored, errors typed, no renewal for a wrong password.
import assert from "node:assert/strict";
import { test } from "node:test";

import { connectRealtime, createFlowHub, FlowHubError, memoryStore } from "../build/src/index.js";
import { signUp } from "../build/examples/flows.js";

const BASE = process.env.FLOWHUB_URL;

// Counts the paths fetched; with `together`, holds the first `together` answers of
// GET /users/me until all have arrived, so the client handles their 401s at the same moment.
function counting(together = 0) {
  const seen = [];
  const held = [];
  const fetchImpl = async (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const path = new URL(url).pathname;
    seen.push(path);
    const response = await fetch(input, init);
    if (path === "/api/v1/users/me" && held.length < together) {
      await new Promise((release) => {
        held.push(release);
        if (held.length === together) held.forEach((r) => r());
      });
    }
    return response;
  };
  return { seen, fetchImpl };
}

test("concurrent calls with an expired token share one renewal, then succeed", async () => {
  const first = await signUp(BASE, `single-${Date.now()}@example.com`, "Single");
  const session = await first.session();
  const { seen, fetchImpl } = counting(6);
  const store = memoryStore({ ...session, accessToken: "expired.or.tampered" });
  const hub = createFlowHub({ baseUrl: BASE, store, fetch: fetchImpl });
  const answers = await Promise.all(
    Array.from({ length: 6 }, () => hub.call(hub.api.GET("/api/v1/users/me"))),
  );
  assert.deepEqual(new Set(answers.map((u) => u.id)), new Set([session.user.id]));
  assert.equal(seen.filter((p) => p === "/api/v1/auth/refresh").length, 1);
  const renewed = await store.load();
  assert.notEqual(renewed.refreshToken, session.refreshToken); // rotated, and kept
  assert.notEqual(renewed.accessToken, "expired.or.tampered");
  // the renewed session still works: it was not revoked by a second spend
  await hub.refresh();
  assert.equal((await hub.call(hub.api.GET("/api/v1/users/me"))).id, session.user.id);
});

test("a wrong password is a typed error and triggers no renewal", async () => {
  const { seen, fetchImpl } = counting();
  const hub = createFlowHub({ baseUrl: BASE, fetch: fetchImpl });
  await assert.rejects(
    hub.call(hub.api.POST("/api/v1/auth/login", { body: { email: "nobody@example.com", password: "not the one!" } })),
    (error) => {
      assert.ok(error instanceof FlowHubError);
      assert.equal(error.status, 401);
      assert.equal(error.code, "invalid_credentials");
      assert.ok(error.requestId);
      return true;
    },
  );
  const invalid = await hub.api.POST("/api/v1/auth/signup", { body: { email: "x", password: "short", name: "" } });
  const error = FlowHubError.of(invalid.response, invalid.error);
  assert.equal(error.code, "validation_error");
  assert.ok(error.details.length >= 1 && error.details.every((d) => typeof d.field === "string"));
  assert.equal(seen.filter((p) => p === "/api/v1/auth/refresh").length, 0);
});

test("a spent session ends: the store is cleared and onSessionEnd is told", async () => {
  const hub = await signUp(BASE, `ended-${Date.now()}@example.com`, "Ended");
  const session = await hub.session();
  const ended = [];
  const stale = createFlowHub({
    baseUrl: BASE,
    store: memoryStore({ ...session, accessToken: "stale" }),
    onSessionEnd: (error) => ended.push(error.code),
  });
  await hub.call(hub.api.POST("/api/v1/auth/logout-all"));
  await assert.rejects(stale.call(stale.api.GET("/api/v1/users/me")), (e) => e.code === "unauthorized");
  assert.deepEqual(ended, ["unauthorized"]);
  assert.equal(await stale.store.load(), null);
});

test("a socket whose token was refused renews it and connects", async () => {
  const hub = await signUp(BASE, `socket-${Date.now()}@example.com`, "Socket");
  const session = await hub.session();
  const stale = createFlowHub({ baseUrl: BASE, store: memoryStore({ ...session, accessToken: "stale" }) });
  const realtime = connectRealtime(stale, { transports: ["websocket"] });
  await realtime.connect();
  assert.equal(realtime.socket.connected, true);
  const ack = await realtime.emit("room:join", { room_id: "not-a-room" });
  assert.equal(ack.ok, false);
  assert.equal(ack.error.code, "not_found");
  realtime.disconnect();
});

const until = async (check, withinMs = 5000) => {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > withinMs) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
};

test("a connected socket renews its token in place a minute before it expires", async () => {
  const hub = await signUp(BASE, `renew-${Date.now()}@example.com`, "Renew");
  const session = await hub.session();
  // as if the token had two seconds left: the renewal is due at half of that
  const store = memoryStore({ ...session, expiresAt: Date.now() + 2_000 });
  const soon = createFlowHub({ baseUrl: BASE, store });
  const realtime = connectRealtime(soon, { transports: ["websocket"] });
  const sent = [];
  realtime.socket.onAnyOutgoing((event, payload) => sent.push([event, payload]));
  await realtime.connect();
  await until(() => sent.some(([event]) => event === "auth:renew"), 4000);
  const renewed = await store.load();
  assert.notEqual(renewed.accessToken, session.accessToken); // renewed over HTTP first
  assert.deepEqual(sent.find(([event]) => event === "auth:renew")[1], { token: renewed.accessToken });
  await new Promise((r) => setTimeout(r, 200)); // its ack
  assert.equal(realtime.socket.connected, true); // no reconnect
  const ack = await realtime.emit("room:join", { room_id: "not-a-room" });
  assert.equal(ack.error.code, "not_found");
  realtime.disconnect();
});

test("a socket whose session is signed out is told, disconnected, and stays closed", async () => {
  const hub = await signUp(BASE, `revoked-${Date.now()}@example.com`, "Revoked");
  const realtime = connectRealtime(hub, { transports: ["websocket"] });
  const ended = [];
  realtime.on("session:ended", (payload) => ended.push(payload.reason));
  await realtime.connect();
  await hub.signOut();
  await until(() => !realtime.socket.connected);
  assert.deepEqual(ended, ["revoked"]);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(realtime.socket.connected, false); // no reconnect with a dead session
});
