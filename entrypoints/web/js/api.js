// The HTTP side of FlowHub's API (/api/v1), on @flowhub/client (clients/typescript, bundled
// into ../vendor/flowhub-client.js): the page is the package's first user. The package sends
// the bearer token, renews it once on a 401 (one renewal at a time, whoever asks) and repeats
// the call; this module keeps the page's session in localStorage, tells the page when it
// changes, and words errors for people.
import { createFlowHub, FlowHubError } from "../vendor/flowhub-client.js";

const BASE = "/api/v1";
const STORAGE_KEY = "flowhub.session";

export class ApiError extends Error {
  constructor(status, code, message, details = [], requestId = null, retryAfter = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
    this.requestId = requestId;
    this.retryAfter = retryAfter;
  }

  // A sentence a person can act on.
  get readable() {
    if (this.code === "network_error") return this.message;
    if (this.code === "too_many_requests") {
      const wait = this.retryAfter ? ` Try again in ${this.retryAfter} s.` : " Try again in a moment.";
      return `Too many attempts.${wait}`;
    }
    let text = this.message || `The server answered ${this.status}.`;
    if (this.details && this.details.length) {
      const parts = this.details.map((d) => (d.field ? `${fieldLabel(d.field)}: ${d.message}` : d.message));
      text += ` ${parts.join("; ")}.`;
    }
    return text;
  }
}

function fieldLabel(field) {
  const name = String(field).split(".").pop().replaceAll("_", " ");
  return name.charAt(0).toUpperCase() + name.slice(1);
}

async function errorFrom(response) {
  return fromClient(await FlowHubError.from(response));
}

// The package's error, as the page words it.
function fromClient(error) {
  if (error.code === "network_error") return networkError();
  const unexpected = error.code === "unexpected_response";
  return new ApiError(
    error.status,
    unexpected ? `http_${error.status}` : error.code,
    unexpected ? `The server answered ${error.status} ${error.message}.` : error.message,
    error.details,
    error.requestId ?? null,
    error.retryAfterS === undefined ? null : String(error.retryAfterS),
  );
}

// A part PUT the storage refused: S3's XML error (<Code>, <Message>) or the contract's JSON.
async function storageError(response) {
  const text = await response.text().catch(() => "");
  const tag = (name) => {
    const found = new RegExp(`<${name}>([^<]{0,300})</${name}>`).exec(text);
    return found ? found[1].trim() : "";
  };
  let code = tag("Code");
  let message = tag("Message");
  if (!code) {
    try {
      const body = JSON.parse(text);
      code = String(body.error.code);
      message = String(body.error.message);
    } catch {
      code = ""; // an empty answer (S3 sends one to a refused PUT now and then)
    }
  }
  let said = `HTTP ${response.status}`;
  if (code) said += ` ${code}`;
  if (message) said += `: ${message}`;
  return new ApiError(response.status, code || `http_${response.status}`, `Storage refused a part (${said}).`);
}

function networkError() {
  return new ApiError(0, "network_error", "Cannot reach the server. Are you offline?");
}

export class Api extends EventTarget {
  constructor() {
    super();
    this.session = null; // {access_token, refresh_token, user, renewed_at}
    this._endedAt = 0; // counts the sessions ended by a refused renewal
    this._farewell = null; // the sentence of a sign-out under way (the account's deletion)
    try {
      this.session = JSON.parse(localStorage.getItem(STORAGE_KEY) || "null");
    } catch {
      this.session = null;
    }
    // The package reads the session from here and stores each renewal here.
    const store = {
      load: () =>
        this.session && {
          accessToken: this.session.access_token,
          refreshToken: this.session.refresh_token,
          expiresAt: this.session.expires_at ?? 0, // 0: unknown (a session stored before)
          user: this.session.user,
        },
      save: (renewed) => {
        if (renewed !== null) {
          this._store(
            {
              access_token: renewed.accessToken,
              refresh_token: renewed.refreshToken,
              user: renewed.user,
              expires_at: renewed.expiresAt,
            },
            true,
          );
        }
      },
    };
    this.hub = createFlowHub({
      baseUrl: window.location.origin,
      store,
      onSessionEnd: () => {
        // refused (revoked, reused, expired): the session is over. A network error or a
        // 429/5xx leaves it be: the next call tries again.
        this._endedAt += 1;
        this._forget(this._farewell || "Your session has ended. Please log in again.");
      },
    });
  }

