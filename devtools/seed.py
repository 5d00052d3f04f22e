"""`make seed`: a ready two-person chat on the running `make dev`, through its public HTTP API.

    python -m devtools.seed [--url http://127.0.0.1:4000] [--env-file .env]

Two verified users with known passwords (printed), a room with both and a few messages from each.
Idempotent: a user that exists and signs in is kept; one left unverified is verified with a new
code; the room is found by its name among Alice's rooms; each message carries a fixed
`client_id`, so sending it again returns the first one (the API's no-duplicate rule). The
email codes come from the development mailbox (`GET /api/v1/dev/mailbox`), so this works only
on a server without a real mail service: the development shape `make dev` serves.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.dev import LOOPBACK, ROOT, read_env_file

ROOM = "Seed: Alice and Bob"


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    email: str
    password: str


PEOPLE = (
    Person("Alice", "alice@example.com", "alice-dev-password"),
    Person("Bob", "bob@example.com", "bob-dev-password"),
)
# (who, client_id, body): who indexes PEOPLE
MESSAGES = (
    (0, "seed-1", "Hi Bob, this room comes from make seed."),
    (1, "seed-2", "Hi Alice! Sign in as either of us in two browsers to chat."),
    (0, "seed-3", "Files, presence and typing work here too."),
)
_CODE = re.compile(r"\b(\d{6})\b")


class SeedError(Exception):
    pass


class Api:
    def __init__(self, origin: str) -> None:
        self.origin = origin.rstrip("/")

    def call(
        self, method: str, path: str, body: object = None, token: str | None = None
    ) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - the dev server's own URL
            f"{self.origin}/api/v1{path}", data=data, method=method
        )
        request.add_header("Content-Type", "application/json")
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                return error.code, json.loads(raw) if raw else None
            except ValueError:
                return error.code, None

    def mailbox(self, email: str) -> list[dict[str, str]]:
        """What the development mailer sent to `email`, newest first."""
        status, body = self.call("GET", f"/dev/mailbox?to={urllib.parse.quote(email)}")
        if status == 404:
            raise SeedError(
                "this server has no development mailbox (a real mail service is configured): "
                "make seed runs against make dev"
            )
        messages: list[dict[str, str]] = body["messages"]
        return messages

    def new_code(self, email: str, seen: int, wait_s: float = 10.0) -> str | None:
        """The verification code of a message after the first `seen` ones, waiting a little
        for it: the server mails in the background, after it has answered."""
        deadline = time.monotonic() + wait_s
        while True:
            messages = self.mailbox(email)
            for message in messages[: len(messages) - seen]:  # newest first
                found = _CODE.search(message["subject"])
                if found and message["subject"].startswith("Verify your email"):
                    return found.group(1)
            if time.monotonic() > deadline:
                return None
            time.sleep(0.1)


def _error_code(body: Any) -> str:
    return str(body.get("error", {}).get("code")) if isinstance(body, dict) else ""


def _verify(api: Api, person: Person, seen: int) -> dict[str, Any]:
    code = api.new_code(person.email, seen)
    if code is None:
        raise SeedError(f"no verification code for {person.email} in the development mailbox")
    status, body = api.call("POST", "/auth/verify-email", {"email": person.email, "code": code})
    if status != 200:
        raise SeedError(f"verifying {person.email} failed: {status} {_error_code(body)}")
    result: dict[str, Any] = body
    return result


def sign_in(api: Api, person: Person) -> dict[str, Any]:
    """The person's token pair: signed in if they exist, else signed up and verified."""
    credentials = {"email": person.email, "password": person.password}
    status, body = api.call("POST", "/auth/login", credentials)
    if status == 200:
        return dict(body)
    if status == 403 and _error_code(body) == "email_not_verified":
        seen = len(api.mailbox(person.email))
        request = {"email": person.email, "purpose": "verify_email"}
        status, body = api.call("POST", "/auth/otp/request", request)
        if status == 429:  # a code went out under a minute ago: the newest one is still valid
            seen = 0
        elif status != 202:
            raise SeedError(f"asking a code for {person.email} failed: {status}")
        return _verify(api, person, seen)
    if status != 401:
        raise SeedError(f"signing {person.email} in failed: {status} {_error_code(body)}")
    seen = len(api.mailbox(person.email))
    status, body = api.call("POST", "/auth/signup", {**credentials, "name": person.name})
    if status != 202:
        raise SeedError(f"signing {person.email} up failed: {status} {_error_code(body)}")
    status, body = api.call("POST", "/auth/login", credentials)
    if status == 401:
        raise SeedError(
            f"{person.email} exists with another password: make dev-reset starts afresh"
        )
    return _verify(api, person, seen)


def seed(api: Api) -> dict[str, Any]:
    pairs = [sign_in(api, person) for person in PEOPLE]
    tokens = [pair["access_token"] for pair in pairs]
    ids = [pair["user"]["id"] for pair in pairs]
    status, body = api.call("GET", "/chat/rooms", token=tokens[0])
    if status != 200:
        raise SeedError(f"listing Alice's rooms failed: {status}")
    room = next((r for r in body["items"] if r["name"] == ROOM), None)
    if room is None:
        status, room = api.call(
            "POST", "/chat/rooms", {"name": ROOM, "member_ids": [ids[1]]}, token=tokens[0]
        )
        if status != 201:
            raise SeedError(f"creating the room failed: {status} {_error_code(room)}")
    elif ids[1] not in room["member_ids"]:
        api.call("POST", f"/chat/rooms/{room['id']}/members", {"user_id": ids[1]}, tokens[0])
    if ids[1] not in room["member_ids"]:  # Bob accepts Alice's invitation
        status, room = api.call("POST", f"/chat/rooms/{room['id']}/accept", token=tokens[1])
        if status != 200:
            raise SeedError(f"accepting the invitation failed: {status} {_error_code(room)}")
    for who, client_id, text in MESSAGES:
        status, body = api.call(
            "POST",
            f"/chat/rooms/{room['id']}/messages",
            {"body": text, "client_id": client_id},
            token=tokens[who],
        )
        if status not in (200, 201):
            raise SeedError(f"sending {client_id} failed: {status} {_error_code(body)}")
    return {"room": room["id"], "users": ids}


def _origin(env_file: Path) -> str:
    values = read_env_file(env_file)
    host = os.environ.get("HOST") or values.get("HOST") or LOOPBACK
    port = os.environ.get("PORT") or values.get("PORT") or "4000"
    return f"http://{LOOPBACK if host in ('0.0.0.0', '::') else host}:{port}"  # noqa: S104


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.seed", description=__doc__)
    parser.add_argument("--url", help="the server (default: HOST and PORT of the shell or .env)")
    parser.add_argument("--env-file", type=Path, default=ROOT / ".env")
    args = parser.parse_args(argv)
    api = Api(args.url or _origin(args.env_file))
    try:
        with urllib.request.urlopen(f"{api.origin}/health", timeout=5):  # noqa: S310
            pass
    except OSError:
        print(f"make seed: nothing answers on {api.origin}: start make dev first", file=sys.stderr)
        return 1
    try:
        seeded = seed(api)
    except SeedError as error:
        print(f"make seed: {error}", file=sys.stderr)
        return 1
    print(f"make seed: ready on {api.origin}/ (room {ROOM!r}, id {seeded['room']})")
    for person in PEOPLE:
        print(f"  {person.name:<6} {person.email:<20} password: {person.password}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
