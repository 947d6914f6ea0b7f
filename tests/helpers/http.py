"""A real pxetui HTTP file server on loopback for a test, with the events it published."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from pxetui.core.events import Event
from pxetui.engine.http import HttpFileServer


@asynccontextmanager
async def running_http(root: Path) -> AsyncIterator[tuple[str, list[Event]]]:
    """``(base URL, events)`` of a server serving *root* on an OS-assigned port."""
    events: list[Event] = []
    server = HttpFileServer(root, host="127.0.0.1", port=0, publish=events.append)
    await server.start()
    try:
        yield f"http://127.0.0.1:{server.port}", events
    finally:
        await server.stop()
