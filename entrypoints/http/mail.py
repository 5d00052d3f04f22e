"""SES's bounce and complaint notifications, delivered by Amazon SNS (README "Mail reputation").

Public (SNS signs, it does not authenticate): every message's signature, topic, certificate
URL and age are checked before anything is recorded or fetched (domain/mail/sns.py).
"""

from __future__ import annotations

from quart import Blueprint, Response, request
from quart_schema import document_headers, document_request, document_response

from domain.mail.sns import SesNotifications
from entrypoints.http.deps import container
from entrypoints.http.openapi import no_content
from schemas.common import ErrorResponse
from schemas.mail import SnsHeaders, SnsMessageIn

blueprint = Blueprint("ses", __name__, url_prefix="/ses")


@blueprint.post("/notifications")
@document_headers(SnsHeaders)
@document_request(SnsMessageIn)
@no_content
@document_response(ErrorResponse, 403)
@document_response(ErrorResponse, 404)
async def receive_notification() -> Response:
    """Receive one SNS message of the SES topic (204): a bounce or complaint notification, or
    a subscription confirmation (confirmed by GETting its SubscribeURL).

    403 `invalid_notification` for a message that is not authentic (signature, topic,
    certificate host, signature version, older than an hour); 404 when no topic is configured.
    """
    notifications: SesNotifications = container().services.ses_notifications()
    kind = request.headers.get("x-amz-sns-message-type", "")
    await notifications.receive(kind, await request.get_data(cache=False))
    return Response(status=204)
