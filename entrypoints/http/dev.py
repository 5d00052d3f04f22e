"""Development only: the in-memory mailer's outbox, so the front ends can show email codes.

Registered only when the memory mailer serves and APP_ENV is not production (API.md).
"""

from __future__ import annotations

from quart import Blueprint
from quart_schema import validate_querystring, validate_response

from adapters.memory.mail import MemoryMailer
from domain.auth.model import normalize_email
from entrypoints.http.deps import container
from schemas.auth import MailboxOut, MailboxQuery, MailOut

blueprint = Blueprint("dev", __name__, url_prefix="/dev")


@blueprint.get("/mailbox")
@validate_querystring(MailboxQuery)
@validate_response(MailboxOut, 200)
async def get_mailbox(query_args: MailboxQuery) -> MailboxOut:
    """Messages sent to `to`, newest first."""
    mailer = container().adapters.mailer()
    assert isinstance(mailer, MemoryMailer)
    messages = mailer.messages_to(normalize_email(query_args.to))
    return MailboxOut(
        messages=[
            MailOut(to=m.to, subject=m.subject, text=m.text, sent_at=m.sent_at) for m in messages
        ]
    )
