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
