"""Run mongoeco's MongoDB wire-protocol server in a process of its own.

Started by ``tests.support.provision`` (for the test session when neither ``TEST_MONGODB_URI``
nor a Docker engine is available, for the fault tests and for the benchmarks), in memory, and by
``make dev`` (devtools/dev.py) with ``--sqlite``: mongoeco's SQLite engine keeps every document
in that file, so a restart finds them again. It binds a loopback port, prints the
``mongodb://`` URI on one line of stdout and serves until its stdin closes (its parent ended or
died) or it gets SIGTERM/SIGINT.

The server lives in its own process on purpose: when motor is the client and the wire server
shares its event loop or thread, motor's synchronous ``close()`` blocks for ~20 s.

    python devtools/mongoeco_server.py [--host 127.0.0.1] [--port 0] [--dialect 7.0]
                                       [--sqlite PATH]
"""

import argparse
import asyncio
import os
import signal
import sys
import threading
from contextlib import suppress


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (loopback only)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
    parser.add_argument(
        "--dialect", default="7.0", help="MongoDB version to emulate (7.0, 8.0, 9.0)"
    )
    parser.add_argument(
        "--sqlite", default=None, help="keep the data in this SQLite file (default: in memory)"
    )
    return parser.parse_args(argv)


def _watch_stdin(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Block until stdin reaches EOF, then ask the loop to stop.

    The parent holds the write end of the pipe: it closes it to stop us, and the OS closes
    it when the parent dies, so the server never outlives its test session.
    """
    with suppress(OSError, ValueError):
        while os.read(0, 4096):  # raw fd: a buffered read blocks interpreter shutdown
            pass
    with suppress(RuntimeError):  # the loop has already finished
        loop.call_soon_threadsafe(stop.set)


async def _serve(host: str, port: int, dialect: str, sqlite: str | None) -> None:
    # Imported here so that `--help` stays fast; mongoeco takes ~1.5 s to import.
    from mongoeco.engines.memory import MemoryEngine
    from mongoeco.engines.sqlite import SQLiteEngine
    from mongoeco.wire.proxy import AsyncMongoEcoProxyServer

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with suppress(NotImplementedError, RuntimeError):  # not on Windows
            loop.add_signal_handler(signum, stop.set)
    threading.Thread(
        target=_watch_stdin, args=(loop, stop), name="stdin-watch", daemon=True
    ).start()

    server = AsyncMongoEcoProxyServer(
        engine=MemoryEngine() if sqlite is None else SQLiteEngine(sqlite),
        host=host,
        port=port,
        mongodb_dialect=dialect,
    )
    address = await server.start()
    try:
        sys.stdout.write(address.uri + "\n")
        sys.stdout.flush()
        await stop.wait()
    finally:
        await server.close()


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    asyncio.run(_serve(args.host, args.port, args.dialect, args.sqlite))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
