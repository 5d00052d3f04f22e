"""Avatars (API.md: PATCH /users/me `avatar_file_id`): a user's avatar is one of their own
ready images, made public when it is chosen, so its URL is stable, token-free and cacheable
(the public copies of domain/files/service.py). The user record keeps the file's id and the
public token it had then; the URL is worked out when a profile is read, from the file's
current record, so an avatar whose file was deleted or made private is simply absent, never a
broken URL. Reading the avatars of a page of users is one read of the file store."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from domain.auth.model import User
from domain.errors import Conflict
from domain.files.service import FileService

# The thumbnail an avatar is shown with: 256 px, the whole image within a 256 px square
# (THUMBNAIL_SPECS); an image no larger, or one without thumbnails, is shown as it is.
AVATAR_SIZE = 256


@dataclass(slots=True)
class Avatars:
    files: FileService

    async def publish(self, user_id: str, file_id: str) -> str:
        """Make the user's ready image `file_id` public (it may be already) and answer its
        public token. Errors as `FileService.set_public` (NotFound for a file that is not the
        user's, NotAnImage, UploadIncomplete for a pending file, QuotaExceeded)."""
        record = await self.files.set_public(user_id, file_id, True)
        if record.public_token is None:  # made private by another request meanwhile
            raise Conflict("The file was made private meanwhile; choose it again.")
        return record.public_token

    async def urls(self, users: Iterable[User]) -> dict[str, str]:
        """The avatar URLs of those of `users` whose avatar is still there, by user id."""
        chosen = [
            (u.avatar_file_id, u.id, u.avatar_token)
            for u in users
            if u.avatar_file_id is not None and u.avatar_token is not None
        ]
        by_file = await self.files.public_images(chosen, AVATAR_SIZE)
        return {owner: by_file[f] for f, owner, _ in chosen if f in by_file}
