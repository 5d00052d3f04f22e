// The admin console (README "Administration"): the admin API (/api/v1/admin/...) for an
// administrator. Its own session (sessionStorage: it ends with the tab), its own small fetch
// wrapper. Every admin route answers anyone else 404, an expired token included, so a 404 is
// tried once more after a token renewal before the page says "not found". Every value from
// the server goes into the page through textContent.
const BASE = "/api/v1";
const STORAGE_KEY = "flowhub.admin.session";
const PAGE = 20;

const $ = (id) => document.getElementById(id);

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let session = load();
let renewing = null;
let offset = 0;
let query = "";
let challenge = null;

function load() {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null;
  }
}

function keep(pair) {
  session = pair ? { access: pair.access_token, refresh: pair.refresh_token, email: pair.user.email } : null;
  if (session) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  else sessionStorage.removeItem(STORAGE_KEY);
}

async function send(method, path, body, token) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(BASE + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
    });
  } catch {
    throw new ApiError(0, "network_error", "The server cannot be reached. Check the connection and try again.");
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = data && data.error ? data.error : {};
    throw new ApiError(response.status, String(error.code || `http_${response.status}`),
      String(error.message || `The server answered ${response.status}.`));
  }
  return data;
}

async function renew() {
  if (!session) return false;
  renewing ??= send("POST", "/auth/refresh", { refresh_token: session.refresh })
    .then((pair) => { keep(pair); return true; })
    .catch(() => false)
    .finally(() => { renewing = null; });
  return renewing;
}

// An admin call; a refusal (404, 401) is tried again once with a renewed token.
async function admin(method, path, body) {
  if (!session) throw new ApiError(404, "not_found", "Not found");
  try {
    return await send(method, BASE_ADMIN + path, body, session.access);
  } catch (error) {
    if (!(error instanceof ApiError) || (error.status !== 404 && error.status !== 401)) throw error;
    if (!(await renew())) throw error;
    return send(method, BASE_ADMIN + path, body, session.access);
  }
}
const BASE_ADMIN = "/admin";

function say(text, kind = "info") {
  const notice = $("notice");
  notice.textContent = text;
  notice.dataset.kind = kind;
}

function show(view) {
  for (const id of ["signin", "not-found", "console"]) $(id).hidden = id !== view;
  $("account").hidden = view !== "console";
  if (view === "console") $("me-email").textContent = session ? session.email : "";
}

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = Number(n);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit ? value.toFixed(1) : value} ${units[unit]}`;
}

function amount(n, unit) {
  return unit === "bytes" ? bytes(n) : `${Number(n).toLocaleString("en")} ${unit}`;
}

function when(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

const GAUGE_LABELS = {
  redis_commands_month: "Redis commands this month",
  mongodb_storage: "MongoDB storage",
  s3_storage: "S3 storage",
  machine_memory: "Machine memory (this instance)",
  rollbar_reports_today: "Rollbar reports today (this instance)",
  log_bytes_today: "Logtail bytes today",
};

function meterItem(label, percent, detail, warnAt, warning) {
  const item = el("li", null, "gauge");
  const id = `m-${Math.random().toString(36).slice(2)}`;
  const name = el("span", label, "gauge-name");
  name.id = id;
  const meter = document.createElement("meter");
  meter.min = 0;
  meter.max = 100;
  meter.low = warnAt;
  meter.high = warnAt;
  meter.optimum = 0;
  meter.value = Math.min(100, Math.max(0, percent));
  meter.setAttribute("aria-labelledby", id);
  const text = el("span", detail, "gauge-detail");
  item.append(name, meter, text);
  if (warning) {
    item.classList.add("high");
    item.append(el("strong", warning, "warning"));
  }
  return item;
}

function renderGauges(items) {
  const list = $("gauge-list");
  list.replaceChildren();
  for (const g of items) {
    const percent = Number(g.percent);
    let detail = g.limit
      ? `${amount(g.used, g.unit)} of ${amount(g.limit, g.unit)} (${percent.toFixed(1)} %)`
      : `${amount(g.used, g.unit)} (no known limit)`;
    if (g.projected !== undefined && g.projected !== null) {
      detail += `; projected to the month's end: ${amount(g.projected, g.unit)}`;
      if (g.projected_percent !== undefined && g.projected_percent !== null) {
        detail += ` (${Number(g.projected_percent).toFixed(1)} %)`;
      }
    }
    const warning = g.limit && percent >= 80 ? "Warning: 80 % or more of the free tier is used." : "";
    const item = meterItem(GAUGE_LABELS[g.name] || g.name, percent, detail, 80, warning);
    item.dataset.gauge = g.name;
    list.append(item);
  }
}

