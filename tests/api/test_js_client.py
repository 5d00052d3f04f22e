"""Interoperability with the official JavaScript client (`socket.io-client` from npm), which the
front ends use: a node script connects with a token, sends with an ack and receives the message."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.api.realtime_client import call, sign_up
from tests.support.processes import running_server

pytestmark = pytest.mark.api

INTEROP = Path(__file__).resolve().parents[1] / "interop"


def node_client() -> list[str]:
    node = shutil.which("node")
    if node is None or not (INTEROP / "node_modules" / "socket.io-client").is_dir():
        pytest.fail(
            "node and tests/interop/node_modules are needed: `make test` runs `npm ci` there "
            "(install Node.js 18+ if `node` is missing)"
        )
    return [node, str(INTEROP / "chat_client.mjs")]


async def test_the_official_js_client_connects_sends_with_an_ack_and_receives() -> None:
    command = node_client()
    with running_server(env={"APP_ENV": "development"}) as server:
        ada = await sign_up(server.url, "js-ada@example.com")
        status, room = await call(server.url, ada, "POST", "/chat/rooms", {"name": "Interop"})
        assert status == 201
        done = await asyncio.to_thread(
            subprocess.run,
            [*command, server.url, ada.token, room["id"]],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["refused"] == "unauthorized"
    assert result["connected"] is True
    assert result["ack"]["ok"] is True
    message = result["received"]
    assert message == result["ack"]["message"]
    assert message["room_id"] == room["id"]
    assert message["sender_id"] == ada.user_id
    assert message["body"] == "hello from socket.io-client"
    assert message["seq"] == 1
