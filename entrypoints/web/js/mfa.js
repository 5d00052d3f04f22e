// The second factor (TOTP): the sign-in challenge a login answers for a user who has one
// (`POST /auth/mfa` with a 6-digit code or a recovery code), and the Security panel that sets
// it up (the otpauth:// link and its base32 key as text, a confirming code, the 10 recovery
// codes shown once) and turns it off. Everything from the server goes in as text.

export function initMfa({ api, onSubmit, notify }) {
  const $ = (selector) => document.querySelector(selector);
  let challenge = null; // the MfaChallenge waiting for its code

  // --- signing in: the challenge ---------------------------------------------------------
  function challenged(answer) {
    challenge = answer.challenge;
    $("#auth").classList.add("challenged");
    $("#mfa-form").hidden = false;
    $("#mfa-form [name=mfa_code]").focus();
  }

  function endChallenge() {
    challenge = null;
    $("#mfa-form").reset();
    $("#mfa-form").hidden = true;
    $("#auth").classList.remove("challenged");
  }

  onSubmit("#mfa-form", async (data) => {
    if (!challenge) throw new Error("Sign in first.");
    try {
      await api.completeMfa(challenge, String(data.get("mfa_code")).trim());
    } catch (error) {
      if (error.code === "invalid_mfa_challenge") {
        endChallenge();
        throw new Error(`${error.readable} Sign in again.`);
      }
      throw error;
    }
    endChallenge();
    notify("Signed in with your second factor.", "success");
  });

  $("#mfa-cancel").addEventListener("click", () => {
    endChallenge();
    const first = document.querySelector("#auth [role=tabpanel]:not([hidden]) input");
    if (first) first.focus();
  });

  // --- the Security panel: set up, turn off -----------------------------------------------
  function show(status) {
    $("#totp-status").textContent = status.enabled
      ? `Two-factor sign-in is on (${status.recovery_codes_left} recovery codes left).`
      : "Two-factor sign-in is off: a password or an emailed code is enough to sign in.";
    $("#totp-start").hidden = status.enabled;
    $("#totp-disable-form").hidden = !status.enabled;
    if (status.enabled) $("#totp-enrol").hidden = true;
  }

  async function refresh() {
    show(await api.totpStatus());
  }

  function reset() {
    for (const id of ["#totp-enrol", "#totp-codes", "#totp-disable-form"]) $(id).hidden = true;
    $("#totp-uri").textContent = "";
    $("#totp-secret").textContent = "";
    $("#totp-code-list").replaceChildren();
    $("#totp-status").textContent = "";
    $("#totp-start").hidden = false;
    endChallenge();
  }

  $("#totp-start").addEventListener("click", async () => {
    try {
      const enrolment = await api.startTotp();
      $("#totp-uri").textContent = enrolment.uri;
      $("#totp-secret").textContent = enrolment.secret;
      $("#totp-enrol").hidden = false;
      $("#totp-confirm-form [name=totp_code]").focus();
    } catch (error) {
      notify(error.readable || error.message, "error");
    }
  });

  onSubmit("#totp-confirm-form", async (data, form) => {
    const confirmed = await api.confirmTotp(String(data.get("totp_code")).trim());
    form.reset();
    $("#totp-enrol").hidden = true;
    $("#totp-uri").textContent = "";
    $("#totp-secret").textContent = "";
    $("#totp-code-list").replaceChildren(
      ...confirmed.recovery_codes.map((code) => {
        const item = document.createElement("li");
        const text = document.createElement("code");
        text.textContent = code;
        item.append(text);
        return item;
      }),
    );
    $("#totp-codes").hidden = false;
    $("#totp-codes-done").focus();
    notify("Two-factor sign-in is on.", "success");
    await refresh();
  });

  $("#totp-codes-done").addEventListener("click", () => {
    $("#totp-codes").hidden = true;
    $("#totp-code-list").replaceChildren();
    $("#totp-status").focus();
  });

  onSubmit("#totp-disable-form", async (data, form) => {
    const code = String(data.get("totp_code")).trim();
    const password = String(data.get("password"));
    if (!code === !password) throw new Error("Enter a code or your password (one of them).");
    await api.disableTotp(code ? { code } : { password });
    form.reset();
    notify("Two-factor sign-in is off.", "success");
    await refresh();
  });

  return { challenged, refresh, reset };
}