function renderMail(mail) {
  const list = $("mail-list");
  list.replaceChildren();
  const rates = [
    ["Bounce rate", mail.bounce_rate, mail.bounce_rate_warning, "bounce"],
    ["Complaint rate", mail.complaint_rate, mail.complaint_rate_warning, "complaint"],
  ];
  for (const [label, rate, warnAt, key] of rates) {
    // the meter's scale is twice the review threshold: half-way is where SES starts looking
    const percent = warnAt ? (rate / (2 * warnAt)) * 100 : 0;
    const detail = `${(rate * 100).toFixed(2)} % (SES reviews from ${(warnAt * 100).toFixed(1)} %)`;
    const warning = rate >= warnAt ? "Warning: at or over SES's review threshold." : "";
    const item = meterItem(label, percent, detail, 50, warning);
    item.dataset.rate = key;
    list.append(item);
  }
  const totals = el("li", `${Number(mail.sent).toLocaleString("en")} mails sent; ${mail.suppressed_addresses} suppressed addresses`, "totals");
  totals.id = "mail-totals";
  list.append(totals);
}

function renderUsers(page) {
  const list = $("user-list");
  list.replaceChildren();
  const shown = page.items.length;
  $("users-summary").textContent = shown
    ? `Showing ${offset + 1}–${offset + shown} (${page.total} accounts in all).`
    : `No account matches (${page.total} accounts in all).`;
  $("prev").disabled = offset === 0;
  $("next").disabled = page.next_offset === null || page.next_offset === undefined;
  $("next").dataset.offset = page.next_offset ?? "";
  for (const user of page.items) list.append(userCard(user));
}

function userCard(user) {
  const card = el("li", null, "user");
  card.dataset.userId = user.id;
  const head = el("div", null, "user-head");
  head.append(el("strong", user.email, "user-email"), el("span", user.name, "user-name"));
  const facts = el("p", null, "user-facts");
  const state = el("span", user.disabled ? "disabled" : "active", "pill");
  state.dataset.state = user.disabled ? "disabled" : "active";
  facts.append(
    state,
    el("span", user.email_verified ? " verified" : " not verified"),
    el("span", ` · ${user.sessions} session${user.sessions === 1 ? "" : "s"}`, "user-sessions"),
    el("span", ` · since ${when(user.created_at)}`),
  );
  const id = el("p", null, "hint");
  id.append("id ", el("code", user.id));
  const actions = el("div", null, "actions");
  const toggle = el("button", user.disabled ? "Enable" : "Disable", user.disabled ? "" : "secondary");
  toggle.type = "button";
  toggle.addEventListener("click", () => act(card, user, user.disabled ? "enable" : "disable"));
  const end = el("button", "End sessions", "secondary");
  end.type = "button";
  end.addEventListener("click", () => act(card, user, "end_sessions"));
  const del = el("button", "Delete…", "danger");
  del.type = "button";
  del.addEventListener("click", () => confirmDelete(card, user, actions));
  actions.append(toggle, end, del);
  card.append(head, facts, id, actions);
  return card;
}

function confirmDelete(card, user, actions) {
  const box = el("div", null, "confirm");
  box.setAttribute("role", "group");
  const question = el("p", `Delete ${user.email} and everything of theirs? This cannot be undone.`);
  question.id = `confirm-${user.id}`;
  box.setAttribute("aria-labelledby", question.id);
  const yes = el("button", "Delete for good", "danger");
  yes.type = "button";
  const no = el("button", "Cancel", "secondary");
  no.type = "button";
  const close = () => {
    box.remove();
    actions.hidden = false;
    actions.querySelector(".danger").focus();
  };
  yes.addEventListener("click", () => act(card, user, "delete"));
  no.addEventListener("click", close);
  box.addEventListener("keydown", (event) => {
    if (event.key === "Escape") close();
  });
  box.append(question, yes, no);
  actions.hidden = true;
  card.append(box);
  no.focus();
}

const ACTIONS = {
  disable: ["POST", (id) => `/users/${id}/disable`, "disabled"],
  enable: ["POST", (id) => `/users/${id}/enable`, "enabled"],
  end_sessions: ["POST", (id) => `/users/${id}/sessions/end`, "signed out everywhere"],
  delete: ["DELETE", (id) => `/users/${id}`, "deleted"],
};

