import createClient, { type Client, type Middleware } from "openapi-fetch";

import { FlowHubError } from "./errors.js";
import type { components, paths } from "./generated/openapi.js";
import { memoryStore, type Session, sessionOf, type TokenStore } from "./store.js";

export type Schemas = components["schemas"];
export type User = Schemas["User"];
export type TokenPair = Schemas["TokenPair"];
/** What a login of a user with a second factor answers instead of a TokenPair: complete it with
 * `POST /api/v1/auth/mfa` `{challenge, code}`, then `signIn` the pair that answers. */
export type MfaChallenge = Schemas["MfaChallenge"];
/** `POST /auth/login`'s answer: `token_type` tells a TokenPair (`"bearer"`) from an
 * MfaChallenge (`"mfa"`). */
export type LoginAnswer = Schemas["Login"];
export type FileMeta = Schemas["FileMeta"];
export type Room = Schemas["Room"];
export type Message = Schemas["Message"];
/** A file a message references (`message.attachments`); `deleted` once the file is gone. */
export type Attachment = Schemas["Attachment"];

export interface FlowHubOptions {
  /** The server's origin (`https://api.example.com`) or its API base
   * (`https://api.example.com/api/v1`, as `NEXT_PUBLIC_API_URL` holds it). */
  baseUrl: string;
  /** Where the session is kept; in memory by default. */
  store?: TokenStore;
  /** The fetch to use (a server-side one, a test's counting one). */
  fetch?: typeof globalThis.fetch;
  /** `"cookie"`: the refresh token travels in the server's HttpOnly cookie, never through
   * this client (README "Cookies for server rendering"): auth calls send
   * `credentials: "include"`, `X-FlowHub-Token-Transport: cookie` and the CSRF token.
   * `"body"` (the default): in the TokenPair, kept in the store. */
  tokenTransport?: "body" | "cookie";
  /** Called when the session cannot be renewed (signed out elsewhere, refresh token spent). */
  onSessionEnd?: (error: FlowHubError) => void;
}

const API = "/api/v1";
const REFRESH = `${API}/auth/refresh`;
const AUTH = `${API}/auth/`;
const CSRF_COOKIES = ["__Host-flowhub-csrf", "flowhub-csrf"];

type Answer<D> = { data?: D; error?: unknown; response: Response };

/** The FlowHub API client: typed calls (`hub.api.GET("/api/v1/files")`, types generated from
 * /openapi.json), the access token sent on every call, renewed once on a 401 (one renewal in
 * flight, shared by every call waiting for it) with the rotated refresh token stored, and
 * failures as `FlowHubError`. */
export class FlowHub {
  readonly origin: string;
  readonly store: TokenStore;
  /** Every operation of /openapi.json, typed; a 401 renews the token and retries once. */
  readonly api: Client<paths>;
  private readonly fetchImpl: typeof globalThis.fetch;
  private readonly bare: Client<paths>;
  private readonly onSessionEnd: ((error: FlowHubError) => void) | undefined;
  private renewing: Promise<Session> | null = null;
  private readonly byCookie: boolean;
  private csrf: string | null = null;
  private readonly pending = new Map<string, Request>();

  constructor(options: FlowHubOptions) {
    this.origin = options.baseUrl.replace(/\/+$/, "").replace(/\/api\/v1$/, "");
    this.store = options.store ?? memoryStore();
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.onSessionEnd = options.onSessionEnd;
    this.byCookie = options.tokenTransport === "cookie";
    const fetch = this.byCookie ? this.cookieTransport(this.fetchImpl) : this.fetchImpl;
    const shared = { baseUrl: this.origin, fetch };
    this.bare = createClient<paths>(shared);
    this.api = createClient<paths>(shared);
    this.api.use(this.tokens());
  }

  /** The session, if signed in. */
  async session(): Promise<Session | null> {
    return await this.store.load();
  }

  async accessToken(): Promise<string | null> {
    return (await this.session())?.accessToken ?? null;
  }

  /** Keep a TokenPair (from login, verify-email, an email code or a renewal). */
  async signIn(pair: TokenPair): Promise<Session> {
    const session = sessionOf(pair);
    if (this.byCookie && this.csrf !== null) session.csrfToken = this.csrf;
    await this.store.save(session);
    return session;
  }

  /** Renew the access token with the stored refresh token. Concurrent callers share one
   * renewal: a second spend of the same refresh token would revoke the whole session. */
  refresh(): Promise<Session> {
    this.renewing ??= this.renew().finally(() => {
      this.renewing = null;
    });
    return this.renewing;
  }

  /** Revoke this session on the server, then forget it here. */
  async signOut(): Promise<void> {
    const session = await this.session();
    if (session !== null) {
      const body = this.byCookie ? {} : { refresh_token: session.refreshToken };
      await this.api.POST("/api/v1/auth/logout", { body }).catch(() => undefined);
    }
    this.csrf = null;
    await this.store.save(null);
  }

  /** The data of an answer, or its error as a FlowHubError. */
  async call<D>(pending: Promise<Answer<D>>): Promise<D> {
    let answer: Answer<D>;
    try {
      answer = await pending;
    } catch (cause) {
      throw new FlowHubError(0, "network_error", String(cause));
    }
    if (answer.error !== undefined || !answer.response.ok) {
      throw FlowHubError.of(answer.response, answer.error);
    }
    return answer.data as D;
  }

