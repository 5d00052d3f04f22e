// The danger zone: deleting one's account (`DELETE /users/me`), confirmed with the password
// or with a code mailed for it (`POST /users/me/deletion-code`). Once it is done every session
// of the account is revoked and the page is signed out.

export function initAccount({ api, onSubmit, notify, showMailbox }) {
  const $ = (selector) => document.querySelector(selector);

  $("#delete-code-request").addEventListener("click", async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    try {
      await api.requestDeletionCode();
      $("#delete-code-row").hidden = false;
      $("#delete-account-form [name=code]").focus();
      notify(`A code that confirms the deletion is on its way to ${api.user.email}.`, "success");
      await showMailbox(api.user.email);
    } catch (error) {
      notify(error.readable || error.message, "error");
    } finally {
      button.disabled = false;
    }
  });

  onSubmit("#delete-account-form", async (data) => {
    const password = String(data.get("password") || "");
    const code = String(data.get("code") || "").trim();
    if (!password === !code) throw new Error("Confirm with your password or with the emailed code (one of them).");
    await api.deleteAccount(code ? { code } : { password });
  });

  function reset() {
    $("#delete-account-form").reset();
    $("#delete-code-row").hidden = true;
  }

  return { reset };
}