async function act(card, user, action) {
  const [method, path, done] = ACTIONS[action];
  for (const button of card.querySelectorAll("button")) button.disabled = true;
  try {
    await admin(method, path(encodeURIComponent(user.id)));
    say(`${user.email}: ${done}.`, "ok");
    await loadUsers();
    $("search-form").elements.q.focus();
  } catch (error) {
    for (const button of card.querySelectorAll("button")) button.disabled = false;
    failed(error);
  }
}

function failed(error) {
  if (error instanceof ApiError && error.status === 404 && !session) return notFound();
  say(error instanceof ApiError ? error.message : String(error), "error");
}

function notFound() {
  // what a non-administrator signed in with is of no use here: end it
  const ending = session;
  keep(null);
  if (ending) send("POST", "/auth/logout", { refresh_token: ending.refresh }, ending.access).catch(() => null);
  show("not-found");
  $("not-found-title").focus();
}

async function loadUsers() {
  const params = new URLSearchParams({ q: query, offset: String(offset), limit: String(PAGE) });
  renderUsers(await admin("GET", `/users?${params}`));
}

function renderRooms(rooms) {
  $("rooms-count").textContent = `${rooms.count} rooms.`;
  const row = (r) => el("li", `${r.messages} messages · ${r.members} members · ${when(r.created_at)} · ${r.id}`);
  $("rooms-busiest").replaceChildren(...rooms.busiest.map(row));
  $("rooms-recent").replaceChildren(...rooms.recent.map(row));
}

function renderFiles(files) {
  $("files-count").textContent = `${files.count} files, ${bytes(files.bytes)} with their thumbnails.`;
  const row = (f) => el("li", `${bytes(f.size)} · ${f.content_type} · ${when(f.created_at)} · owner ${f.owner_id}`);
  $("files-largest").replaceChildren(...files.largest.map(row));
  $("files-recent").replaceChildren(...files.recent.map(row));
}

async function loadAll() {
  // the first answer decides whether this is an administrator at all
  try {
    await loadUsers();
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return notFound();
    throw error;
  }
  show("console");
  const [gauges, mail, rooms, files] = await Promise.allSettled([
    admin("GET", "/gauges"),
    admin("GET", "/mail"),
    admin("GET", "/rooms"),
    admin("GET", "/files"),
  ]);
  if (gauges.status === "fulfilled") renderGauges(gauges.value.items);
  if (mail.status === "fulfilled") renderMail(mail.value);
  if (rooms.status === "fulfilled") renderRooms(rooms.value);
  if (files.status === "fulfilled") renderFiles(files.value);
  const refused = [gauges, mail, rooms, files].find((r) => r.status === "rejected");
  if (refused) failed(refused.reason);
}

async function signedIn(answer) {
  if (answer.token_type === "mfa") {
    challenge = answer.challenge;
    $("signin-form").hidden = true;
    $("mfa-form").hidden = false;
    $("mfa-form").elements.code.focus();
    return;
  }
  keep(answer);
  $("signin-form").reset();
  $("mfa-form").reset();
  $("signin-form").hidden = false;
  $("mfa-form").hidden = true;
  await loadAll();
  if (!$("console").hidden) $("main").focus();
}

function signInFailed(error) {
  $("signin-error").textContent = error instanceof ApiError ? error.message : String(error);
}

$("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("signin-error").textContent = "";
  const form = event.currentTarget;
  try {
    const answer = await send("POST", "/auth/login", {
      email: form.elements.email.value,
      password: form.elements.password.value,
    });
    await signedIn(answer);
  } catch (error) {
    signInFailed(error);
  }
});

$("mfa-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("signin-error").textContent = "";
  try {
    await signedIn(await send("POST", "/auth/mfa", { challenge, code: event.currentTarget.elements.code.value.trim() }));
  } catch (error) {
    signInFailed(error);
  }
});

$("search-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  query = event.currentTarget.elements.q.value.trim();
  offset = 0;
  await loadUsers().catch(failed);
});

$("prev").addEventListener("click", async () => {
  offset = Math.max(0, offset - PAGE);
  await loadUsers().catch(failed);
});

$("next").addEventListener("click", async () => {
  const next = Number($("next").dataset.offset);
  if (Number.isFinite(next)) offset = next;
  await loadUsers().catch(failed);
});

$("refresh").addEventListener("click", () => loadAll().catch(failed));

$("logout").addEventListener("click", async () => {
  const ending = session;
  keep(null);
  if (ending) await send("POST", "/auth/logout", { refresh_token: ending.refresh }, ending.access).catch(() => null);
  say("Signed out.");
  show("signin");
  $("signin-form").elements.email.focus();
});

$("not-found-again").addEventListener("click", () => {
  show("signin");
  $("signin-form").elements.email.focus();
});

if (session) loadAll().catch(failed);
else show("signin");
