"""Start-up that catches mistakes: where the server listens (HOST), a port in use named as the
variable to change, and RELAXED_LIMITS, which development may set and production refuses."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

from config.container import build_container
from config.settings import SettingsError, load_settings
from domain.errors import TooManyRequests
from entrypoints.server import CannotListen, listen
from tests.unit.test_settings import production_env

pytestmark = pytest.mark.unit

SECRETS = {"JWT_SECRET": "a" * 40, "JWT_REFRESH_SECRET": "b" * 40}


def test_a_development_server_listens_on_this_machine_only_and_production_everywhere() -> None:
    assert load_settings({}).host == "127.0.0.1"
    assert load_settings({"APP_ENV": "test"}).host == "127.0.0.1"
    assert load_settings(production_env()).host == "0.0.0.0"
    assert load_settings({"HOST": "0.0.0.0"}).host == "0.0.0.0"
    assert load_settings({"HOST": "::"}).host == "::"
    assert load_settings({"HOST": "localhost"}).host == "localhost"


@pytest.mark.parametrize("value", ["0.0.0.0:4000", "http://localhost", "a b", "-x"])
def test_a_host_that_is_not_an_address_or_a_name_is_named(value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"HOST": value})
    [problem] = caught.value.problems
    assert problem.startswith("HOST: must be an IP address")


def test_the_server_socket_binds_the_host_the_settings_give() -> None:
    with listen(load_settings({"PORT": "1"}).host, 0) as sock:
        assert sock.getsockname()[0] == "127.0.0.1"


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_a_port_in_use_is_one_sentence_naming_port(taken_port: int) -> None:
    with pytest.raises(CannotListen) as caught:
        listen("127.0.0.1", taken_port)
    message = str(caught.value)
    assert f"127.0.0.1:{taken_port} is already in use" in message
    assert "set PORT" in message


def test_the_server_exits_78_naming_port_when_its_port_is_in_use(
    taken_port: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from entrypoints.__main__ import main

    monkeypatch.setattr(os, "environ", {"PORT": str(taken_port), "LOG_LEVEL": "ERROR"})
    assert main() == 78
    error = capsys.readouterr().err
    assert "set PORT" in error
    assert "Traceback" not in error


def test_an_address_not_of_this_machine_names_host() -> None:
    with pytest.raises(CannotListen) as caught:
        listen("192.0.2.1", 0)  # TEST-NET-1: never a local address
    assert "set HOST" in str(caught.value)


def test_relaxed_limits_are_refused_in_production_with_exit_78(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from entrypoints.__main__ import main

    with pytest.raises(SettingsError) as caught:
        load_settings({"APP_ENV": "production", "RELAXED_LIMITS": "1"})
    assert "RELAXED_LIMITS: must not be set in production" in str(caught.value)
    monkeypatch.setattr(os, "environ", {"APP_ENV": "production", "RELAXED_LIMITS": "true"})
    assert main() == 78
    assert "RELAXED_LIMITS: must not be set in production" in capsys.readouterr().err
    assert not load_settings(production_env(RELAXED_LIMITS="0")).relaxed_limits


def test_relaxed_limits_must_be_a_yes_or_no() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"RELAXED_LIMITS": "maybe"})
    assert caught.value.problems == ["RELAXED_LIMITS: must be 1 or 0 (true or false)"]


async def _signups_from_one_address(env: dict[str, str], count: int) -> int:
    """How many of `count` signups from one address are accepted (memory adapters)."""
    auth = build_container(load_settings({**SECRETS, **env})).services.registration()
    for n in range(count):
        try:
            await auth.signup(f"e2e-{n}@example.com", "a long password", "E2E", "127.0.0.1")
        except TooManyRequests:
            return n
    return count


async def test_repeated_signups_from_localhost_meet_the_limit_unless_relaxed() -> None:
    assert await _signups_from_one_address({}, 25) == 20  # AuthPolicy.signups_per_ip_per_hour
    assert await _signups_from_one_address({"RELAXED_LIMITS": "1"}, 25) == 25
