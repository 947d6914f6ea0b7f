"""A client that asks for a big file and stops reading is cut off, not kept forever."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest

from pxetui.core.events import EngineMessage, Event, TransferFailed
from pxetui.engine.http import HttpFileServer, HttpLimits

pytestmark = pytest.mark.timeout(60)


async def test_a_download_nobody_reads_is_closed(tmp_path: Path) -> None:
    """64 MiB asked for, nothing read: TransferFailed "stopped reading" and one limit line."""
    big = tmp_path / "root.squashfs"
    with big.open("wb") as handle:
        handle.truncate(64 << 20)
    big.chmod(0o644)
    events: list[Event] = []
    server = HttpFileServer(
        tmp_path,
        host="127.0.0.1",
        port=0,
        publish=events.append,
        limits=HttpLimits(idle_timeout=0.5, min_rate=10 << 20),
    )
    await server.start()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        sock.connect(("127.0.0.1", server.port))
        sock.sendall(b"GET /root.squashfs HTTP/1.1\r\nHost: x\r\n\r\n")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if any(isinstance(e, TransferFailed) for e in events):
                break
            await asyncio.sleep(0.1)
        failed = [e for e in events if isinstance(e, TransferFailed)]
        assert failed and "stopped reading" in failed[0].reason, events[-3:]
        notes = [e.text for e in events if isinstance(e, EngineMessage)]
        assert any(t.startswith("limit: HTTP client stopped reading") for t in notes)
    finally:
        sock.close()
        await server.stop()
