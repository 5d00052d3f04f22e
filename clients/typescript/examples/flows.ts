// A front end's every flow with @flowhub/client, as a Next.js page or server action would run
// them (the same calls, without the React around them): sign up, verify, log in with a
// password and with an email code, reset the password, files both ways, rooms, chat with
// typing and presence, reconnect with catch-up. It calls every operation of /openapi.json and
// every Socket.IO event, so `tsc --noEmit` (strict) on it checks the generated types cover
// what an app needs. test/flows.test.mjs runs it against a real server.
import {
  connectRealtime,
  createFlowHub,
  type FlowHub,
  FlowHubError,
  type LoginAnswer,
  type Message,
  memoryStore,
  type Realtime,
  type TokenPair,
} from "../src/index.js";

const PASSWORD = "correct horse battery";

export interface FlowReport {
  steps: string[];
}

async function latestCode(hub: FlowHub, email: string, after = 0): Promise<string> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const box = await hub.call(
      hub.api.GET("/api/v1/dev/mailbox", { params: { query: { to: email } } }),
    );
    if (box.messages.length > after) {
      const found = /\b\d{6}\b/.exec(box.messages[0]?.text ?? "");
      if (found) return found[0];
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no code mailed to ${email}`);
}

async function mailCount(hub: FlowHub, email: string): Promise<number> {
  const box = await hub.call(hub.api.GET("/api/v1/dev/mailbox", { params: { query: { to: email } } }));
  return box.messages.length;
}

/** A sign-in's TokenPair. A user with a second factor gets an MfaChallenge instead
 * (`token_type: "mfa"`), completed with `POST /api/v1/auth/mfa` `{challenge, code}`; nobody here
 * has one. */
function tokens(answer: LoginAnswer): TokenPair {
  if (answer.token_type === "mfa") throw new Error("a second factor was asked for");
  return answer;
}

/** Sign up and verify: the new person is signed in. */
export async function signUp(baseUrl: string, email: string, name: string): Promise<FlowHub> {
  const hub = createFlowHub({ baseUrl, store: memoryStore() });
  const accepted = await hub.call(
    hub.api.POST("/api/v1/auth/signup", { body: { email, password: PASSWORD, name } }),
  );
  if (accepted.status !== "verification_sent") throw new Error("signup not accepted");
  const code = await latestCode(hub, email);
  await hub.signIn(
    tokens(await hub.call(hub.api.POST("/api/v1/auth/verify-email", { body: { email, code } }))),
  );
  return hub;
}

function waitFor<T>(what: string, check: () => T | undefined, withinMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = (): void => {
      const found = check();
      if (found !== undefined) resolve(found);
      else if (Date.now() - started > withinMs) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(poll, 20);
    };
    poll();
  });
}

export async function everyFlow(baseUrl: string, tag: string): Promise<FlowReport> {
  const steps: string[] = [];
  const adaEmail = `ada-${tag}@example.com`;
  const bobEmail = `bob-${tag}@example.com`;

  const health = createFlowHub({ baseUrl });
  const status = await health.call(health.api.GET("/health", { params: { query: {} } }));
  // a form checks what the server enforces before sending
  const limits = await health.call(health.api.GET("/api/v1/config"));
  if (PASSWORD.length < limits.passwords.min_length) throw new Error("the example's password is too short");
  steps.push(`health ${status.status}, uploads up to ${limits.uploads.max_bytes} B`);

  // sign up, verify (signed in), profile
  const ada = await signUp(baseUrl, adaEmail, "Ada");
  const me = await ada.call(ada.api.GET("/api/v1/users/me"));
  const renamed = await ada.call(ada.api.PATCH("/api/v1/users/me", { body: { name: "Ada L." } }));
  steps.push(`signed up ${me.email}, renamed ${renamed.name}`);

  // password login; a wrong password is a typed error
  const again = createFlowHub({ baseUrl });
  try {
    await again.call(again.api.POST("/api/v1/auth/login", { body: { email: adaEmail, password: "wrong password!" } }));
    throw new Error("a wrong password signed in");
  } catch (error) {
    if (!(error instanceof FlowHubError) || error.code !== "invalid_credentials") throw error;
    steps.push(`wrong password: ${error.status} ${error.code}`);
  }
  await again.signIn(
    tokens(await again.call(again.api.POST("/api/v1/auth/login", { body: { email: adaEmail, password: PASSWORD } }))),
  );
  steps.push("password login");

  // passwordless login with an email code
  const byCode = createFlowHub({ baseUrl });
  const before = await mailCount(byCode, adaEmail);
  await byCode.call(byCode.api.POST("/api/v1/auth/otp/request", { body: { email: adaEmail, purpose: "login" } }));
  const loginCode = await latestCode(byCode, adaEmail, before);
  const grant = await byCode.call(
    byCode.api.POST("/api/v1/auth/otp/verify", { body: { email: adaEmail, purpose: "login", code: loginCode } }),
  );
  if (grant.token_type !== "bearer") throw new Error("a login code gave no TokenPair");
  await byCode.signIn(grant); // narrowed to TokenPair by the discriminator
  steps.push("code login");

  // renewal and sign-out of one session, then of all
  await byCode.refresh();
  await byCode.signOut();
  await again.call(again.api.POST("/api/v1/auth/logout-all"));
  steps.push("refresh, logout, logout-all");

  // password reset by code
  const reset = createFlowHub({ baseUrl });
  const sent = await mailCount(reset, adaEmail);
  await reset.call(reset.api.POST("/api/v1/auth/otp/request", { body: { email: adaEmail, purpose: "password_reset" } }));
  const resetCode = await latestCode(reset, adaEmail, sent);
  const resetGrant = await reset.call(
    reset.api.POST("/api/v1/auth/otp/verify", { body: { email: adaEmail, purpose: "password_reset", code: resetCode } }),
  );
  if (resetGrant.token_type !== "reset") throw new Error("a reset code gave no ResetGrant");
  await reset.call(
    reset.api.POST("/api/v1/auth/password/reset", {
      body: { reset_token: resetGrant.reset_token, new_password: `${PASSWORD}!` },
    }),
  );
  // the reset (as the logout-all before it) ended every session of Ada's, access tokens and
  // sockets included: she signs in again with the new password
  await ada.signIn(
    tokens(await ada.call(ada.api.POST("/api/v1/auth/login", { body: { email: adaEmail, password: `${PASSWORD}!` } }))),
  );
  steps.push("password reset");

  // files, both ways
  const text = new Blob(["hello from the client\n"], { type: "text/plain" });
  const uploaded = await ada.uploadFile(text, "hello.txt");
  const direct = await ada.directUpload(new Blob(["direct bytes\n"], { type: "text/plain" }), "direct.txt");
  const listed = await ada.call(ada.api.GET("/api/v1/files", { params: { query: { limit: 10 } } }));
  const one = await ada.call(
    ada.api.GET("/api/v1/files/{file_id}", { params: { path: { file_id: uploaded.id } } }),
  );
  if (one.download_url === undefined) throw new Error("a ready file has no download_url");
  const downloaded = await fetch(new URL(one.download_url, baseUrl));
  if ((await downloaded.text()) !== "hello from the client\n") throw new Error("other bytes came back");
  const redirect = await ada.api.GET("/api/v1/files/{file_id}/download", {
    params: { path: { file_id: direct.id } },
    parseAs: "stream",
    redirect: "manual",
  });
  await ada.call(ada.api.DELETE("/api/v1/files/{file_id}", { params: { path: { file_id: direct.id } } }));
  steps.push(`files: ${uploaded.status} ${direct.status}, ${listed.items.length} listed, download ${redirect.response.status}`);

  // rooms and chat over HTTP
  const bob = await signUp(baseUrl, bobEmail, "Bob");
  const bobId = (await bob.session())?.user.id ?? "";
  const room = await ada.call(ada.api.POST("/api/v1/chat/rooms", { body: { name: `Room ${tag}` } }));

  // realtime: Bob connects, is added, sees Ada online, her typing and her messages
  const bobs: Realtime = connectRealtime(bob);
  const received: Message[] = [];
  const typing: boolean[] = [];
  const online: string[] = [];
  bobs.on("message:new", (message) => received.push(message));
  bobs.on("typing", (event) => typing.push(event.is_typing));
  bobs.on("presence", (event) => online.push(`${event.user_id}:${event.status}`));
  let added = "";
  let invited = "";
  bobs.on("room:added", (event) => {
    added = event.id;
  });
  bobs.on("room:invited", (event) => {
    invited = event.id;
  });
  await bobs.connect();
  // an invitation: Bob is in the room once he accepts it
  await ada.call(
    ada.api.POST("/api/v1/chat/rooms/{room_id}/members", {
      params: { path: { room_id: room.id } },
      body: { user_id: bobId },
    }),
  );
  await waitFor("room:invited", () => (invited === room.id ? true : undefined));
  const waiting = await bob.call(bob.api.GET("/api/v1/chat/invitations"));
  if (!waiting.items.some((r) => r.id === room.id)) throw new Error("no invitation listed");
  await bob.call(bob.api.POST("/api/v1/chat/rooms/{room_id}/accept", { params: { path: { room_id: room.id } } }));
  await waitFor("room:added", () => (added === room.id ? true : undefined));
  const joined = await bobs.emit("room:join", { room_id: room.id });
  if (!joined.ok) throw new Error(joined.error.message);
  const adas = connectRealtime(ada);
  await adas.connect();
  await waitFor("presence", () => online.find((p) => p.endsWith(":online")));
  const isTyping = await adas.emit("typing", { room_id: room.id, is_typing: true });
  if (!isTyping.ok) throw new Error(isTyping.error.message);
  await waitFor("typing", () => (typing.includes(true) ? true : undefined));
  const ack = await adas.emit("message:send", { room_id: room.id, body: "hi Bob", client_id: `c-${tag}` });
  if (!ack.ok) throw new Error(ack.error.message);
  await waitFor("message:new", () => received.find((m) => m.id === ack.message.id));
  const presence = await bob.call(
    bob.api.GET("/api/v1/presence", { params: { query: { user_ids: (await ada.session())?.user.id ?? "" } } }),
  );
  const rooms = await bob.call(bob.api.GET("/api/v1/chat/rooms"));
  steps.push(`chat: ${rooms.items.length} room, presence ${Object.values(presence).join(",")}`);

  // reconnect with catch-up: what Ada sends while Bob is away arrives once he is back
  bobs.disconnect();
  const whileAway = await ada.call(
    ada.api.POST("/api/v1/chat/rooms/{room_id}/messages", {
      params: { path: { room_id: room.id } },
      body: { body: "while you were away" },
    }),
  );
  await bobs.connect();
  await waitFor("catch-up", () => received.find((m) => m.id === whileAway.id));
  const history = await bob.call(
    bob.api.GET("/api/v1/chat/rooms/{room_id}/messages", {
      params: { path: { room_id: room.id }, query: { limit: 50 } },
    }),
  );
  const seqs = received.map((m) => m.seq);
  steps.push(`catch-up: received seq ${seqs.join(",")}, history ${history.items.length}`);
  adas.disconnect();
  bobs.disconnect();
  return { steps };
}