  get signedIn() {
    return Boolean(this.session && this.session.access_token);
  }

  get accessToken() {
    return this.session ? this.session.access_token : null;
  }

  get user() {
    return this.session ? this.session.user : null;
  }

  _store(pair, renewed = false) {
    this.session = {
      access_token: pair.access_token,
      refresh_token: pair.refresh_token,
      user: pair.user,
      // when the access token expires (ms since the epoch): the socket renews it before then
      expires_at: pair.expires_at ?? Date.now() + pair.expires_in * 1000,
      renewed_at: renewed ? new Date().toISOString() : null,
    };
    localStorage.setItem(STORAGE_KEY, JSON.stringify(this.session));
    this.dispatchEvent(new CustomEvent(renewed ? "renewed" : "signedin", { detail: this.session }));
  }

  _forget(reason) {
    const had = this.session !== null;
    this.session = null;
    localStorage.removeItem(STORAGE_KEY);
    if (had) this.dispatchEvent(new CustomEvent("signedout", { detail: { reason } }));
  }

  // One call through the package. `auth`: the route needs the access token. `json` may be a
  // function, to build the body at send time.
  async request(method, path, { json, form, auth = false, query } = {}) {
    if (auth && !this.signedIn) throw new ApiError(401, "unauthorized", "Please log in first.");
    const init = { cache: "no-store", headers: { Accept: "application/json" }, params: {} };
    const wanted = Object.entries(query || {}).filter(([, v]) => v !== undefined && v !== null);
    if (wanted.length) init.params.query = Object.fromEntries(wanted);
    if (json !== undefined) init.body = typeof json === "function" ? json() : json;
    if (form !== undefined) {
      init.body = {};
      init.bodySerializer = () => form; // the browser sets the multipart boundary
    }
    const ended = this._endedAt;
    let answer;
    try {
      answer = await this.hub.api[method](BASE + path, init);
    } catch {
      throw networkError();
    }
    const { data, error, response } = answer;
    if (error !== undefined || !response.ok) {
      const failure = fromClient(FlowHubError.of(response, error));
      if (this._endedAt !== ended) failure.sessionEnded = true; // said once, by "signedout"
      throw failure;
    }
    return response.status === 204 ? null : (data ?? null);
  }

  // Renew the access token with the refresh token (rotation: the new refresh token replaces
  // the spent one). Concurrent callers share the one renewal in flight (the package's).
  async refresh() {
    if (!this.signedIn) throw new ApiError(401, "unauthorized", "Please log in again.");
    const ended = this._endedAt;
    try {
      await this.hub.refresh();
    } catch (error) {
      const failure = error instanceof FlowHubError ? fromClient(error) : networkError();
      if (this._endedAt !== ended) failure.sessionEnded = true;
      throw failure;
    }
    return this.session;
  }

  // --- auth -------------------------------------------------------------------------------
  signup(email, password, name) {
    return this.request("POST", "/auth/signup", { json: { email, password, name } });
  }

  // A sign-in answers a TokenPair (stored: signed in, returns null) or, for a user with a
  // second factor, an MfaChallenge (returned: `completeMfa` finishes it with a code).
  _signedIn(answer) {
    if (answer && answer.token_type === "mfa") return answer;
    this._store(answer);
    return null;
  }

  async verifyEmail(email, code) {
    return this._signedIn(await this.request("POST", "/auth/verify-email", { json: { email, code } }));
  }

  async login(email, password) {
    return this._signedIn(await this.request("POST", "/auth/login", { json: { email, password } }));
  }

  async completeMfa(challenge, code) {
    this._store(await this.request("POST", "/auth/mfa", { json: { challenge, code } }));
  }

  totpStatus() {
    return this.request("GET", "/auth/mfa/totp", { auth: true });
  }

  startTotp() {
    return this.request("POST", "/auth/mfa/totp", { auth: true });
  }

  confirmTotp(code) {
    return this.request("POST", "/auth/mfa/totp/confirm", { auth: true, json: { code } });
  }

  // `proof`: {code} (TOTP or recovery) or {password}
  disableTotp(proof) {
    return this.request("DELETE", "/auth/mfa/totp", { auth: true, json: proof });
  }

  requestCode(email, purpose) {
    return this.request("POST", "/auth/otp/request", { json: { email, purpose } });
  }

  async loginWithCode(email, code) {
    return this._signedIn(await this.request("POST", "/auth/otp/verify", { json: { email, purpose: "login", code } }));
  }

