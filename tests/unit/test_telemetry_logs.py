"""JSON lines on stdout, the request's log context, workflow events and scrubbing."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from adapters.telemetry import context as log_context
from adapters.telemetry.events import LoggingEventLog
from adapters.telemetry.json_logs import install_json_logging
from adapters.telemetry.scrub import REDACTED, redact

pytestmark = pytest.mark.unit

REFRESH_MAC = "Xk9_qL2mZ7vB1nC4dE6fG8hJ0kL2mN4pQ6rS8tU0vW2"  # an HMAC-SHA256, base64url


@pytest.fixture
def stdout() -> Iterator[io.StringIO]:
    """The root logger writing JSON lines to a buffer, as `configure_logging` sets it up."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    install_json_logging("INFO", stream)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_record_is_one_json_line_with_its_fields(stdout: io.StringIO) -> None:
    logging.getLogger("flowhub.test").info(
        "GET %s %d", "/health", 200, extra={"route": "/health", "status": 200}
    )
    logging.getLogger("flowhub.test").debug("below the level")

    [line] = lines(stdout)
    assert line["level"] == "INFO"
    assert line["logger"] == "flowhub.test"
    assert line["msg"] == "GET /health 200"
    assert (line["route"], line["status"]) == ("/health", 200)
    assert line["ts"].endswith("Z") and len(line["ts"]) == 24
    assert "taskName" not in line and "stack_info" not in line


def test_lines_logged_while_a_request_is_served_carry_its_ids(stdout: io.StringIO) -> None:
    token = log_context.bind(request_id="req-9")
    log_context.annotate(user_id="user-9")
    logging.getLogger("flowhub.test").warning("inside")
    log_context.unbind(token)
    logging.getLogger("flowhub.test").warning("outside")

    inside, outside = lines(stdout)
    assert (inside["request_id"], inside["user_id"]) == ("req-9", "user-9")
    assert "request_id" not in outside


def test_an_exception_line_has_a_scrubbed_traceback(stdout: io.StringIO) -> None:
    try:
        raise RuntimeError("password=hunter2 for ada@example.com")
    except RuntimeError:
        logging.getLogger("flowhub.test").exception("failed")

    [line] = lines(stdout)
    assert line["level"] == "ERROR"
    assert line["exc_type"] == "RuntimeError"
    assert "Traceback" in line["exc"]
    assert "hunter2" not in line["exc"] and "ada@example.com" not in line["exc"]


def test_sensitive_fields_are_redacted(stdout: io.StringIO) -> None:
    logging.getLogger("flowhub.test").info("x", extra={"password": "p", "user_id": "u1"})
    [line] = lines(stdout)
    assert (line["password"], line["user_id"]) == (REDACTED, "u1")


def test_workflow_events_are_info_lines_with_their_fields(stdout: io.StringIO) -> None:
    events = LoggingEventLog()
    events.record("login", user_id="u1", method="password", name="clash")
    events.warn("token_reused", user_id="u1", session_id="s1")

    login, reused = lines(stdout)
    assert login["level"] == "INFO" and login["event"] == "login"
    assert (login["user_id"], login["method"], login["name_"]) == ("u1", "password", "clash")
    assert reused["level"] == "WARNING" and reused["session_id"] == "s1"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer abc.def-ghi_jkl", "abc.def-ghi_jkl"),
        ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-nature_x", "eyJzdWIiOiIxIn0"),
        ('{"password": "hunter2"}', "hunter2"),
        ("new_password=correct-horse&x=1", "correct-horse"),
        ("your code is 482913.", "482913"),
        ("code: 482913", "482913"),
        ("key AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
        ("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        ("mongodb+srv://flowhub:s3cr3t@cluster0.example.net/db", "s3cr3t"),
        ("no account for ada.lovelace@example.com", "ada.lovelace@example.com"),
        (
            "refresh 0f1e2d3c4b5a69788796a5b4c3d2e1f0.3." + REFRESH_MAC,
            REFRESH_MAC,
        ),
    ],
)
def test_redact_removes_what_secrets_look_like(text: str, secret: str) -> None:
    assert secret not in redact(text)


def test_redact_keeps_ids_hashes_and_ordinary_text() -> None:
    text = (
        "user 0f1e2d3c4b5a69788796a5b4c3d2e1f0 status_code=500 port 27017 took 1500 ms "
        "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    )
    assert redact(text) == text
