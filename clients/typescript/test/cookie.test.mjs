// The cookie transport (README "Cookies for server rendering") against the real server at
// FLOWHUB_URL (development over http on 127.0.0.1: cookies without Secure and prefix). The
// fetch below is the browser: it keeps the cookies, sends them back on their path, and sends
// the page's Origin. The client never sees the refresh token, and still renews.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createFlowHub, memoryStore } from "../build/src/index.js";
import { signUp } from "../build/examples/flows.js";

const BASE = process.env.FLOWHUB_URL;
const PAGE = process.env.FLOWHUB_FRONT_ORIGIN ?? "http://127.0.0.1:3000";
const PASSWORD = "correct horse battery";

function browser(origin = PAGE) {
  const jar = new Map(); // name -> {value, path}
  const sent = [];
  const fetchImpl = async (input, init) => {
    const request = new Request(input, init);
    const path = new URL(request.url).pathname;
    const headers = new Headers(request.headers);
    headers.set("Origin", origin);
    const cookies = [...jar].filter(([, c]) => path.startsWith(c.path)).map(([n, c]) => `${n}=${c.value}`);
    if (cookies.length && request.credentials === "include") headers.set("Cookie", cookies.join("; "));
    sent.push({ path, headers, body: request.body ? await request.clone().text() : "" });
    const response = await fetch(new Request(request, { headers }));
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(";").map((s) => s.trim());
      const [name, ...value] = pair.split("=");
      const cookiePath = attributes.find((a) => a.toLowerCase().startsWith("path="))?.slice(5) ?? "/";
      if (attributes.some((a) => a.toLowerCase() === "max-age=0")) jar.delete(name);
      else jar.set(name, { value: value.join("="), path: cookiePath, line });
    }
    return response;
  };
  return { jar, sent, fetchImpl };
}

test("cookie transport: signs in, renews and signs out without ever holding the refresh token", async () => {
  const email = `cookie-${Date.now()}@example.com`;
  await signUp(BASE, email, "Cookie");
  const { jar, sent, fetchImpl } = browser();
  const store = memoryStore();
  const hub = createFlowHub({ baseUrl: BASE, store, fetch: fetchImpl, tokenTransport: "cookie" });
  const pair = await hub.call(hub.api.POST("/api/v1/auth/login", { body: { email, password: PASSWORD } }));
  assert.equal(pair.token_type, "bearer");
  assert.equal(pair.refresh_token, undefined);
  const session = await hub.signIn(pair);
  assert.equal(session.refreshToken, "");
  const cookie = jar.get("flowhub-refresh");
  assert.ok(cookie, "the refresh cookie is set");
  assert.match(cookie.line, /HttpOnly/);
  assert.equal(cookie.path, "/api/v1/auth");
  assert.equal(sent.at(-1).headers.get("X-FlowHub-Token-Transport"), "cookie");

  const renewed = await hub.refresh();
  assert.notEqual(renewed.accessToken, session.accessToken);
  const refreshCall = sent.at(-1);
  assert.equal(refreshCall.path, "/api/v1/auth/refresh");
  assert.equal(refreshCall.body, "{}"); // nothing in the body: the cookie carried it
  assert.equal(refreshCall.headers.get("X-CSRF-Token"), session.csrfToken);
  assert.notEqual(jar.get("flowhub-refresh").value, cookie.value); // rotated in the cookie
  assert.equal((await store.load()).refreshToken, "");
  assert.equal((await hub.call(hub.api.GET("/api/v1/users/me"))).email, email);

  // a reload with nothing kept: without the CSRF token the cookie alone is refused; with the
  // readable CSRF cookie (document.cookie in a browser; handed over here) it renews
  const bare = createFlowHub({ baseUrl: BASE, fetch: fetchImpl, tokenTransport: "cookie" });
  await assert.rejects(bare.refresh(), (error) => error.code === "csrf_rejected");
  const reloaded = createFlowHub({
    baseUrl: BASE,
    fetch: fetchImpl,
    tokenTransport: "cookie",
    store: memoryStore({ accessToken: "", refreshToken: "", csrfToken: jar.get("flowhub-csrf").value, expiresAt: 0, user: session.user }),
  });
  assert.equal((await reloaded.refresh()).user.email, email);
  await reloaded.signOut();
  assert.equal(jar.has("flowhub-refresh"), false, "logout clears the cookie");
  await assert.rejects(hub.refresh());
});

test("cookie transport: a page of another origin cannot renew with the cookie", async () => {
  const email = `cookie-x-${Date.now()}@example.com`;
  await signUp(BASE, email, "Cookie");
  const page = browser();
  const hub = createFlowHub({ baseUrl: BASE, fetch: page.fetchImpl, tokenTransport: "cookie" });
  await hub.signIn(await hub.call(hub.api.POST("/api/v1/auth/login", { body: { email, password: PASSWORD } })));
  const token = (await hub.session()).csrfToken;
  // the attacker's page: the browser attaches the same cookie, but the Origin is its own
  const evil = browser("http://evil.example");
  evil.jar.set("flowhub-refresh", page.jar.get("flowhub-refresh"));
  const attacker = createFlowHub({
    baseUrl: BASE,
    fetch: evil.fetchImpl,
    tokenTransport: "cookie",
    store: memoryStore({ accessToken: "", refreshToken: "", csrfToken: token, expiresAt: 0, user: (await hub.session()).user }),
  });
  await assert.rejects(attacker.refresh(), (error) => {
    assert.equal(error.status, 403);
    assert.equal(error.code, "csrf_rejected");
    return true;
  });
  // untouched: the real page still renews
  assert.equal((await hub.refresh()).user.email, email);
});