  async resetGrant(email, code) {
    const grant = await this.request("POST", "/auth/otp/verify", {
      json: { email, purpose: "password_reset", code },
    });
    return grant.reset_token;
  }

  resetPassword(resetToken, newPassword) {
    return this.request("POST", "/auth/password/reset", {
      json: { reset_token: resetToken, new_password: newPassword },
    });
  }

  async logout() {
    try {
      if (this.signedIn) {
        // the body is read at send time: a renewal on the way rotates the refresh token
        const json = () => ({ refresh_token: this.session.refresh_token });
        await this.request("POST", "/auth/logout", { json, auth: true });
      }
    } finally {
      this._forget("You are logged out.");
    }
  }

  sessions() {
    return this.request("GET", "/auth/sessions", { auth: true });
  }

  endSession(id) {
    return this.request("DELETE", `/auth/sessions/${encodeURIComponent(id)}`, { auth: true });
  }

  // PATCH /users/me: the page's stored user follows (its avatar_url, its name).
  async updateMe(fields) {
    const user = await this.request("PATCH", "/users/me", { auth: true, json: fields });
    this._keepUser(user);
    return user;
  }

  _keepUser(user) {
    if (this.session) {
      this.session.user = user;
      localStorage.setItem(STORAGE_KEY, JSON.stringify(this.session));
    }
  }

  requestDeletionCode() {
    return this.request("POST", "/users/me/deletion-code", { auth: true });
  }

  // `proof`: {password} or {code}. The socket's `session:ended` may come before the 204: the
  // sign-out says the same sentence whichever ends the session first.
  async deleteAccount(proof) {
    this._farewell = "Your account and everything in it are deleted. You are signed out.";
    try {
      await this.request("DELETE", "/users/me", { auth: true, json: proof });
      this._forget(this._farewell);
    } finally {
      this._farewell = null;
    }
  }

  async me() {
    const user = await this.request("GET", "/users/me", { auth: true });
    this._keepUser(user);
    return user;
  }

  mailbox(to) {
    return this.request("GET", "/dev/mailbox", { query: { to } });
  }

  // --- files ------------------------------------------------------------------------------
  uploadFile(file) {
    const form = new FormData();
    form.append("file", file, file.name);
    return this.request("POST", "/files", { form, auth: true });
  }

  // Announce the upload, send the bytes straight to storage with the presigned form, then
  // tell the API it is complete.
  async uploadDirect(file) {
    const ticket = await this.request("POST", "/files/uploads", {
      auth: true,
      json: { name: file.name, size: file.size, content_type: file.type || "application/octet-stream" },
    });
    const form = new FormData();
    for (const [key, value] of Object.entries(ticket.upload.fields || {})) form.append(key, value);
    form.append("file", file, file.name);
    let response;
    try {
      response = await fetch(ticket.upload.url, {
        method: ticket.upload.method || "POST",
        body: form,
        headers: ticket.upload.headers || {},
      });
    } catch {
      throw networkError();
    }
    if (!response.ok) {
      const error = await errorFrom(response);
      error.message = `Storage refused the upload: ${error.message}`;
      throw error;
    }
    return this.request("POST", `/files/${encodeURIComponent(ticket.file.id)}/complete`, { auth: true });
  }

  // A resumable multipart upload (the page's ResumableUpload in upload.js drives it): start,
  // presigned part URLs, the parts that arrived, complete, abort.
  startMultipart(file) {
    return this.request("POST", "/files/multipart", {
      auth: true,
      json: { name: file.name, size: file.size, content_type: file.type || "application/octet-stream" },
    });
  }

  multipartUrls(id, partNumbers) {
    return this.request("POST", `/files/${encodeURIComponent(id)}/multipart/parts`, {
      auth: true,
      json: { part_numbers: partNumbers },
    });
  }

  multipartStatus(id) {
    return this.request("GET", `/files/${encodeURIComponent(id)}/multipart`, { auth: true });
  }

  completeMultipart(id, parts) {
    return this.request("POST", `/files/${encodeURIComponent(id)}/multipart/complete`, {
      auth: true,
      json: { parts },
    });
  }

  abortMultipart(id) {
    return this.request("DELETE", `/files/${encodeURIComponent(id)}/multipart`, { auth: true });
  }

