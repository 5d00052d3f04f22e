// The page: forms wired to the API, the files table, the chat. Every piece of server data is
// put on the page as text (textContent), never as HTML.

import { Api } from "./api.js";
import { ATTACHMENTS_MAX, Chat } from "./chat.js";
import { initAccount } from "./account.js";
import { setUpFederation } from "./federation.js";
import { initInvites } from "./invites.js";
import { initMfa } from "./mfa.js";
import { installPasskeys } from "./passkeys.js";
import { AVATAR_TYPES, avatar, initProfile } from "./profile.js";
import { initSessions } from "./sessions.js";
import { ResumableUpload } from "./upload.js";

const api = new Api();
let chat = null;
let uploader = null; // the resumable upload of the signed-in user
let nextCursor = null;
let resetToken = null;

const $ = (selector, root = document) => root.querySelector(selector);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// --- notices: what happened, and errors as sentences --------------------------------------
function notify(text, kind = "info") {
  const box = $("#notices");
  const close = el("button", { type: "button", class: "close", "aria-label": "Dismiss" }, "×");
  const notice = el("div", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, el("span", {}, text), close);
  close.addEventListener("click", () => notice.remove());
  box.append(notice); // newest at the bottom of the stack
  while (box.children.length > 3) box.firstElementChild.remove();
  setTimeout(() => notice.remove(), kind === "error" ? 20000 : 6000);
}

function readable(error) {
  if (error && error.readable) return error.readable;
  if (error && error.message) return error.message;
  return "Something went wrong.";
}

function showError(error) {
  if (error && error.sessionEnded) return; // the sign-out notice already says it
  notify(readable(error), "error");
}

// Run a form's action with its submit button disabled; errors become notices.
function onSubmit(selector, action) {
  const form = $(selector);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = $("button[type=submit]", form);
    if (button) button.disabled = true;
    form.setAttribute("aria-busy", "true");
    try {
      await action(new FormData(form), form);
    } catch (error) {
      showError(error);
    } finally {
      if (button) button.disabled = false;
      form.removeAttribute("aria-busy");
    }
  });
}

// --- tabs (arrow keys move between them) --------------------------------------------------
const tabs = [...document.querySelectorAll("[role=tab]")];

function selectTab(name, focus = false) {
  for (const tab of tabs) {
    const selected = tab.id === `tab-${name}`;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
    $(`#${tab.getAttribute("aria-controls")}`).hidden = !selected;
    if (selected && focus) tab.focus();
  }
  const panel = $(`#panel-${name}`);
  const first = panel && panel.querySelector("input:not([type=hidden]):not([hidden])");
  if (first && !focus) first.focus();
}

for (const tab of tabs) {
  tab.addEventListener("click", () => selectTab(tab.id.slice(4)));
  tab.addEventListener("keydown", (event) => {
    const index = tabs.indexOf(tab);
    const moves = { ArrowRight: 1, ArrowLeft: -1 };
    if (event.key in moves) {
      event.preventDefault();
      const next = tabs[(index + moves[event.key] + tabs.length) % tabs.length];
      selectTab(next.id.slice(4), true);
    }
  });
}

function fill(form, values) {
  for (const [name, value] of Object.entries(values)) {
    const input = $(`${form} [name=${name}]`);
    if (input) input.value = value;
  }
}

// --- the development mailbox --------------------------------------------------------------
const CODE = /\b(\d{6})\b/;

async function showMailbox(to) {
  fill("#mailbox-form", { to });
  const list = $("#mailbox-list");
  const status = $("#mailbox-status");
  let found;
  try {
    found = await api.mailbox(to);
  } catch (error) {
    list.replaceChildren();
    status.textContent =
      error.status === 404
        ? "This server sends real email: there is no development mailbox. Read the code in your inbox."
        : readable(error);
    return;
  }
  status.textContent = found.messages.length
    ? `${found.messages.length} message(s) to ${to}, newest first.`
    : `No messages to ${to} yet.`;
  list.replaceChildren(
    ...found.messages.map((mail) => {
      const code = (mail.text.match(CODE) || [])[1];
      return el(
        "li",
        { class: "mail" },
        el("p", { class: "mail-head" }, el("strong", {}, mail.subject), " ", el("time", { datetime: mail.sent_at }, when(mail.sent_at))),
        code ? el("p", { class: "mail-code" }, "Code: ", el("code", { class: "code" }, code), " ", el("button", { type: "button", class: "secondary", onclick: () => useCode(code) }, "Use this code")) : null,
        el("pre", { class: "mail-text" }, mail.text),
      );
    }),
  );
}

