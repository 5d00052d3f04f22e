"""`GET /api/v1/config` (public): the limits and features a front end checks before sending,
read from the policies and settings the server enforces (schemas/config.py)."""

from __future__ import annotations

from quart import Blueprint
from quart_schema import validate_response

from domain.auth.model import NAME_MAX, PASSWORD_MAX, PASSWORD_MIN
from domain.auth.policy import AuthPolicy
from domain.chat.model import ATTACHMENTS_MAX, BODY_MAX, MEMBERS_MAX, ROOM_NAME_MAX
from domain.files.model import LIST_MAX
from entrypoints.http.deps import container
from schemas.config import (
    ChatLimits,
    ClientConfigOut,
    Features,
    PasswordRules,
    RateLimits,
    TokenLifetimes,
    UploadLimits,
)

blueprint = Blueprint("client_config", __name__, url_prefix="/config")


@blueprint.get("")
@validate_response(ClientConfigOut, 200)
async def get_config() -> ClientConfigOut:
    """This deployment's limits and features, for forms to check before they send."""
    c = container()
    settings = c.settings()
    files = c.services.files().policy
    chat = c.services.chat().policy
    auth: AuthPolicy = c.services.auth_policy()
    return ClientConfigOut(
        uploads=UploadLimits(
            max_bytes=files.max_upload_bytes,
            multipart_max_bytes=files.multipart_max_bytes,
            multipart_part_size=files.multipart_part_size,
            allowed_types=list(files.allowed_types),
            quota_bytes=files.quota_bytes,
            quota_files=files.quota_files,
            uploads_per_hour=files.uploads_per_hour,
            list_max=min(files.list_max, LIST_MAX),
        ),
        tokens=TokenLifetimes(
            access_s=c.adapters.tokens().ttl_s,
            refresh_s=auth.refresh_ttl_s,
            email_code_s=auth.otp_ttl_s,
            email_code_attempts=auth.otp_max_attempts,
            reset_s=auth.reset_ttl_s,
        ),
        passwords=PasswordRules(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX),
        name_max=NAME_MAX,
        chat=ChatLimits(
            message_max=BODY_MAX,
            room_name_max=ROOM_NAME_MAX,
            members_max=MEMBERS_MAX,
            page_max=chat.page_max,
            typing_ttl_s=chat.typing_ttl_s,
            rooms_per_user=chat.rooms_per_user,
            invitations_pending_max=chat.invitations_pending_max,
            edit_window_s=c.services.message_edits().policy.edit_window_s,
            attachments_max=ATTACHMENTS_MAX,
        ),
        rate_limits=RateLimits(
            api_requests_per_minute=auth.api_requests_per_minute,
            login_failures_per_minute=auth.login_failures_per_minute,
            code_cooldown_s=auth.otp_cooldown_s,
            messages_per_window=chat.messages_per_window,
            message_window_s=chat.message_window_s,
            rooms_per_hour=chat.rooms_per_hour,
            invitations_per_hour=chat.invitations_per_hour,
            sockets_per_user=settings.sockets_per_user,
            sockets_per_ip=settings.sockets_per_ip,
            socket_events_per_10s=settings.socket_events_per_10s,
        ),
        features=Features(
            direct_uploads=True,
            storage="s3" if settings.uses_s3 else "disk" if settings.uses_disk_files else "memory",
            dev_mailbox=not settings.is_production and not settings.uses_ses,
            simulated_rooms=True,
        ),
    )
