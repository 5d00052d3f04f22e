from __future__ import annotations

from domain.errors import Forbidden


class InvalidNotification(Forbidden):
    """An SNS message that is not one FlowHub accepts (its signature, topic, certificate URL,
    signature version or age): refused with 403, nothing recorded."""

    code = "invalid_notification"
    default_message = "The notification is not an authentic SNS message for this endpoint."
