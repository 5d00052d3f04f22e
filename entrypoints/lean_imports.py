"""python-socketio and python-engineio without their client halves at start.

Each package's `__init__` imports its clients (`socketio.AsyncClient`, `engineio.Client`, ...),
and they import aiohttp, requests and websocket-client, which the server never uses; Python runs
a package's `__init__` before any of its submodules, so importing `socketio.async_server` alone
does not avoid them. `install()` puts a lazy stand-in for each package in `sys.modules`: it has
the real package's path and spec, so `import socketio.async_server` loads that submodule only,
and its attributes are the ones the real `__init__` binds, each imported on first access
(`socketio.AsyncClient` still works, it only costs its imports when asked for).

`entrypoints/__init__.py` calls `install()`, so every server shape (`python -m entrypoints`,
`uvicorn entrypoints.asgi:create_app --factory`, the bench apps) gets it before anything imports
`socketio`. A process that imported either package already keeps it as it is.
tests/unit/test_lean_imports.py checks the names below against the installed packages.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

# What each package's `__init__` binds: name -> the submodule it comes from (python-socketio 5.x,
# python-engineio 4.x).
SOCKETIO_NAMES = {
    "Client": "client",
    "SimpleClient": "simple_client",
    "Manager": "manager",
    "PubSubManager": "pubsub_manager",
    "KombuManager": "kombu_manager",
    "RedisManager": "redis_manager",
    "KafkaManager": "kafka_manager",
    "ZmqManager": "zmq_manager",
    "Server": "server",
    "Namespace": "namespace",
    "ClientNamespace": "namespace",
    "WSGIApp": "middleware",
    "Middleware": "middleware",
    "get_tornado_handler": "tornado",
    "AsyncClient": "async_client",
    "AsyncSimpleClient": "async_simple_client",
    "AsyncServer": "async_server",
    "AsyncManager": "async_manager",
    "AsyncNamespace": "async_namespace",
    "AsyncClientNamespace": "async_namespace",
    "AsyncRedisManager": "async_redis_manager",
    "AsyncAioPikaManager": "async_aiopika_manager",
    "ASGIApp": "asgi",
}
ENGINEIO_NAMES = {
    "Client": "client",
    "WSGIApp": "middleware",
    "Middleware": "middleware",
    "Server": "server",
    "AsyncServer": "async_server",
    "AsyncClient": "async_client",
    "ASGIApp": "async_drivers.asgi",
    "get_tornado_handler": "async_drivers.tornado",
}
# Names the real `__init__` sets to None when their submodule cannot be imported (tornado absent).
OPTIONAL_NAMES = {"engineio": {"get_tornado_handler"}}
PACKAGES = {"socketio": SOCKETIO_NAMES, "engineio": ENGINEIO_NAMES}


def install() -> None:
    for package, names in PACKAGES.items():
        if package in sys.modules:
            continue
        spec = importlib.util.find_spec(package)
        if spec is None or spec.submodule_search_locations is None:
            continue  # not installed: the first real import says so
        sys.modules[package] = _lazy_package(package, spec, names)


def _lazy_package(package: str, spec: ModuleSpec, names: dict[str, str]) -> ModuleType:
    module = ModuleType(package, f"{package}, its names imported on first access")
    module.__spec__ = spec
    module.__path__ = list(spec.submodule_search_locations or [])
    module.__file__ = spec.origin
    module.__package__ = package
    module.__all__ = list(names)  # type: ignore[attr-defined]  # a module's own attribute
    optional = OPTIONAL_NAMES.get(package, set())

    def __getattr__(name: str) -> Any:  # PEP 562: called for missing attributes
        if name in names:
            try:
                value = getattr(importlib.import_module(f"{package}.{names[name]}"), name)
            except ImportError:
                if name not in optional:
                    raise
                value = None
        elif not name.startswith("__") and importlib.util.find_spec(f"{package}.{name}"):
            # a submodule the real `__init__` would have imported on the way (`.exceptions`)
            value = importlib.import_module(f"{package}.{name}")
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        setattr(module, name, value)
        return value

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    return module
