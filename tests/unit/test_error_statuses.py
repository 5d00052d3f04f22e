"""Every domain error has an HTTP status, found along its class tree, and the README's error
table tells clients about it: a new error class cannot ship without deciding both."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import domain
from domain.errors import DomainError
from entrypoints.http.errors import domain_status

pytestmark = pytest.mark.unit

README = Path(__file__).resolve().parents[2] / "README.md"

# Errors the domain raises and catches itself; they never reach a client.
INTERNAL = {"EmailTaken", "DuplicateMessage"}


def concrete_errors() -> list[type[DomainError]]:
    for module in pkgutil.walk_packages(domain.__path__, "domain."):
        importlib.import_module(module.name)
    found: list[type[DomainError]] = []
    pending = [DomainError]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            found.append(sub)
            pending.append(sub)
    return sorted(set(found), key=lambda c: c.__name__)


def readme_table() -> set[tuple[int, str]]:
    section = README.read_text().split("## Errors", 1)[1].split("\n## ", 1)[0]
    rows: set[tuple[int, str]] = set()
    for status, codes in re.findall(r"^\| (\d{3}) \| ([^|]+) \|", section, re.M):
        rows |= {(int(status), code) for code in re.findall(r"`([a-z_]+)`", codes)}
    return rows


def test_the_error_tree_is_found() -> None:
    names = {cls.__name__ for cls in concrete_errors()}
    assert {"NotFound", "InvalidCredentials", "PayloadTooLarge", "RoomBusy"} <= names


@pytest.mark.parametrize(
    "error",
    [cls for cls in concrete_errors() if cls.__name__ not in INTERNAL],
    ids=lambda c: c.__name__,
)
def test_every_domain_error_maps_to_its_documented_status(error: type[DomainError]) -> None:
    status = domain_status(error.__new__(error))
    assert (status, error.code) in readme_table(), (
        f"{error.__name__} answers {status} {error.code!r}: add that row to the README's"
        " error table, or give the class a family with the status it should have"
    )


def test_a_subclass_inherits_its_family_status() -> None:
    from domain.errors import Forbidden, ServiceUnavailable

    class Fresh(ServiceUnavailable):
        code = "fresh"

    class Denied(Forbidden):
        pass

    assert domain_status(Fresh()) == 503
    assert domain_status(Denied()) == 403
    assert domain_status(DomainError()) == 400


def test_the_error_code_enum_is_the_readme_table() -> None:
    """The OpenAPI/AsyncAPI `ErrorCode` enum lists exactly the codes the README documents (the
    table, plus Socket.IO's `unknown_event` described under it), and every code the HTTP layer
    translates Werkzeug's errors to is one of them."""
    from entrypoints.http.errors import HTTP_CODES
    from schemas.common import ErrorCode

    documented = {code for _, code in readme_table()} | {"unknown_event"}
    assert {c.value for c in ErrorCode} == documented
    assert {code for code, _ in HTTP_CODES.values()} <= documented
