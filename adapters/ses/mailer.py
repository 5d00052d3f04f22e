"""Mail through Amazon SES (`SendEmail`): a subject, a text and an HTML body, all UTF-8.

A refusal (a `ClientError` such as `MessageRejected`) or an unreachable endpoint (connection
errors, timeouts) is raised as `ServiceUnavailable`, chained from the original so the caller
can log and report it; its message says nothing a client should not see.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.lifecycle import ManagedClient
from domain.auth.model import Email
from domain.errors import ServiceUnavailable

if TYPE_CHECKING:
    from types_aiobotocore_ses import SESClient
else:
    SESClient = object

CHARSET = "UTF-8"
FAILURE_MESSAGE = "mail could not be sent"


class SesMailer:
    def __init__(self, client: ManagedClient[SESClient], from_email: str) -> None:
        self._client = client
        self._from = from_email

    async def send(self, message: Email) -> None:
        # botocore is imported by the time a client exists; importing here keeps it off the
        # import path of this module (and so of any cold start that only names the class).
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            client = await self._client.get()
            await client.send_email(
                Source=self._from,
                Destination={"ToAddresses": [message.to]},
                Message={
                    "Subject": {"Data": message.subject, "Charset": CHARSET},
                    "Body": {
                        "Text": {"Data": message.text, "Charset": CHARSET},
                        "Html": {"Data": message.html, "Charset": CHARSET},
                    },
                },
            )
        # ClientError: SES refused (MessageRejected, throttling, bad credentials).
        # BotoCoreError: no connection, timeouts, no credentials or region, bad parameters.
        # OSError: anything below botocore that escaped its wrapping (TimeoutError included).
        except (ClientError, BotoCoreError, OSError) as exc:
            raise ServiceUnavailable(FAILURE_MESSAGE) from exc
