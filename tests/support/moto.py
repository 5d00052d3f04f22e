"""Reading back what moto's SES accepted."""

from __future__ import annotations

from typing import Any


async def moto_sent_messages(endpoint_url: str) -> list[dict[str, Any]]:
    """Every message moto's SES has accepted, from its state dump (`/moto-api/data.json`,
    served by any moto server, in this process or not)."""
    import httpx

    async with httpx.AsyncClient(base_url=endpoint_url, timeout=10) as http:
        response = await http.get("/moto-api/data.json")
    response.raise_for_status()
    messages: list[dict[str, Any]] = response.json().get("ses", {}).get("Message", [])
    return messages


async def reset_moto(endpoint_url: str) -> None:
    """Forget everything moto holds (`POST /moto-api/reset`).

    moto keeps every S3 key it ever made, multipart parts included, and those parts break its
    state dump (`/moto-api/data.json`, from which the SES tests read mail back) for the rest of
    the session. Tests that upload in parts reset after themselves; every test makes its own
    buckets and identities, so nothing another test needs is lost."""
    import httpx

    async with httpx.AsyncClient(base_url=endpoint_url, timeout=10) as http:
        await http.post("/moto-api/reset")


def public_read_policy(bucket: str) -> dict[str, Any]:
    """The bucket policy README "Files" documents: anyone may GET `public/*`, nothing else
    (moto evaluates it for anonymous requests: without it they are 403)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublicImages",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/public/*",
            }
        ],
    }
