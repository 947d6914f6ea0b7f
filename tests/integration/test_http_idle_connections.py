"""1,100 silent TCP connections under a 1024-fd limit: HTTP and TFTP keep serving.

The engine runs as a real ``pxetui serve --profile`` process whose RLIMIT_NOFILE is pinned
at 1024/1024 (what the shipped unit had), on loopback with DHCP off. Before the limits, the
idle sockets took every fd and both servers went down in a flood of tracebacks.
"""

from __future__ import annotations

import asyncio
import select
import socket
import time
from pathlib import Path

import aiohttp
import pytest
from serve_process import ServeProcess, open_idle, raise_own_fd_limit
from tftp_testkit import tftpy_get

pytestmark = pytest.mark.timeout(120)
IDLE = 1100
FD_LIMIT = 1024


def _closed_by_peer(socks: list[socket.socket], within: float) -> int:
    """How many of *socks* see EOF or a reset within *within* seconds."""
    pending = {s.fileno(): s for s in socks}
    closed = 0
    deadline = time.monotonic() + within
    while pending and time.monotonic() < deadline:
        # select() is limited to fds < 1024; poll has no such limit
        poller = select.poll()
        for fd in pending:
            poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        for fd, _ in poller.poll(200):
            sock = pending.pop(fd)
            try:
                data = sock.recv(1)
            except OSError:
                data = b""
            if not data:
                closed += 1
    return closed


async def test_idle_flood_leaves_tftp_and_http_serving(tmp_path: Path) -> None:
    """1,100 idle sockets: TFTP serves at once, HTTP within the idle timeout, idle ones close."""
    if not raise_own_fd_limit(IDLE + 200):
        pytest.skip(f"this test process needs {IDLE + 200} fds")
    server = ServeProcess(
        tmp_path, "idle", limits={"http_idle_timeout": 1.5}, fd_limit=FD_LIMIT
    )
    payload = bytes(range(256)) * 400
    server.serve_file("file.bin", payload)
    idle: list[socket.socket] = []
    async with server:
        try:
            started = await server.until(lambda e: "HTTP takes at most" in str(e.get("text")), 30)
            assert "file descriptor limit 1024" in started["text"]
            idle = await asyncio.to_thread(open_idle, server.http_port, IDLE)
            assert len(idle) >= FD_LIMIT, f"only {len(idle)} connects got through"

            got = await tftpy_get(server.tftp_port, "file.bin", tmp_path / "via-tftp")
            assert got == payload

            body = b""
            deadline = time.monotonic() + 20
            async with aiohttp.ClientSession() as session:
                while time.monotonic() < deadline:
                    try:
                        url = f"http://127.0.0.1:{server.http_port}/file.bin"
                        async with session.get(url, timeout=aiohttp.ClientTimeout(total=3)) as r:
                            body = await r.read()
                            break
                    except (aiohttp.ClientError, TimeoutError):
                        await asyncio.sleep(0.2)
            assert body == payload, "HTTP never served again"

            closed = await asyncio.to_thread(_closed_by_peer, idle, 10.0)
            assert closed == len(idle), f"{len(idle) - closed} idle connections still open"
        finally:
            for sock in idle:
                sock.close()
    assert b"Traceback" not in server.stderr, server.stderr.decode(errors="replace")[-2000:]
    notices = server.texts("HTTP connection cap reached")
    assert 1 <= len(notices) <= 5, notices


async def test_at_the_cap_an_idle_connection_makes_room_for_a_request(tmp_path: Path) -> None:
    """Cap full of silent sockets, long idle timeout: a GET is served at once, not reset."""
    if not raise_own_fd_limit(IDLE + 200):
        pytest.skip(f"this test process needs {IDLE + 200} fds")
    server = ServeProcess(
        tmp_path, "idle", limits={"http_idle_timeout": 120}, fd_limit=FD_LIMIT
    )
    server.serve_file("file.bin", b"k" * 5000)
    idle: list[socket.socket] = []
    async with server:
        try:
            await server.until(lambda e: "HTTP takes at most" in str(e.get("text")), 30)
            idle = await asyncio.to_thread(open_idle, server.http_port, IDLE)
            url = f"http://127.0.0.1:{server.http_port}/file.bin"
            for _ in range(3):  # each one (a new connection each time) gets in at once
                async with (
                    aiohttp.ClientSession() as session,
                    session.get(url, timeout=aiohttp.ClientTimeout(total=10)) as resp,
                ):
                    assert resp.status == 200 and await resp.read() == b"k" * 5000
        finally:
            for sock in idle:
                sock.close()
