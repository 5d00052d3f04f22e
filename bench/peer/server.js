'use strict';
// A minimal Node.js peer of FlowHub for bench/peer_bench.py: the same work as FlowHub on the
// benchmarked paths, and nothing else (no signup, no Mongo, no presence, no load shedder).
//
//   GET  /health              {"status": "ok", "version", "uptime_s"}, Cache-Control: no-store
//   GET  /api/v1/users/me     HS256 JWT with FlowHub's pinned claims, FlowHub's own Lua quota
//                             script (rate:<userId>:api, 120 per 60 s, fails open), then the
//                             cached profile (cache:user:<id> in Redis, read through to the
//                             in-memory users and written back for 300 s, as domain/auth/service.py)
//   POST /api/v1/auth/login   per-IP quota (Lua HIT, 30/60 s), failure window (Lua PEEK, 5/60 s),
//                             argon2id verify (m=19456 KiB, t=2, p=1), 2 at once via a semaphore,
//                             an in-memory session, an access JWT: FlowHub's TokenPair
//   socket.io 4 at /socket.io with @socket.io/redis-adapter: `message:send` -> quota (Lua HIT,
//   rate:<userId>:chat, 20 per 10 s) -> per-room seq -> `message:new` to the room -> ack
//
// The Lua scripts are read from adapters/redis/rate_limit.py at start: the same text FlowHub runs.
// Environment: PORT, REDIS_URL, JWT_SECRET, APP_VERSION, PEER_SEED (JSON: users, rooms),
// LOG_LEVEL (info: one JSON line per request, as FlowHub's request log; warn: none).

const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const Fastify = require('fastify');
const Redis = require('ioredis');
const argon2 = require('argon2');
const { createSigner, createVerifier } = require('fast-jwt');
const { Server } = require('socket.io');
const { createAdapter } = require('@socket.io/redis-adapter');

const STARTED = process.hrtime.bigint();
const PORT = Number(process.env.PORT || 4000);
const VERSION = process.env.APP_VERSION || 'dev';
const SECRET = process.env.JWT_SECRET || '';
const ISSUER = 'flowhub';
const AUDIENCE = 'flowhub-api';
const TTL_S = 900;
const MAX_TOKEN_CHARS = 4096;
const MAX_CLOCK_SKEW_S = 30;
const REQUIRED = ['iss', 'aud', 'sub', 'typ', 'iat', 'exp', 'jti', 'sid'];
const API_PER_MINUTE = 120;
const LOGIN_PER_IP = 30;
const LOGIN_FAILURES = 5;
const USER_CACHE_TTL_S = 300;
const CHAT_PER_WINDOW = 20;
const CHAT_WINDOW_S = 10;
const BODY_MAX = 4000;
const CLIENT_ID_MAX = 64;
const ARGON2 = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1, hashLength: 32 };

if (Buffer.byteLength(SECRET) < 32) throw new Error('JWT_SECRET must be at least 32 bytes');

// --- FlowHub's Lua scripts, read from its source -----------------------------------------------
const RATE_LIMIT_PY = path.resolve(__dirname, '..', '..', 'adapters', 'redis', 'rate_limit.py');
function luaScript(name) {
  const source = fs.readFileSync(RATE_LIMIT_PY, 'utf8');
  const match = source.match(new RegExp(`^${name} = LuaScript\\("""([\\s\\S]*?)"""\\)`, 'm'));
  if (!match) throw new Error(`${name} not found in ${RATE_LIMIT_PY}`);
  return match[1];
}

const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379/0';
const redis = new Redis(redisUrl, { enableAutoPipelining: false, maxRetriesPerRequest: 1 });
redis.defineCommand('rateHit', { numberOfKeys: 1, lua: luaScript('_HIT') });
redis.defineCommand('ratePeek', { numberOfKeys: 1, lua: luaScript('_PEEK') });

function window(count, pttl, limit) {
  return { count, limit, resetInS: Math.max(1, Math.ceil(pttl / 1000)), exceeded: count > limit };
}
async function hit(key, limit, windowS) {
  const [count, pttl] = await redis.rateHit(key, windowS);
  return window(Number(count), Number(pttl), limit);
}
async function peek(key, limit) {
  const [count, pttl] = await redis.ratePeek(key);
  return window(Number(count), Number(pttl), limit);
}

