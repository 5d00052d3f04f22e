"""Run moto's S3/SES server in a process of its own (started by ``tests.support.provision``), so
that a fault test can stop it, pause it with SIGSTOP or restart it on the same port, which moto
in the test's own process cannot be.

It binds 127.0.0.1:<port>, prints its URL on one line of stdout and serves until its stdin
closes or it gets SIGTERM/SIGINT. moto keeps its state in memory: a restart starts empty.

    python -m tests.support.moto_server [--port 0]
"""

import argparse
import logging
import os
import signal
import sys
import threading
from contextlib import suppress


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    sys.stdout.write(f"http://{host}:{port}\n")
    sys.stdout.flush()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())

    def watch_stdin() -> None:
        with suppress(OSError, ValueError):
            while os.read(0, 4096):
                pass
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
