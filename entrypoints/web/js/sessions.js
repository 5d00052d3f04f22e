// The Security panel's signed-in devices: `GET /auth/sessions` (the client's coarse
// description, when it signed in, when its token was last renewed, "this device"), ending one
// (`DELETE /auth/sessions/{id}`: its tokens are refused and its sockets get `session:ended`),
// and "sign out everywhere else" (each other session ended the same way; `POST
// /auth/logout-all` would end this one too).

export function initSessions({ api, notify }) {
  const $ = (selector) => document.querySelector(selector);
  const when = (iso) => new Date(iso).toLocaleString();
  let others = [];

  function item(session) {
    const li = document.createElement("li");
    li.className = "session";
    li.dataset.sessionId = session.id;
    const title = document.createElement("strong");
    title.textContent = session.client || "Unknown device";
    li.append(title);
    if (session.current) {
      const tag = document.createElement("span");
      tag.className = "badge";
      tag.textContent = "this device";
      li.append(" ", tag);
    }
    const times = document.createElement("span");
    times.className = "hint";
    times.textContent = `signed in ${when(session.created_at)} · last active ${when(session.last_used_at)}`;
    li.append(times);
    if (!session.current) {
      const end = document.createElement("button");
      end.type = "button";
      end.className = "secondary";
      end.textContent = "Sign out";
      end.setAttribute("aria-label", `Sign out ${session.client || "the device"} (signed in ${when(session.created_at)})`);
      end.addEventListener("click", () => endOne(session).catch((error) => notify(error.readable || error.message, "error")));
      li.append(end);
    }
    return li;
  }

  async function refresh() {
    const found = await api.sessions();
    others = found.items.filter((s) => !s.current);
    $("#session-list").replaceChildren(...found.items.map(item));
    $("#sessions-others").hidden = others.length === 0;
  }

  async function endOne(session) {
    await api.endSession(session.id);
    notify(`Signed out ${session.client || "the device"}.`, "success");
    await refresh();
    $("#sessions-refresh").focus();
  }

  $("#sessions-refresh").addEventListener("click", () => refresh().catch((error) => notify(error.readable || error.message, "error")));
  $("#sessions-others").addEventListener("click", async () => {
    try {
      for (const session of others) await api.endSession(session.id).catch((error) => {
        if (error.status !== 404) throw error; // already ended
      });
      notify("Signed out everywhere else.", "success");
      await refresh();
      $("#sessions-refresh").focus();
    } catch (error) {
      notify(error.readable || error.message, "error");
    }
  });

  function reset() {
    others = [];
    $("#session-list").replaceChildren();
  }

  return { refresh, reset };
}
