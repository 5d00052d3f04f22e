# Before anything imports socketio or engineio: the server gets them without their client stacks
# (aiohttp, requests, websocket-client), which cost cold start and are never used here.
from entrypoints import lean_imports

lean_imports.install()