// Put a code from the mailbox into whichever visible form asks for one.
function useCode(code) {
  const input = [...document.querySelectorAll("input[name=code]")].find((i) => i.offsetParent !== null);
  if (!input) {
    notify("No form is asking for a code right now.", "info");
    return;
  }
  input.value = code;
  input.focus();
}

onSubmit("#mailbox-form", (data) => showMailbox(String(data.get("to"))));

// --- auth flows ---------------------------------------------------------------------------
onSubmit("#signup-form", async (data, form) => {
  const email = String(data.get("email"));
  await api.signup(email, String(data.get("password")), String(data.get("name")));
  form.reset();
  fill("#verify-form", { email });
  selectTab("verify");
  notify(`A verification code is on its way to ${email}.`, "success");
  await showMailbox(email);
});

onSubmit("#verify-form", async (data) => {
  const challenge = await api.verifyEmail(String(data.get("email")), String(data.get("code")));
  $("#verify-form").reset();
  if (challenge) mfa.challenged(challenge);
  else notify("Email verified: you are signed in.", "success");
});

onSubmit("#verify-resend-form", async () => {
  const email = $("#verify-form [name=email]").value;
  if (!email) throw new Error("Enter your email first.");
  await api.requestCode(email, "verify_email");
  notify(`A new code is on its way to ${email}.`, "success");
  await showMailbox(email);
});

onSubmit("#login-form", async (data, form) => {
  const challenge = await api.login(String(data.get("email")), String(data.get("password")));
  form.reset();
  if (challenge) mfa.challenged(challenge);
  else notify("Signed in.", "success");
});

let codeEmail = null;
onSubmit("#code-request-form", async (data) => {
  codeEmail = String(data.get("email"));
  await api.requestCode(codeEmail, "login");
  $("#code-login-form").hidden = false;
  $("#code-login-form [name=code]").focus();
  notify(`If ${codeEmail} has an account, a login code is on its way.`, "success");
  await showMailbox(codeEmail);
});

onSubmit("#code-login-form", async (data, form) => {
  const challenge = await api.loginWithCode(codeEmail, String(data.get("code")));
  form.reset();
  form.hidden = true;
  if (challenge) mfa.challenged(challenge);
  else notify("Signed in with an email code.", "success");
});

let resetEmail = null;
onSubmit("#reset-request-form", async (data) => {
  resetEmail = String(data.get("email"));
  await api.requestCode(resetEmail, "password_reset");
  $("#reset-code-form").hidden = false;
  $("#reset-code-form [name=code]").focus();
  notify(`If ${resetEmail} has an account, a reset code is on its way.`, "success");
  await showMailbox(resetEmail);
});

onSubmit("#reset-code-form", async (data, form) => {
  resetToken = await api.resetGrant(resetEmail, String(data.get("code")));
  form.reset();
  form.hidden = true;
  $("#reset-password-form").hidden = false;
  $("#reset-password-form [name=password]").focus();
});

onSubmit("#reset-password-form", async (data, form) => {
  await api.resetPassword(resetToken, String(data.get("password")));
  resetToken = null;
  form.reset();
  form.hidden = true;
  fill("#login-form", { email: resetEmail });
  selectTab("login");
  $("#login-form [name=password]").focus();
  notify("Password changed; every other session was signed out. Log in with the new password.", "success");
});

$("#logout").addEventListener("click", async () => {
  try {
    await api.logout();
  } catch (error) {
    showError(error);
  }
});

// --- signed in / signed out ---------------------------------------------------------------
// Feature modules of the signed-in page: each wires its own part of index.html.
const mfa = initMfa({ api, onSubmit, notify });
const sessions = initSessions({ api, notify });
const invites = initInvites({ api, getChat: () => chat, onSubmit, notify });
const account = initAccount({ api, onSubmit, notify, showMailbox });
const profile = initProfile({
  api,
  notify,
  onChange: () => {
    if (chat) renderRooms();
    if (chat && chat.currentRoomId) renderMessages();
  },
});

