"""Drive the files API the way a front end does: multipart bodies built by hand, so file names
and part headers can be anything a hostile client sends."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from quart.typing import TestClientProtocol as Client
from werkzeug.datastructures import Headers

from config.container import Container
from tests.api.auth_client import API, AuthClient

BOUNDARY = "----FlowHubTestBoundary7MA4YWxkTrZu0gW"

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 800  # ~200 KB
PDF = b"%PDF-1.7\n" + b"1 0 obj\n<<>>\nendobj\n" * 100
TEXT = "Grüße aus FlowHub ✨\n".encode() * 50
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(4000)


def file_part(
    data: bytes,
    filename: str = "photo.png",
    content_type: str | None = "image/png",
    *,
    field: str = "file",
    encoded_name: bool = False,
) -> bytes:
    """One multipart part. The name goes raw in `filename` (UTF-8, quotes and line breaks
    percent-encoded as browsers do), or as RFC 5987 `filename*` with `encoded_name`."""
    if encoded_name:
        disposition = f"form-data; name=\"{field}\"; filename*=UTF-8''{quote(filename, safe='')}"
    else:
        raw = filename.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
        disposition = f'form-data; name="{field}"; filename="{raw}"'
    head = f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n"
    if content_type is not None:
        head += f"Content-Type: {content_type}\r\n"
    return head.encode() + b"\r\n" + data + b"\r\n"


def field_part(name: str, value: str) -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
    ).encode()


def multipart(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def path_of(url: str) -> str:
    """The path and query of an absolute URL of this app (the test client takes paths)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


class FilesClient(AuthClient):
    def __init__(self, client: Client, container: Container) -> None:
        super().__init__(client, container)

    async def token(self, email: str) -> str:
        pair = await self.signed_up(email)
        return str(pair["access_token"])

    async def upload(
        self,
        token: str,
        data: bytes,
        filename: str = "photo.png",
        content_type: str | None = "image/png",
        **options: Any,
    ) -> tuple[int, Any]:
        body = multipart(file_part(data, filename, content_type, **options))
        return await self.send_form(f"{API}/files", body, token)

    async def send_form(
        self, path: str, body: bytes, token: str | None = None, **headers: str
    ) -> tuple[int, Any]:
        headers.setdefault("Content-Type", MULTIPART)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = await self.client.post(path, data=body, headers=headers)
        return response.status_code, await response.get_json()

    async def call(self, method: str, path: str, token: str | None) -> tuple[int, Any, Headers]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.client.open(f"{API}{path}", method=method, headers=headers, json=None)
        return response.status_code, await response.get_json(), response.headers

    async def fetch(self, url: str) -> tuple[int, bytes, Headers]:
        response = await self.client.get(path_of(url))
        return response.status_code, await response.get_data(as_text=False), response.headers
