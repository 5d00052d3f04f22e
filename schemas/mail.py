"""The SNS messages SES's notifications arrive in (POST /ses/notifications), as documentation:
SNS sends them as `text/plain` JSON, so the route reads the body itself (domain/mail/sns.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class SnsHeaders(BaseModel):
    x_amz_sns_message_type: Literal[
        "Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"
    ] = Field(description="SNS's `x-amz-sns-message-type`; must equal the body's `Type`")


class SnsMessageIn(BaseModel):
    """An Amazon SNS HTTP(S) message (AWS's field names). `Subject` on notifications only;
    `SubscribeURL` and `Token` on (un)subscribe confirmations only."""

    Type: Literal["Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"]
    MessageId: str
    TopicArn: str = Field(description="must be `SES_SNS_TOPIC_ARN`")
    Message: str = Field(description="a notification's SES event (JSON text): Bounce, Complaint")
    Timestamp: str = Field(description="ISO 8601; at most one hour old")
    SignatureVersion: Literal["1", "2"] = Field(description="1: SHA1withRSA, 2: SHA256withRSA")
    Signature: str = Field(description="base64, over the canonical string AWS documents")
    SigningCertURL: str = Field(description="https on sns.<region>.amazonaws.com, ending .pem")
    Subject: str | None = None
    SubscribeURL: str | None = Field(default=None, description="same host rule")
    Token: str | None = None
    UnsubscribeURL: str | None = None