// --- seed data (what FlowHub holds in its memory adapters for the run) ------------------------
const seed = process.env.PEER_SEED ? JSON.parse(fs.readFileSync(process.env.PEER_SEED, 'utf8')) : { users: [], rooms: [] };
const users = new Map();
const usersByEmail = new Map();
for (const u of seed.users) {
  users.set(u.id, u);
  usersByEmail.set(u.email.toLowerCase(), u);
}
const rooms = new Map(); // id -> {id, member_ids: Set, seq, messages: [], byClientId: Map}
const roomsOfUser = new Map();
for (const r of seed.rooms) {
  rooms.set(r.id, { id: r.id, members: new Set(r.member_ids), seq: 0, messages: [], byClientId: new Map() });
  for (const m of r.member_ids) {
    if (!roomsOfUser.has(m)) roomsOfUser.set(m, []);
    roomsOfUser.get(m).push(r.id);
  }
}
const sessions = new Map(); // refresh-token sha256 -> {user_id, session_id}

// --- tokens: HS256 only, every claim required, times judged here (access_tokens.py) -----------
const verifyJwt = createVerifier({
  key: SECRET,
  algorithms: ['HS256'],
  allowedIss: ISSUER,
  allowedAud: AUDIENCE,
  requiredClaims: REQUIRED,
  ignoreExpiration: true, // judged below, as FlowHub does against its clock
  ignoreNotBefore: true,
  cache: false,
});
const signJwt = createSigner({ key: SECRET, algorithm: 'HS256' });
const isInt = (v) => Number.isInteger(v);
const nonEmpty = (v) => typeof v === 'string' && v.length > 0;

function verifyAccess(token) {
  if (!token || token.length > MAX_TOKEN_CHARS) return null;
  let c;
  try {
    c = verifyJwt(token);
  } catch {
    return null;
  }
  const now = Date.now() / 1000;
  const ok = c.typ === 'access' && typeof c.aud === 'string' && c.aud === AUDIENCE
    && nonEmpty(c.sub) && nonEmpty(c.sid) && nonEmpty(c.jti)
    && isInt(c.iat) && isInt(c.exp) && c.iat <= now + MAX_CLOCK_SKEW_S
    && now < c.exp && c.exp <= now + TTL_S + MAX_CLOCK_SKEW_S;
  return ok ? { userId: c.sub, sessionId: c.sid } : null;
}

function issueAccess(userId, sessionId) {
  const iat = Math.floor(Date.now() / 1000);
  return signJwt({
    iss: ISSUER, aud: AUDIENCE, sub: userId, typ: 'access', iat, exp: iat + TTL_S,
    jti: crypto.randomBytes(12).toString('base64url'), sid: sessionId,
  });
}

// --- argon2: at most 2 computations at once, the others wait (hasher.py) ----------------------
let slots = 2;
const waiters = [];
async function withSlot(job) {
  if (slots > 0) slots -= 1;
  else await new Promise((resolve) => waiters.push(resolve));
  try {
    return await job();
  } finally {
    const next = waiters.shift();
    if (next) next();
    else slots += 1;
  }
}
let dummyHash = null;
async function dummy() {
  if (dummyHash === null) dummyHash = await argon2.hash('flowhub-dummy-password', ARGON2);
  return dummyHash;
}

// --- HTTP ------------------------------------------------------------------------------------
const logLevel = (process.env.LOG_LEVEL || 'info').toLowerCase();
const app = Fastify({
  logger: { level: logLevel === 'warning' ? 'warn' : logLevel },
  disableRequestLogging: true,
  genReqId: (req) => {
    const sent = req.headers['x-request-id'];
    return typeof sent === 'string' && sent.length > 0 && sent.length <= 128 ? sent : crypto.randomUUID().replaceAll('-', '');
  },
  bodyLimit: 64 * 1024,
});

