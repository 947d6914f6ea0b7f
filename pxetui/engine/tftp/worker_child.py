"""A TFTP worker process: the child side of :mod:`pxetui.engine.tftp.worker`.

It serves the transfers the parent hands over on stdin and reports events as JSON lines on
stdout. Its own module, so the parent side (imported by the server) never imports the
server back: no import cycle.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from pxetui.core.events import Event, event_to_dict
from pxetui.engine.tftp.server import TftpServer


def main(argv: list[str] | None = None) -> int:
    """Worker entry point: serve until told to stop, events as JSON lines on stdout."""
    args = sys.argv[1:] if argv is None else argv
    config: dict[str, Any] = json.loads(args[0])
    return asyncio.run(_serve(config))


async def _serve(config: dict[str, Any]) -> int:
    out = sys.stdout

    def publish(event: Event) -> None:
        out.write(json.dumps(event_to_dict(event)) + "\n")
        out.flush()

    root = Path(config.pop("root"))
    server = TftpServer(root, publish=publish, listen=False, **config)
    await server.start()
    out.write(json.dumps({"ready": os.getpid()}) + "\n")
    out.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    stdin = sys.stdin.fileno()
    os.set_blocking(stdin, False)
    pending = bytearray()

    def requests_from_parent() -> None:
        try:
            chunk = os.read(stdin, 1 << 16)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            stop.set()  # the parent went away
            loop.remove_reader(stdin)
            return
        pending.extend(chunk)
        *lines, rest = pending.split(b"\n")
        pending[:] = rest
        for line in lines:
            try:
                req = json.loads(line)
                data = base64.b64decode(req["d"])
                client = (str(req["ip"]), int(req["port"]))
            except (ValueError, KeyError, TypeError):
                continue
            server.handle_request(data, client, req.get("local"))

    loop.add_reader(stdin, requests_from_parent)
    try:
        await stop.wait()
    finally:
        with contextlib.suppress(ValueError, OSError):
            loop.remove_reader(stdin)
        await server.stop()
    return 0