function renderAccount() {
  const user = api.user;
  const signedIn = api.signedIn && user;
  $("#account").hidden = !signedIn;
  $("#auth").hidden = Boolean(signedIn);
  $("#files").hidden = !signedIn;
  $("#security").hidden = !signedIn;
  $("#chat").hidden = !signedIn;
  document.body.classList.toggle("signed-in", Boolean(signedIn));
  if (signedIn) {
    $("#me-name").textContent = user.name;
    $("#me-email").textContent = user.email;
    $("#me-id").textContent = user.id;
    profile.render();
  }
}

async function enter() {
  renderAccount();
  $("#token-status").textContent = "Access token: fresh";
  if (chat) chat.stop();
  chat = new Chat(api);
  wireChat(chat);
  startUploader();
  await Promise.all([loadFiles(), chat.start(), mfa.refresh(), sessions.refresh()]);
}

function leave(reason) {
  if (chat) chat.stop();
  chat = null;
  stopUploader();
  renderAccount();
  $("#file-list").replaceChildren();
  $("#room-list").replaceChildren();
  $("#room").hidden = true;
  // nothing of this user's stays on the page: chosen files, the picker's list, an edit
  editing = null;
  confirming = null;
  clearAttachments();
  $("#attach-list").replaceChildren();
  mfa.reset();
  account.reset();
  profile.reset();
  sessions.reset();
  if (reason) notify(reason, "info");
  selectTab("login");
}

api.addEventListener("signedin", () => enter().catch(showError));
api.addEventListener("signedout", (event) => leave(event.detail.reason));
api.addEventListener("renewed", (event) => {
  const at = new Date(event.detail.renewed_at).toLocaleTimeString();
  $("#token-status").textContent = `Access token: renewed at ${at}`;
});

// --- files --------------------------------------------------------------------------------
function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function when(iso) {
  return new Date(iso).toLocaleString();
}

function fileRow(file) {
  const download = el("button", { type: "button", class: "secondary", onclick: () => downloadFile(file).catch(showError) }, "Download");
  const remove = el("button", { type: "button", class: "danger", onclick: () => deleteFile(file).catch(showError) }, "Delete");
  download.setAttribute("aria-label", `Download ${file.name}`);
  remove.setAttribute("aria-label", `Delete ${file.name}`);
  return el(
    "tr",
    { dataset: { fileId: file.id } },
    el("td", { class: "name" }, file.name),
    el("td", {}, size(file.size)),
    el("td", {}, file.content_type),
    el("td", {}, el("span", { class: `status ${file.status}` }, file.status)),
    el("td", { class: "actions" }, file.status === "ready" ? download : null, avatarButton(file), remove),
  );
}

function avatarButton(file) {
  if (file.status !== "ready" || !AVATAR_TYPES.has(file.content_type)) return null;
  return el(
    "button",
    { type: "button", class: "secondary", "aria-label": `Use ${file.name} as your avatar`, onclick: () => profile.choose(file).catch(showError) },
    "Use as avatar",
  );
}

async function loadFiles(more = false) {
  const page = await api.listFiles(more ? nextCursor : undefined);
  nextCursor = page.next_cursor;
  const rows = page.items.map(fileRow);
  if (more) $("#file-list").append(...rows);
  else $("#file-list").replaceChildren(...rows);
  $("#files-empty").hidden = $("#file-list").children.length > 0;
  $("#files-more").hidden = !nextCursor;
}