function errorBody(request, code, message) {
  return { error: { code, message, request_id: request.id } };
}
class HttpError extends Error {
  constructor(status, code, message, headers = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

app.addHook('onSend', async (request, reply, payload) => {
  reply.header('X-Request-ID', request.id);
  const w = request.rateWindow;
  if (w) {
    reply.header('X-RateLimit-Limit', String(w.limit));
    reply.header('X-RateLimit-Remaining', String(Math.max(0, w.limit - w.count)));
    reply.header('X-RateLimit-Reset', String(w.resetInS));
  }
  return payload;
});
// One log line per request, as FlowHub's request log (method, route, status, duration, ids).
app.addHook('onResponse', async (request, reply) => {
  const fields = {
    request_id: request.id, method: request.method, path: request.routeOptions.url || request.url.slice(0, 200),
    status: reply.statusCode, duration_ms: Math.round(reply.elapsedTime * 100) / 100,
  };
  if (request.userId) fields.user_id = request.userId;
  request.log.info(fields, `${request.method} ${fields.path} ${reply.statusCode}`);
});
app.setErrorHandler((error, request, reply) => {
  if (error instanceof HttpError) {
    reply.code(error.status).headers(error.headers).send(errorBody(request, error.code, error.message));
  } else if (error.validation) {
    reply.code(422).send(errorBody(request, 'validation_error', 'The request is not valid.'));
  } else {
    request.log.error(error);
    reply.code(500).send(errorBody(request, 'internal_error', 'Something went wrong.'));
  }
});
app.setNotFoundHandler((request, reply) => {
  reply.code(404).send(errorBody(request, 'not_found', 'Not found.'));
});

app.get('/health', async (request, reply) => {
  reply.header('Cache-Control', 'no-store');
  const uptime = Number(process.hrtime.bigint() - STARTED) / 1e9;
  return { status: 'ok', version: VERSION, uptime_s: Math.round(uptime * 1000) / 1000 };
});

function bearer(request) {
  const header = request.headers.authorization || '';
  const space = header.indexOf(' ');
  const scheme = space < 0 ? header : header.slice(0, space);
  const token = space < 0 ? '' : header.slice(space + 1).trim();
  if (scheme.toLowerCase() !== 'bearer' || !token) {
    throw new HttpError(401, 'unauthorized', 'A bearer access token is required.');
  }
  return token;
}

async function authenticated(request) {
  const claims = verifyAccess(bearer(request));
  if (claims === null) throw new HttpError(401, 'unauthorized', 'The access token is not valid.');
  request.userId = claims.userId;
  let w = null;
  try {
    w = await hit(`rate:${claims.userId}:api`, API_PER_MINUTE, 60);
  } catch {
    request.log.warn('API rate limit unavailable; letting the request through');
  }
  if (w) {
    request.rateWindow = w;
    if (w.exceeded) throw new HttpError(429, 'too_many_requests', 'Too many requests.', { 'Retry-After': String(w.resetInS) });
  }
}

function userJson(u) {
  return { id: u.id, email: u.email, name: u.name, email_verified: u.email_verified, created_at: u.created_at };
}

app.get('/api/v1/users/me', { preHandler: authenticated }, async (request) => {
  const key = `cache:user:${request.userId}`;
  let cached = null;
  try {
    cached = await redis.get(key);
  } catch {
    cached = null;
  }
  if (cached !== null) return userJson(JSON.parse(cached));
  const user = users.get(request.userId);
  if (!user) throw new HttpError(404, 'not_found', 'The user no longer exists.');
  const profile = userJson(user);
  try {
    await redis.set(key, JSON.stringify(profile), 'EX', USER_CACHE_TTL_S);
  } catch {
    // the cache is only a shortcut
  }
  return profile;
});

const loginSchema = {
  body: {
    type: 'object',
    required: ['email', 'password'],
    additionalProperties: false,
    properties: { email: { type: 'string', minLength: 3, maxLength: 254 }, password: { type: 'string', minLength: 1, maxLength: 256 } },
  },
};

app.post('/api/v1/auth/login', { schema: loginSchema }, async (request, reply) => {
  const { email, password } = request.body;
  const ip = request.headers['fly-client-ip'] || request.ip || 'unknown';
  const perIp = await hit(`rate:ip:${ip}:login`, LOGIN_PER_IP, 60);
  if (perIp.exceeded) throw new HttpError(429, 'too_many_requests', 'Too many requests.', { 'Retry-After': String(perIp.resetInS) });
  const user = usersByEmail.get(email.toLowerCase()) || null;
  const key = `rate:${user ? user.id : 'email-' + crypto.createHash('sha256').update(email.toLowerCase()).digest('hex')}:login`;
  const failures = await peek(key, LOGIN_FAILURES);
  if (failures.count >= LOGIN_FAILURES) {
    throw new HttpError(429, 'too_many_requests', 'Too many failed logins; try again later.', { 'Retry-After': String(failures.resetInS) });
  }
  const stored = user && user.password_hash ? user.password_hash : await dummy();
  const matches = await withSlot(() => argon2.verify(stored, password).catch(() => false));
  if (!user || !matches) {
    await hit(key, LOGIN_FAILURES, 60);
    throw new HttpError(401, 'invalid_credentials', 'The email or password is not correct.');
  }
  if (!user.email_verified) throw new HttpError(403, 'email_not_verified', 'Verify your email first.');
  if (failures.count) await redis.del(key);
  const sessionId = crypto.randomUUID().replaceAll('-', '');
  const refresh = crypto.randomBytes(32).toString('base64url');
  sessions.set(crypto.createHash('sha256').update(refresh).digest('hex'), { user_id: user.id, session_id: sessionId });
  reply.header('Cache-Control', 'no-store');
  return {
    access_token: issueAccess(user.id, sessionId), refresh_token: refresh, token_type: 'bearer',
    expires_in: TTL_S, user: userJson(user),
  };
});

// --- Socket.IO -------------------------------------------------------------------------------
function fail(code, message) {
  return { ok: false, error: { code, message } };
}

function startRealtime(server) {
  const pub = redis.duplicate();
  const sub = redis.duplicate();
  const io = new Server(server, {
    path: '/socket.io',
    serveClient: false,
    perMessageDeflate: false,
    cors: { origin: ['https://app.example.com'] },
    adapter: createAdapter(pub, sub),
  });
  io.use((socket, next) => {
    const token = socket.handshake.auth && socket.handshake.auth.token;
    const claims = typeof token === 'string' ? verifyAccess(token) : null;
    if (claims === null) return next(new Error('unauthorized'));
    socket.data.userId = claims.userId;
    socket.data.sessionId = claims.sessionId;
    return next();
  });
  io.on('connection', (socket) => {
    const userId = socket.data.userId;
    socket.join([`user:${userId}`, ...(roomsOfUser.get(userId) || []).map((id) => `room:${id}`)]);

    socket.on('message:send', async (data, ack) => {
      const reply = typeof ack === 'function' ? ack : () => {};
      if (!data || typeof data.room_id !== 'string' || typeof data.body !== 'string'
        || (data.client_id !== undefined && data.client_id !== null && typeof data.client_id !== 'string')) {
        return reply(fail('validation_error', 'The event payload is not valid.'));
      }
      const { room_id: roomId, body } = data;
      const clientId = data.client_id ?? null;
      if (body.length < 1 || body.length > BODY_MAX || !body.trim()) {
        return reply(fail('validation_error', `A message has 1 to ${BODY_MAX} characters.`));
      }
      if (clientId !== null && (clientId.length < 1 || clientId.length > CLIENT_ID_MAX)) {
        return reply(fail('validation_error', `A client_id has 1 to ${CLIENT_ID_MAX} characters.`));
      }
      const room = rooms.get(roomId);
      if (!room || !room.members.has(userId)) return reply(fail('not_found', 'No such room.'));
      if (clientId !== null) {
        const first = room.byClientId.get(`${userId}\u0000${clientId}`);
        if (first) return reply({ ok: true, message: first });
      }
      try {
        const w = await hit(`rate:${userId}:chat`, CHAT_PER_WINDOW, CHAT_WINDOW_S);
        if (w.exceeded) return reply(fail('too_many_requests', `Too many messages; retry in ${w.resetInS} s.`));
      } catch {
        // fails open, as FlowHub's chat quota
      }
      // From here to the emit nothing awaits: a room's messages leave in seq order.
      room.seq += 1;
      const message = { id: crypto.randomUUID().replaceAll('-', ''), room_id: roomId, sender_id: userId, body, seq: room.seq };
      if (clientId !== null) message.client_id = clientId;
      message.created_at = new Date().toISOString();
      room.messages.push(message);
      if (clientId !== null) room.byClientId.set(`${userId}\u0000${clientId}`, message);
      io.to(`room:${roomId}`).emit('message:new', message); // the adapter's PUBLISH is not awaited
      return reply({ ok: true, message });
    });
  });
  return io;
}

async function main() {
  await app.ready();
  startRealtime(app.server);
  await app.listen({ port: PORT, host: '0.0.0.0' });
}

function stop() {
  app.close().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 4000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
main().catch((error) => {
  console.error(error);
  process.exit(1);
});
