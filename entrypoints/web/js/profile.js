// Avatars: a person's picture (`avatar_url`, a public URL of its 256 px thumbnail) or their
// initials when they have none, wherever the page shows people; and one's own, chosen from the
// Files panel (`PATCH /users/me {avatar_file_id}`: one of one's ready images) or cleared
// (`avatar_file_id: null`).

export const AVATAR_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);

export function initials(name) {
  const words = String(name || "?").trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0], words.at(-1)] : words;
  return letters.map((w) => [...w][0]).join("").toUpperCase() || "?";
}

// A round avatar for `name`: the image at `url`, or the initials. Decorative next to the name
// the page writes anyway (alt=""); `label` names it when it stands alone.
export function avatar(name, url, label = null) {
  const box = document.createElement("span");
  box.className = url ? "avatar" : "avatar initials";
  if (label) {
    box.setAttribute("role", "img");
    box.setAttribute("aria-label", label);
  } else {
    box.setAttribute("aria-hidden", "true");
  }
  if (url) {
    const image = document.createElement("img");
    image.alt = "";
    image.src = url;
    image.width = 28;
    image.height = 28;
    image.decoding = "async";
    box.append(image);
  } else {
    box.textContent = initials(name);
  }
  return box;
}

export function initProfile({ api, notify, onChange }) {
  const $ = (selector) => document.querySelector(selector);

  function render() {
    const user = api.user;
    if (!user) return;
    const own = avatar(user.name, user.avatar_url, user.avatar_url ? "Your avatar" : `Your initials, ${initials(user.name)}`);
    own.id = "me-avatar-image";
    $("#me-avatar").replaceChildren(own);
    const big = avatar(user.name, user.avatar_url);
    big.classList.add("large");
    $("#avatar-current").replaceChildren(big);
    $("#avatar-status").textContent = user.avatar_url
      ? "Your avatar shows beside your name for the people in your rooms."
      : "No avatar: your initials show instead. Pick one of your images below (Use as avatar).";
    $("#avatar-clear").hidden = !user.avatar_url;
  }

  async function choose(file) {
    await api.updateMe({ avatar_file_id: file.id });
    render();
    onChange();
    notify(`${file.name} is your avatar now (the image is public).`, "success");
  }

  $("#avatar-clear").addEventListener("click", async () => {
    try {
      await api.updateMe({ avatar_file_id: null });
      render();
      onChange();
      notify("Avatar cleared.", "success");
      $("#avatar-status").focus();
    } catch (error) {
      notify(error.readable || error.message, "error");
    }
  });

  function reset() {
    $("#me-avatar").replaceChildren();
    $("#avatar-current").replaceChildren();
  }

  return { render, choose, reset };
}