async function downloadFile(file) {
  const meta = await api.getFile(file.id); // a download_url valid 15 minutes
  const link = el("a", { href: meta.download_url, download: file.name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  notify(`Downloading ${file.name}.`, "info");
}

async function deleteFile(file) {
  await api.deleteFile(file.id);
  notify(`Deleted ${file.name}.`, "success");
  await loadFiles();
}

function uploadWith(selector, upload, how) {
  onSubmit(selector, async (data, form) => {
    const file = data.get("file");
    if (!(file instanceof File) || !file.name) throw new Error("Choose a file first.");
    const stored = await upload(file);
    form.reset();
    notify(`Uploaded ${stored.name} (${size(stored.size)}) ${how}.`, "success");
    await loadFiles();
  });
}

uploadWith("#upload-api-form", (file) => api.uploadFile(file), "through the API");
uploadWith("#upload-direct-form", (file) => api.uploadDirect(file), "straight to storage");
$("#files-more").addEventListener("click", () => loadFiles(true).catch(showError));

// --- the resumable upload (upload.js): progress, pause, resume (also after a reload), cancel
function startUploader() {
  stopUploader();
  uploader = new ResumableUpload(api, api.user.id);
  uploader.addEventListener("change", renderUpload);
  renderUpload();
}

function stopUploader() {
  if (!uploader) return;
  uploader.removeEventListener("change", renderUpload);
  uploader.pause();
  uploader = null;
}

function renderUpload() {
  if (!uploader) return;
  const { state, record } = uploader;
  const form = $("#upload-resumable-form");
  const active = record !== null;
  $("#resumable-start").hidden = active;
  $("#resumable-pause").hidden = state !== "uploading";
  $("#resumable-resume").hidden = state !== "paused";
  $("#resumable-cancel").hidden = !active;
  $("#resumable-cancel").disabled = state === "completing";
  $("input[name=file]", form).required = !active || !uploader.file;
  $("#resumable-progress").hidden = !active;
  const status = $("#resumable-status");
  if (!active) {
    status.textContent = "";
    return;
  }
  const percent = record.size ? Math.floor((uploader.sent / record.size) * 100) : 100;
  const bar = $("#resumable-bar");
  bar.max = Math.max(record.size, 1);
  bar.value = uploader.sent;
  $("#resumable-percent").textContent = `${percent}%`;
  $(".progress-label", form).textContent = `Upload progress of ${record.name}`;
  const amount = `${size(uploader.sent)} of ${size(record.size)}`;
  status.textContent = {
    uploading: `Uploading ${record.name}: ${amount}…`,
    completing: `Assembling ${record.name}…`,
    paused: uploader.failure
      ? `Stopped at ${amount}: ${uploader.failure} Resume to try again.`
      : uploader.file
      ? `Paused at ${amount}. Resume to go on.`
      : `An unfinished upload of ${record.name} (${size(record.size)}), ${size(uploader.sent)} sent. Choose the same file, then Resume.`,
  }[state] || "";
}

async function runUpload(action) {
  const stored = await action();
  if (!stored) return; // paused or cancelled on the way
  $("#upload-resumable-form").reset();
  notify(`Uploaded ${stored.name} (${size(stored.size)}) in parts.`, "success");
  await loadFiles();
}

function chosenFile() {
  const file = $("#upload-resumable-form input[name=file]").files[0];
  return file && file.name ? file : null;
}

// Enter in the form (or Start) starts a new upload, or resumes the one under way.
onSubmit("#upload-resumable-form", async () => {
  if (uploader.record) {
    await runUpload(() => uploader.resume(chosenFile()));
    return;
  }
  const file = chosenFile();
  if (!file) throw new Error("Choose a file first.");
  // the pending file shows in the list as soon as it is announced
  const listed = () => loadFiles().catch(showError);
  uploader.addEventListener("change", listed, { once: true });
  try {
    await runUpload(() => uploader.start(file));
  } finally {
    uploader.removeEventListener("change", listed);
  }
});

$("#resumable-pause").addEventListener("click", () => {
  uploader.pause();
  $("#resumable-resume").focus();
});

$("#resumable-resume").addEventListener("click", () => {
  runUpload(() => uploader.resume(chosenFile())).catch(showError);
  if (!$("#resumable-pause").hidden) $("#resumable-pause").focus();
});

$("#resumable-cancel").addEventListener("click", async () => {
  const name = uploader.record && uploader.record.name;
  try {
    await uploader.cancel();
    $("#upload-resumable-form").reset();
    notify(`Cancelled the upload of ${name}.`, "info");
    $("#resumable-start").focus();
    await loadFiles();
  } catch (error) {
    showError(error);
  }
});

// --- chat ---------------------------------------------------------------------------------
function who(userId) {
  if (chat && userId === chat.me) return "You";
  if (userId.startsWith("peer-")) return "Simulated peer";
  const name = chat && chat.names.get(userId);
  return name || `User ${userId.slice(0, 6)}`;
}

// A person's avatar (or initials) beside their name.
function face(userId) {
  if (chat && userId === chat.me) return avatar(api.user.name, api.user.avatar_url);
  if (userId.startsWith("peer-")) return avatar("Simulated peer", null);
  return avatar(who(userId), (chat && chat.avatars.get(userId)) || null);
}

function renderConnection(state) {
  const pill = $("#connection");
  pill.dataset.state = state;
  pill.textContent = { connected: "connected", connecting: "connecting…", reconnecting: "reconnecting…" }[state] || state;
}

function renderRooms() {
  if (!chat) return; // signed out meanwhile (a late fetch's callback)
  const list = $("#room-list");
  const states = [...chat.rooms.values()].sort((a, b) => a.room.created_at.localeCompare(b.room.created_at));
  list.replaceChildren(
    ...states.map((state) => {
      const current = state.room.id === chat.currentRoomId;
      const button = el(
        "button",
        { type: "button", class: "room-button", "aria-current": current ? "true" : null, dataset: { roomId: state.room.id }, onclick: () => openRoom(state.room.id) },
        el("span", { class: "room-title" }, state.room.name),
        state.room.simulated ? el("span", { class: "badge" }, "simulated") : null,
        state.unread ? el("span", { class: "unread", "aria-label": `${state.unread} unread` }, String(state.unread)) : null,
      );
      return el("li", {}, button);
    }),
  );
  $("#room-empty").hidden = chat.currentRoomId !== null;
  $("#room").hidden = chat.currentRoomId === null;
  renderInvitations();
  if (chat.currentRoomId) renderMembers();
}

function renderInvitations() {
  const invited = [...chat.invitations.values()];
  $("#invitations").hidden = invited.length === 0;
  $("#invitation-list").replaceChildren(
    ...invited.map((room) =>
      el(
        "li",
        { class: "invitation", dataset: { roomId: room.id } },
        face(room.creator_id),
        el("span", { class: "room-title" }, `${room.name} (from ${who(room.creator_id)})`),
        el("button", { type: "button", onclick: () => answer(room.id, "accept") }, "Accept"),
        el("button", { type: "button", class: "secondary", onclick: () => answer(room.id, "decline") }, "Decline"),
      ),
    ),
  );
}

async function answer(roomId, action) {
  try {
    if (action === "accept") {
      await chat.accept(roomId);
      await openRoom(roomId);
    } else {
      await chat.decline(roomId);
    }
  } catch (error) {
    showError(error);
  }
}

function renderMembers() {
  if (!chat) return; // signed out meanwhile (a late fetch's callback)
  const state = chat.rooms.get(chat.currentRoomId);
  if (!state) return;
  $("#room-name").textContent = state.room.name;
  invites.render(state.room, chat.me);
  $("#member-list").replaceChildren(
    ...state.room.member_ids.map((id) => {
      const status = id === chat.me ? (chat.connected ? "online" : "offline") : chat.presence.get(id) || "offline";
      return el("li", { class: `member ${status}`, dataset: { userId: id, status } }, face(id), el("span", { class: "dot", "aria-hidden": "true" }), `${who(id)} · ${status}`);
    }),
  );
}

// The message being edited (one at a time): its room, seq and the draft, kept across the
// list's re-renders (a message arriving meanwhile redraws the list).
let editing = null;
// The message whose Delete was pressed once: a second press deletes it.
let confirming = null;

function messageItem(roomId, m) {
  const mine = m.sender_id === chat.me;
  const classes = ["message", mine ? "mine" : "", m.deleted ? "deleted" : ""].filter(Boolean).join(" ");
  const meta = el(
    "span",
    { class: "meta" },
    face(m.sender_id),
    `${who(m.sender_id)} · `,
    el("time", { datetime: m.created_at }, new Date(m.created_at).toLocaleTimeString()),
    m.edited_at && !m.deleted ? el("span", { class: "edited", title: `edited ${when(m.edited_at)}` }, " · edited") : null,
  );
  const item = el("li", { class: classes, dataset: { seq: String(m.seq), sender: m.sender_id, messageId: m.id } }, meta);
  if (m.deleted) {
    item.append(el("span", { class: "tombstone" }, "message deleted"));
    return item;
  }
  if (editing && editing.roomId === roomId && editing.seq === m.seq) {
    item.append(editForm(roomId, m));
    return item;
  }
  item.append(el("span", { class: "body" }, m.body));
  if (m.attachments && m.attachments.length) item.append(attachmentList(roomId, m.attachments));
  if (mine) {
    const actions = el("span", { class: "message-actions" });
    if (chat.editable(m)) {
      actions.append(
        el("button", { type: "button", class: "link", "aria-label": `Edit message: ${m.body.slice(0, 40)}`, dataset: { focus: "edit" }, onclick: () => startEdit(roomId, m) }, "Edit"),
      );
    }
    const sure = confirming && confirming.roomId === roomId && confirming.seq === m.seq;
    actions.append(
      el(
        "button",
        {
          type: "button",
          class: sure ? "link danger confirm" : "link danger",
          dataset: { focus: "delete" },
          "aria-label": sure ? `Really delete the message: ${m.body.slice(0, 40)}` : `Delete message: ${m.body.slice(0, 40)}`,
          onclick: () => (sure ? deleteMessage(roomId, m) : askDelete(roomId, m)),
        },
        sure ? "Really delete?" : "Delete",
      ),
    );
    item.append(actions);
  }
  return item;
}

const IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);

// The thumbnail a message shows: the 256 px "contain" one, else the nearest, else the image.
function previewUrl(meta) {
  const thumbs = meta.thumbnails || [];
  const contain = thumbs.filter((t) => t.fit === "contain");
  const pick = contain.find((t) => t.size === 256) || contain.at(-1) || thumbs.at(-1);
  return pick ? pick.url : meta.download_url;
}

function attachmentList(roomId, attachments) {
  return el(
    "ul",
    { class: "attachments", "aria-label": "Attachments" },
    attachments.map((a) => {
      const entry = a.deleted ? { meta: null } : chat.attachment(roomId, a.id, () => renderMessages());
      if (entry.meta === null) {
        return el("li", { class: "attachment gone", dataset: { fileId: a.id } }, el("span", { class: "file-name" }, a.name), ": file deleted");
      }
      const open = () => openAttachment(roomId, a).catch(showError);
      if (IMAGE_TYPES.has(a.content_type)) {
        const image = el("img", { alt: a.name, width: "160", height: "120", class: "thumb" });
        if (entry.meta) image.src = previewUrl(entry.meta);
        return el(
          "li",
          { class: "attachment image", dataset: { fileId: a.id } },
          el("button", { type: "button", class: "thumb-button", "aria-label": `Open ${a.name}`, dataset: { focus: `file-${a.id}` }, onclick: open }, image),
        );
      }
      return el(
        "li",
        { class: "attachment", dataset: { fileId: a.id } },
        el("button", { type: "button", class: "link", "aria-label": `Download ${a.name}`, dataset: { focus: `file-${a.id}` }, onclick: open }, `${a.name} (${size(a.size)})`),
      );
    }),
  );
}

async function openAttachment(roomId, a) {
  const meta = await api.attachment(roomId, a.id); // a fresh download_url
  const link = el("a", { href: meta.download_url, download: a.name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
}

function editForm(roomId, m) {
  const input = el("input", { name: "body", maxlength: "4000", required: true, autocomplete: "off", "aria-label": "Edit the message", dataset: { focus: "edit-input" } });
  input.value = editing.draft;
  input.addEventListener("input", () => {
    if (editing) editing.draft = input.value;
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      stopEdit(m.seq);
    }
  });
  const form = el(
    "form",
    { class: "edit-form" },
    input,
    el("button", { type: "submit", dataset: { focus: "save" } }, "Save"),
    el("button", { type: "button", class: "secondary", dataset: { focus: "cancel" }, onclick: () => stopEdit(m.seq) }, "Cancel"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = input.value.trim();
    if (!body) return;
    form.setAttribute("aria-busy", "true");
    try {
      await chat.edit(roomId, m.id, body);
      stopEdit(m.seq);
    } catch (error) {
      form.removeAttribute("aria-busy");
      if (error.code === "edit_window_closed") {
        notify(`Not edited: ${readable(error)} Its edit window has closed.`, "error");
        stopEdit(m.seq);
      } else {
        showError(error);
      }
    }
  });
  return form;
}

function startEdit(roomId, m) {
  editing = { roomId, seq: m.seq, draft: m.body };
  renderMessages();
  const input = $(`#message-list li[data-seq="${m.seq}"] .edit-form input`);
  if (input) {
    input.focus();
    input.select();
  }
}

function stopEdit(seq) {
  editing = null;
  renderMessages();
  const button = $(`#message-list li[data-seq="${seq}"] .message-actions button`);
  (button || $("#message-input")).focus();
}

function askDelete(roomId, m) {
  confirming = { roomId, seq: m.seq };
  renderMessages();
  $(`#message-list li[data-seq="${m.seq}"] .message-actions button.danger`).focus();
  // the question lapses after a few seconds
  setTimeout(() => {
    if (confirming && confirming.roomId === roomId && confirming.seq === m.seq) {
      confirming = null;
      if (chat && chat.currentRoomId === roomId) renderMessages();
    }
  }, 5000);
}

async function deleteMessage(roomId, m) {
  confirming = null;
  try {
    await chat.remove(roomId, m.id);
    $("#message-input").focus();
  } catch (error) {
    showError(error);
  }
}

function renderMessages() {
  if (!chat) return; // signed out meanwhile (a late fetch's callback)
  const roomId = chat.currentRoomId;
  const state = chat.rooms.get(roomId);
  if (!state) return;
  const list = $("#message-list");
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 60;
  // what had the focus in the list keeps it across the redraw (the edit box its caret too)
  const active = document.activeElement;
  const owner = active && list.contains(active) && active.dataset.focus ? active.closest("li[data-seq]") : null;
  const focused = owner ? { seq: owner.dataset.seq, key: active.dataset.focus } : null;
  const caret = focused && active.tagName === "INPUT" ? [active.selectionStart, active.selectionEnd] : null;
  if (editing && (editing.roomId !== roomId || !state.messages.has(editing.seq) || state.messages.get(editing.seq).deleted)) editing = null;
  const items = state.sorted.map((m) => messageItem(roomId, m));
  const last = state.sorted.at(-1);
  const readers = last ? chat.seenBy(roomId, last) : [];
  if (readers.length) {
    const names = readers.map(who).sort((a, b) => a.localeCompare(b));
    items.push(el("li", { class: "seen-by", dataset: { seq: String(last.seq) } }, `Seen by ${names.join(", ")}`));
  }
  const held = new Set(state.sorted.filter((m) => m.client_id).map((m) => m.client_id));
  for (const item of chat.pending(roomId)) {
    if (held.has(item.client_id)) continue;
    items.push(
      el(
        "li",
        { class: "message mine pending", dataset: { clientId: item.client_id } },
        el("span", { class: "meta" }, chat.connected ? "You · sending…" : "You · waiting for the connection"),
        el("span", { class: "body" }, item.body),
      ),
    );
  }
  list.replaceChildren(...items);
  $("#load-earlier").hidden = state.nextBefore === null || state.nextBefore === undefined;
  if (!state.messages.size && !items.length) list.append(el("li", { class: "hint" }, "No messages yet. Say hello."));
  if (nearBottom || items.length < 3) list.scrollTop = list.scrollHeight;
  if (focused) {
    const again = $(`#message-list li[data-seq="${focused.seq}"] [data-focus="${focused.key}"]`);
    if (again) {
      again.focus({ preventScroll: true });
      if (caret) again.setSelectionRange(caret[0], caret[1]);
    }
  }
}

function renderTyping() {
  if (!chat) return; // signed out meanwhile (a late fetch's callback)
  const names = chat.typists(chat.currentRoomId).map(who);
  $("#typing").textContent = names.length ? `${names.join(", ")} ${names.length > 1 ? "are" : "is"} typing…` : "";
}

async function openRoom(roomId) {
  $("#room").hidden = false;
  $("#room-empty").hidden = true;
  await chat.open(roomId).catch(showError);
  renderRooms();
  renderMessages();
  renderTyping();
  $("#message-input").focus();
}

function wireChat(c) {
  // a signed-out (or replaced) session's late events draw nothing: the page is another's now
  const on = (name, handler) =>
    c.addEventListener(name, (event) => {
      if (chat === c) handler(event);
    });
  on("connection", (event) => {
    renderConnection(event.detail.state);
    if (c.currentRoomId) {
      renderMembers();
      renderMessages();
    }
  });
  on("caughtup", (event) => {
    if (event.detail.again) notify("Reconnected; messages caught up.", "info");
  });
  on("rooms", () => renderRooms());
  on("people", () => {
    renderRooms(); // names and avatars of the rooms' people and inviters
    if (c.currentRoomId) renderMessages();
  });
  on("room", () => renderRooms());
  on("messages", (event) => {
    if (event.detail.roomId === c.currentRoomId) renderMessages();
  });
  on("typing", (event) => {
    if (event.detail.roomId === c.currentRoomId) renderTyping();
  });
  on("presence", () => {
    if (c.currentRoomId) renderMembers();
  });
  on("error", (event) => showError(event.detail.error));
}

onSubmit("#room-form", async (data, form) => {
  const room = await chat.createRoom(String(data.get("name")), data.get("simulated") === "on");
  form.reset();
  await openRoom(room.id);
});

onSubmit("#member-form", async (data, form) => {
  await chat.addMember(chat.currentRoomId, String(data.get("user_id")).trim());
  form.reset();
  notify("Invitation sent: they join when they accept.", "success");
});

$("#leave-room").addEventListener("click", async () => {
  try {
    await chat.leave(chat.currentRoomId);
  } catch (error) {
    showError(error);
  }
});

// Older history above what is shown; the messages in view stay where they are.
$("#load-earlier").addEventListener("click", async (event) => {
  const button = event.currentTarget;
  const list = $("#message-list");
  const roomId = chat.currentRoomId;
  const fromBottom = list.scrollHeight - list.scrollTop;
  button.disabled = true;
  try {
    await chat.loadEarlier(roomId);
    if (chat.currentRoomId === roomId) list.scrollTop = list.scrollHeight - fromBottom;
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
    if (button.hidden) $("#message-list").focus();
  }
});

// --- attachments: up to 4 of the user's ready files go with the next message -------------
const chosen = new Map(); // file id -> name

function renderChosen() {
  const names = [...chosen.values()];
  $("#attach-chosen").textContent = names.length ? `Attaching ${names.length}: ${names.join(", ")}` : "";
  $("#attach-toggle").textContent = names.length ? `Attach (${names.length})` : "Attach";
  const full = chosen.size >= ATTACHMENTS_MAX;
  for (const box of document.querySelectorAll("#attach-list input[type=checkbox]")) box.disabled = full && !box.checked;
}

async function loadAttachable() {
  const page = await api.listFiles();
  const ready = page.items.filter((f) => f.status === "ready");
  $("#attach-empty").hidden = ready.length > 0;
  $("#attach-list").replaceChildren(
    ...ready.map((file) => {
      const box = el("input", { type: "checkbox", value: file.id });
      box.checked = chosen.has(file.id);
      box.addEventListener("change", () => {
        if (box.checked) chosen.set(file.id, file.name);
        else chosen.delete(file.id);
        renderChosen();
      });
      return el("li", {}, el("label", { class: "check" }, box, el("span", { class: "file-name" }, file.name), el("span", { class: "hint" }, ` ${size(file.size)}`)));
    }),
  );
  renderChosen();
}

function showAttachPanel(open) {
  $("#attach-panel").hidden = !open;
  $("#attach-toggle").setAttribute("aria-expanded", String(open));
}

function clearAttachments() {
  chosen.clear();
  showAttachPanel(false);
  renderChosen();
}

$("#attach-toggle").addEventListener("click", async () => {
  const open = $("#attach-panel").hidden;
  showAttachPanel(open);
  if (!open) return;
  try {
    await loadAttachable();
    const first = $("#attach-list input:not(:disabled)") || $("#attach-upload-form input");
    first.focus();
  } catch (error) {
    showError(error);
  }
});

$("#attach-panel").addEventListener("keydown", (event) => {
  if (event.key === "Escape") {
    showAttachPanel(false);
    $("#attach-toggle").focus();
  }
});

onSubmit("#attach-upload-form", async (data, form) => {
  const file = data.get("file");
  if (!(file instanceof File) || !file.name) throw new Error("Choose a file first.");
  if (chosen.size >= ATTACHMENTS_MAX) throw new Error(`At most ${ATTACHMENTS_MAX} files go with one message.`);
  const stored = await api.uploadFile(file);
  form.reset();
  chosen.set(stored.id, stored.name);
  await Promise.all([loadAttachable(), loadFiles()]);
  $("#message-input").focus();
});

onSubmit("#message-form", async (data, form) => {
  const body = String(data.get("body")).trim();
  if (!body) return;
  form.reset();
  const attachmentIds = [...chosen.keys()];
  clearAttachments();
  await chat.send(chat.currentRoomId, body, attachmentIds);
  $("#message-input").focus();
});

$("#message-input").addEventListener("input", () => {
  if (chat) chat.typed();
});
$("#message-input").addEventListener("blur", () => {
  if (chat) chat.stopTyping();
});

// --- start --------------------------------------------------------------------------------
installPasskeys(api, { notify, showError });

async function boot() {
  if (api.signedIn) {
    try {
      await api.me(); // renews the access token if it expired since the last visit
      await enter();
    } catch (error) {
      if (api.signedIn) showError(error);
      else leave(null);
    }
  } else {
    renderAccount();
  }
  document.body.dataset.ready = "true";
}

boot();

// Sign in with a provider (js/federation.js): its links, and a return from the provider.
setUpFederation(api, { container: $("#providers"), notify }).catch((error) => {
  notify(error.message, "error");
});
