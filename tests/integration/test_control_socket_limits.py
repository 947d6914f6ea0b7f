"""The control socket under abuse: hostile JSON, flooding and non-reading clients, bursts."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import shutil
import socket
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from pxetui.core.events import EngineMessage
from pxetui.engine.bus import EventBus
from pxetui.engine.control.server import ControlServer

pytestmark = pytest.mark.timeout(60)


class BigHandler:
    """Answers ``state`` with a snapshot of *size* bytes; ``dispatch`` echoes."""

    def __init__(self, size: int = 100) -> None:
        self.size = size

    def snapshot(self, summary: bool = False) -> dict[str, Any]:
        return {"blob": "x" * self.size}

    async def dispatch(self, op: str, args: dict[str, Any], who: str = "") -> Any:
        return {"op": op, "args": args}


@pytest.fixture
def sock_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="pxetui-lim-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def _server(
    sock_dir: Path, handler: BigHandler, **kw: Any
) -> tuple[ControlServer, EventBus, list[Any]]:
    bus = EventBus()
    notices: list[Any] = []
    bus.subscribe(notices.append)
    server = ControlServer(sock_dir / "control.sock", handler, bus, **kw)
    await server.start()
    return server, bus, notices


@pytest.fixture
async def served(sock_dir: Path) -> AsyncIterator[ControlServer]:
    server, _, _ = await _server(sock_dir, BigHandler())
    yield server
    await server.stop()


async def _ask(path: Path, line: bytes) -> dict[str, Any]:
    reader, writer = await asyncio.open_unix_connection(str(path), limit=1 << 22)
    try:
        writer.write(line + b"\n")
        # an oversize line is answered and the connection closed mid-write
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        reply = await asyncio.wait_for(reader.readline(), 10)
        assert reply, "closed without a reply"
        return dict(json.loads(reply))
    finally:
        writer.close()


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (b'{"id": 1, "op": "history", "mac": "52:54:00:00:00:01", "limit": 1e400}', "out of range"),
        (b'{"id": 2, "op": "state", "x": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", "nested"),
        (b'{"id": 3, "op": "state", "x": ' + b"9" * 5000 + b"}", "too large"),
        (b'{"id": 4, "op": "state", "x": NaN}', "not a JSON number"),
        (b'{"id": 5, "op": "state", "x": "' + b"a" * (2 << 20) + b'"}', "too long"),
    ],
    ids=["inf-limit", "deep", "huge-int", "nan", "long-line"],
)
async def test_hostile_json_gets_a_sentence(served: ControlServer, line: bytes, words: str) -> None:
    """Deep nesting, huge or infinite numbers, oversize lines: ok false with a reason."""
    reply = await _ask(served.path, line)
    assert reply["ok"] is False
    assert words in reply["error"]
    assert "internal error" not in reply["error"]


async def test_subscriber_that_floods_us_is_not_buffered(served: ControlServer) -> None:
    """What a subscriber sends after ``subscribe`` is read and thrown away, not kept."""
    reader, writer = await asyncio.open_unix_connection(str(served.path), limit=1 << 22)
    rss = psutil.Process().memory_info().rss
    try:
        writer.write(b'{"id": 1, "op": "subscribe"}\n')
        await writer.drain()
        assert json.loads(await asyncio.wait_for(reader.readline(), 10))["ok"]
        junk = b"j" * (1 << 20)
        for _ in range(150):  # 150 MiB
            writer.write(junk)
            await asyncio.wait_for(writer.drain(), 10)
        await asyncio.sleep(0.2)
        grown = psutil.Process().memory_info().rss - rss
        assert grown < 60 << 20, f"RSS grew by {grown >> 20} MiB"
    finally:
        writer.close()


async def test_non_reading_subscriber_with_a_big_snapshot_is_dropped(sock_dir: Path) -> None:
    """A subscriber that never reads its 8 MiB snapshot is cut off and its buffer freed."""
    server, _, notices = await _server(sock_dir, BigHandler(8 << 20), drain_timeout=0.5)
    idle = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    idle.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        idle.connect(str(server.path))
        idle.sendall(b'{"id": 1, "op": "subscribe"}\n')
        deadline = time.monotonic() + 15
        dropped = False
        while not (dropped and server.connections == 0) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            dropped = any("too slow" in getattr(n, "text", "") for n in notices)
        assert dropped, "no notice of the dropped subscriber"
        assert server.connections == 0, "the non-reading subscriber is still connected"
    finally:
        idle.close()
        await server.stop()


async def test_slow_subscriber_gets_the_final_too_slow_line(sock_dir: Path) -> None:
    """Over the write-buffer bound: everything queued, then {"error": "too slow"}, then EOF."""
    server, bus, _ = await _server(
        sock_dir, BigHandler(), write_buffer_max=256 << 10, drain_timeout=5
    )
    reader, writer = await asyncio.open_unix_connection(str(server.path), limit=1 << 22)
    try:
        writer.write(b'{"id": 1, "op": "subscribe"}\n')
        await writer.drain()
        assert json.loads(await asyncio.wait_for(reader.readline(), 10))["ok"]
        for burst in range(4):  # bursts of ~600 KiB, nobody reading
            for i in range(300):
                bus.publish(EngineMessage(text=f"{burst}.{i} " + "e" * 2000))
            await asyncio.sleep(0.05)
        last: dict[str, Any] = {}
        lines = 0
        async with asyncio.timeout(15):
            while line := await reader.readline():
                last = json.loads(line)
                lines += 1
        assert last == {"error": "too slow"}, last
        assert lines < 1200
    finally:
        writer.close()
        await server.stop()


async def test_two_hundred_simultaneous_connects_are_all_queued(served: ControlServer) -> None:
    """200 connects while the engine is busy: none refused by a short listen backlog."""
    socks: list[socket.socket] = []
    refused = 0
    try:
        # Synchronous on purpose: the loop (the server) cannot accept during this burst.
        for _ in range(200):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.setblocking(False)
            try:
                sock.connect(str(served.path))
            except OSError as exc:
                assert exc.errno in (errno.EAGAIN, errno.ECONNREFUSED), exc
                refused += 1
            socks.append(sock)
        assert refused == 0
        loop = asyncio.get_running_loop()
        for sock in socks[:: len(socks) // 5]:
            await loop.sock_sendall(sock, b'{"id": 9, "op": "state"}\n')
            reply = await asyncio.wait_for(loop.sock_recv(sock, 4096), 10)
            assert json.loads(reply)["ok"]
    finally:
        for sock in socks:
            sock.close()