  // PUT one part's bytes to its presigned URL; the answer's ETag names it in the completion.
  // Every way it can fail ends in an ApiError a person can act on: S3 answers errors in XML
  // (its <Code> and <Message> are shown), the app's own part URLs in the contract's JSON.
  async putPart(url, blob, signal) {
    let response;
    try {
      response = await fetch(url, { method: "PUT", body: blob, signal, cache: "no-store" });
    } catch (error) {
      if (signal && signal.aborted) throw error; // paused or cancelled: not a failure
      // a refused CORS preflight (PUT not allowed for this origin) fails exactly like a
      // network outage: fetch tells the page nothing more
      throw new ApiError(0, "storage_unreachable", "Could not send a part to the storage: the network failed, or the bucket's CORS rules do not allow PUT from this page.");
    }
    if (!response.ok) throw await storageError(response);
    // read to its end, so the browser does not count the answer as aborted
    await response.arrayBuffer().catch(() => undefined);
    const etag = response.headers.get("ETag");
    if (!etag) {
      // S3 sends it only if the bucket's CORS rules expose it (ExposeHeaders: ETag)
      throw new ApiError(0, "no_etag", "Storage answered a part without its ETag header (the bucket's CORS rules must expose ETag).");
    }
    return etag;
  }

  listFiles(cursor) {
    return this.request("GET", "/files", { auth: true, query: { limit: 20, cursor } });
  }

  getFile(id) {
    return this.request("GET", `/files/${encodeURIComponent(id)}`, { auth: true });
  }

  deleteFile(id) {
    return this.request("DELETE", `/files/${encodeURIComponent(id)}`, { auth: true });
  }

  // --- chat -------------------------------------------------------------------------------
  rooms(cursor = null) {
    const query = cursor ? `?cursor=${encodeURIComponent(cursor)}` : "";
    return this.request("GET", `/chat/rooms${query}`, { auth: true });
  }

  createRoom(name, simulated) {
    return this.request("POST", "/chat/rooms", { auth: true, json: { name, simulated } });
  }

  addMember(roomId, userId) {
    return this.request("POST", `/chat/rooms/${encodeURIComponent(roomId)}/members`, {
      auth: true,
      json: { user_id: userId },
    });
  }

  inviteEmail(roomId, email) {
    return this.request("POST", `/chat/rooms/${encodeURIComponent(roomId)}/email-invitations`, {
      auth: true,
      json: { email },
    });
  }

  withdrawEmailInvitation(roomId, invitationId) {
    return this.request(
      "DELETE",
      `/chat/rooms/${encodeURIComponent(roomId)}/email-invitations/${encodeURIComponent(invitationId)}`,
      { auth: true },
    );
  }

  users(ids) {
    return this.request("GET", `/users?ids=${ids.map(encodeURIComponent).join(",")}`, { auth: true });
  }

  invitations() {
    return this.request("GET", "/chat/invitations", { auth: true });
  }

  // `accept`, `decline` or `leave`
  membership(roomId, action) {
    return this.request("POST", `/chat/rooms/${encodeURIComponent(roomId)}/${action}`, { auth: true });
  }

  messages(roomId, { after, before, limit } = {}) {
    return this.request("GET", `/chat/rooms/${encodeURIComponent(roomId)}/messages`, {
      auth: true,
      query: { after, before, limit },
    });
  }

  sendMessage(roomId, body, clientId) {
    return this.request("POST", `/chat/rooms/${encodeURIComponent(roomId)}/messages`, {
      auth: true,
      json: { body, client_id: clientId },
    });
  }

  editMessage(roomId, messageId, body) {
    return this.request("PATCH", `/chat/rooms/${encodeURIComponent(roomId)}/messages/${encodeURIComponent(messageId)}`, {
      auth: true,
      json: { body },
    });
  }

  deleteMessage(roomId, messageId) {
    return this.request("DELETE", `/chat/rooms/${encodeURIComponent(roomId)}/messages/${encodeURIComponent(messageId)}`, {
      auth: true,
    });
  }

  receipts(roomId) {
    return this.request("GET", `/chat/rooms/${encodeURIComponent(roomId)}/receipts`, { auth: true });
  }

  // An attached file as a member of the room reads it: its download_url and an image's thumbnails.
  attachment(roomId, fileId) {
    return this.request("GET", `/chat/rooms/${encodeURIComponent(roomId)}/attachments/${encodeURIComponent(fileId)}`, {
      auth: true,
    });
  }

  config() {
    return this.request("GET", "/config");
  }

  presence(userIds) {
    return this.request("GET", "/presence", { auth: true, query: { user_ids: userIds.join(",") } });
  }
}