  /** Upload through the API (multipart, field `file`): a File from an <input> or any Blob. */
  async uploadFile(file: Blob, name?: string): Promise<FileMeta> {
    const form = new FormData();
    form.append("file", file, name ?? fileName(file));
    return await this.call(
      this.api.POST("/api/v1/files", { body: { file }, bodySerializer: () => form }),
    );
  }

  /** Upload straight to storage: announce, send the form the ticket describes, complete. */
  async directUpload(file: Blob, name?: string, contentType?: string): Promise<FileMeta> {
    const ticket = await this.call(
      this.api.POST("/api/v1/files/uploads", {
        body: {
          name: name ?? fileName(file),
          size: file.size,
          content_type: contentType ?? (file.type || "application/octet-stream"),
        },
      }),
    );
    const form = new FormData();
    for (const [field, value] of Object.entries(ticket.upload.fields)) form.append(field, value);
    form.append("file", file, name ?? fileName(file));
    let stored: Response;
    try {
      stored = await this.fetchImpl(ticket.upload.url, { method: ticket.upload.method, body: form });
    } catch (cause) {
      throw new FlowHubError(0, "network_error", String(cause));
    }
    if (!stored.ok) throw await FlowHubError.from(stored);
    return await this.call(
      this.api.POST("/api/v1/files/{file_id}/complete", {
        params: { path: { file_id: ticket.file.id } },
      }),
    );
  }

  private async renew(): Promise<Session> {
    const session = await this.session();
    // by cookie, a page that kept nothing (a reload with memoryStore) renews from the cookie
    if (session === null && !this.byCookie) {
      throw new FlowHubError(401, "unauthorized", "Not signed in.");
    }
    const answer = await this.bare.POST("/api/v1/auth/refresh", {
      body: this.byCookie || session === null ? {} : { refresh_token: session.refreshToken },
    });
    if (answer.data === undefined) {
      const error = FlowHubError.of(answer.response, answer.error);
      if (answer.response.status === 401) {
        await this.store.save(null);
        this.onSessionEnd?.(error);
      }
      throw error;
    }
    return await this.signIn(answer.data);
  }

  /** The fetch of the cookie transport: on the auth routes, the browser's cookies, the opt-in
   * header and the CSRF token, which each auth answer may renew. */
  private cookieTransport(base: typeof globalThis.fetch): typeof globalThis.fetch {
    return async (input, init) => {
      const request = new Request(input, init);
      if (!new URL(request.url).pathname.startsWith(AUTH)) return await base(request);
      const headers = new Headers(request.headers);
      headers.set("X-FlowHub-Token-Transport", "cookie");
      const csrf = await this.csrfToken();
      if (csrf !== null) headers.set("X-CSRF-Token", csrf);
      const response = await base(new Request(request, { headers, credentials: "include" }));
      const issued = response.headers.get("X-CSRF-Token");
      if (issued !== null) this.csrf = issued;
      return response;
    };
  }

  /** The CSRF token: the last an answer gave, the stored session's, or the readable cookie a
   * first-party (proxied) API sets. */
  private async csrfToken(): Promise<string | null> {
    if (this.csrf !== null) return this.csrf;
    const stored = (await this.session())?.csrfToken;
    if (stored !== undefined) return stored;
    const jar = (globalThis as { document?: { cookie?: string } }).document?.cookie ?? "";
    for (const part of jar.split(";")) {
      const [name, ...value] = part.trim().split("=");
      if (name !== undefined && CSRF_COOKIES.includes(name)) return value.join("=");
    }
    return null;
  }

  private tokens(): Middleware {
    return {
      onRequest: async ({ request, id }) => {
        const token = await this.accessToken();
        if (token !== null && !request.headers.has("Authorization")) {
          request.headers.set("Authorization", `Bearer ${token}`);
        }
        if (request.headers.has("Authorization") && !request.url.endsWith(REFRESH)) {
          this.pending.set(id, request.clone()); // to send again once renewed
        }
        return request;
      },
      onResponse: async ({ response, id }) => {
        const original = this.pending.get(id);
        this.pending.delete(id);
        if (original === undefined || response.status !== 401) return response;
        const body: unknown = await response.clone().json().catch(() => undefined);
        if (FlowHubError.of(response, body).code !== "unauthorized") return response;
        // Renewed already by another call since this one was sent: use that token.
        const current = await this.accessToken();
        let token: string;
        if (current !== null && original.headers.get("Authorization") !== `Bearer ${current}`) {
          token = current;
        } else {
          try {
            token = (await this.refresh()).accessToken;
          } catch {
            return response;
          }
        }
        const again = new Request(original);
        again.headers.set("Authorization", `Bearer ${token}`);
        return await this.fetchImpl(again);
      },
      onError: ({ id }) => {
        this.pending.delete(id);
      },
    };
  }
}

function fileName(file: Blob): string {
  return "name" in file && typeof file.name === "string" && file.name ? file.name : "file";
}

export function createFlowHub(options: FlowHubOptions): FlowHub {
  return new FlowHub(options);
}
