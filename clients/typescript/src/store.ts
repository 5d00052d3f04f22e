import type { components } from "./generated/openapi.js";

type TokenPair = components["schemas"]["TokenPair"];
type User = components["schemas"]["User"];

/** What a signed-in client keeps: the access token, the refresh token (rotated on every
 * renewal: the store always holds the newest), when the access token expires, and the user.
 * With `tokenTransport: "cookie"` the refresh token is in an HttpOnly cookie the client never
 * sees: `refreshToken` is then `""` and `csrfToken` the token that lets it renew. */
export interface Session {
  accessToken: string;
  refreshToken: string;
  csrfToken?: string;
  /** milliseconds since the epoch */
  expiresAt: number;
  user: User;
}

/** Where the session lives: in memory (the default), `localStorage`, or the app's own (a
 * cookie for SSR, secure storage on mobile). Methods may be async. */
export interface TokenStore {
  load(): Session | null | Promise<Session | null>;
  save(session: Session | null): void | Promise<void>;
}

export function sessionOf(pair: TokenPair, now: number = Date.now()): Session {
  return {
    accessToken: pair.access_token,
    refreshToken: pair.refresh_token ?? "",
    expiresAt: now + pair.expires_in * 1000,
    user: pair.user,
  };
}

export function memoryStore(initial: Session | null = null): TokenStore {
  let session = initial;
  return {
    load: () => session,
    save: (next) => {
      session = next;
    },
  };
}

/** The session in `localStorage` under `key` (browser only). Tabs share it: the newest
 * refresh token any tab received is the one the next renewal spends. */
export function localStorageStore(
  key = "flowhub.session",
  storage: Storage = globalThis.localStorage,
): TokenStore {
  return {
    load: () => {
      const raw = storage.getItem(key);
      if (raw === null) return null;
      try {
        return JSON.parse(raw) as Session;
      } catch {
        return null;
      }
    },
    save: (session) => {
      if (session === null) storage.removeItem(key);
      else storage.setItem(key, JSON.stringify(session));
    },
  };
}
