"""Out of file descriptors anyway (cap set above the fd limit): one line, not a traceback flood."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import pytest
from serve_process import ServeProcess, open_idle, raise_own_fd_limit
from test_http_idle_connections import FD_LIMIT, IDLE

pytestmark = pytest.mark.timeout(120)


async def test_accept_failing_for_want_of_fds_is_one_rate_limited_line(tmp_path: Path) -> None:
    """1,100 connections against 1024 fds and no effective cap: no tracebacks, one notice."""
    if not raise_own_fd_limit(IDLE + 200):
        pytest.skip(f"this test process needs {IDLE + 200} fds")
    server = ServeProcess(
        tmp_path, "exhaust", limits={"http_connections": 5000}, fd_limit=FD_LIMIT
    )
    idle: list[socket.socket] = []
    async with server:
        try:
            await server.until(lambda e: "HTTP takes at most 5000" in str(e.get("text")), 30)
            idle = await asyncio.to_thread(open_idle, server.http_port, IDLE)
            assert len(idle) > FD_LIMIT
            await server.until(lambda e: "out of file descriptors" in str(e.get("text")), 15)
            await asyncio.sleep(2.5)  # asyncio retries the accept every second
        finally:
            for sock in idle:
                sock.close()
    assert b"Traceback" not in server.stderr, server.stderr.decode(errors="replace")[-1500:]
    notices = server.texts("out of file descriptors")
    assert 1 <= len(notices) <= 2, [json.dumps(n) for n in notices]
