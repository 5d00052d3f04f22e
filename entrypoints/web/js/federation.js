// Sign in with a provider (README "Sign in with a provider"): one link per enabled provider
// under the sign-in form, and the return from the provider: FlowHub's callback sends the
// browser back here with #code= (traded for a TokenPair at POST /auth/oauth/exchange),
// #linked= or #error= in the fragment, which no server ever sees.

const MESSAGES = {
  provider_email_unverified:
    "The provider did not confirm your email address; verify it there, or sign up with a password.",
  identity_taken: "That provider account is already linked to another FlowHub account.",
  provider_failed: "The provider did not confirm the sign-in; try again.",
};

function returned() {
  const found = new URLSearchParams(window.location.hash.slice(1));
  if (!found.has("code") && !found.has("error") && !found.has("linked")) return null;
  // the one-time code leaves the address bar and the history at once
  window.history.replaceState(null, "", window.location.pathname + window.location.search);
  return found;
}

export async function setUpFederation(api, { container, notify }) {
  const answer = returned();
  if (answer?.has("code")) {
    const result = await api.request("POST", "/auth/oauth/exchange", {
      json: { code: answer.get("code") },
    });
    if (result.token_type === "bearer") {
      api._store(result);
      notify("Signed in.", "success");
    } else {
      notify("This account has a second factor: sign in with its password and code.", "info");
    }
  } else if (answer?.has("error")) {
    notify(MESSAGES[answer.get("error")] || "The sign-in did not complete.", "error");
  } else if (answer?.has("linked")) {
    notify(`Linked ${answer.get("linked")}.`, "success");
  }
  const { items } = await api.request("GET", "/auth/providers");
  const back = window.location.origin + window.location.pathname;
  container.replaceChildren(
    ...items.map(({ name }) => {
      const link = document.createElement("a");
      link.className = "button";
      link.textContent = `Sign in with ${name}`;
      const query = new URLSearchParams({ redirect_uri: back });
      link.href = `/api/v1/auth/oauth/${encodeURIComponent(name)}/start?${query}`;
      return link;
    }),
  );
  container.hidden = items.length === 0;
}
