// Invitations by email address: a room's member invites an address (`POST
// /chat/rooms/{id}/email-invitations {email}`), whether or not it has an account yet; the room
// lists the pending ones by their `hint` (`b…@example.com`), and its creator withdraws one
// (`DELETE .../email-invitations/{id}`). The account that verifies the address sees the
// invitation among its others and accepts it like any.

export function initInvites({ api, getChat, onSubmit, notify }) {
  const $ = (selector) => document.querySelector(selector);

  function render(room, me) {
    const pending = (room && room.email_invitations) || [];
    $("#email-invitations").hidden = pending.length === 0;
    $("#email-invitation-list").replaceChildren(
      ...pending.map((invitation) => {
        const item = document.createElement("li");
        item.className = "email-invitation";
        item.dataset.invitationId = invitation.id;
        const hint = document.createElement("span");
        hint.className = "hint-address";
        hint.textContent = invitation.hint;
        item.append(hint);
        if (room.creator_id === me) {
          const withdraw = document.createElement("button");
          withdraw.type = "button";
          withdraw.className = "link danger";
          withdraw.textContent = "Withdraw";
          withdraw.setAttribute("aria-label", `Withdraw the invitation of ${invitation.hint}`);
          withdraw.addEventListener("click", () => remove(room.id, invitation).catch((error) => notify(error.readable || error.message, "error")));
          item.append(" ", withdraw);
        }
        return item;
      }),
    );
  }

  async function remove(roomId, invitation) {
    const chat = getChat();
    chat.updated(await api.withdrawEmailInvitation(roomId, invitation.id));
    notify(`Withdrew the invitation of ${invitation.hint}.`, "success");
    const next = $("#email-invitation-list button") || $("#email-invite-form input");
    next.focus();
  }

  onSubmit("#email-invite-form", async (data, form) => {
    const chat = getChat();
    const email = String(data.get("email")).trim();
    chat.updated(await api.inviteEmail(chat.currentRoomId, email));
    form.reset();
    notify(`Invited ${email}: once they sign up and verify that address, they see the invitation. FlowHub sends them no email: tell them.`, "success");
  });

  return { render };
}
