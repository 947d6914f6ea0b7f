"""Out of file descriptors anyway (cap set above the fd limit): one line, not a traceback flood."""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
from test_http_idle_connections import (
    FD_LIMIT,
    IDLE,
    REPO,
    _events,
    _free_port,
    _open_idle,
    _pin_fd_limit,
    _until,
)

pytestmark = pytest.mark.timeout(120)

PROFILE = """\
name: exhaust
network:
  server: 127.0.0.1
  dhcp:
    mode: "off"
tftp:
  root: tftp
  port: {tftp_port}
  bind: 127.0.0.1
http:
  port: {http_port}
  bind: 127.0.0.1
state_dir: state
limits:
  http_connections: 5000
"""


async def test_accept_failing_for_want_of_fds_is_one_rate_limited_line(tmp_path: Path) -> None:
    """1,100 connections against 1024 fds and no effective cap: no tracebacks, one notice."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < IDLE + 200:
        pytest.skip(f"this test process needs {IDLE + 200} fds, hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, IDLE + 200), hard))
    tftp_port, http_port = _free_port(socket.SOCK_DGRAM), _free_port(socket.SOCK_STREAM)
    (tmp_path / "lab.yaml").write_text(PROFILE.format(tftp_port=tftp_port, http_port=http_port))
    (tmp_path / "tftp").mkdir()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pxetui",
        "serve",
        "--profile",
        str(tmp_path / "lab.yaml"),
        "--log-format",
        "json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
        preexec_fn=_pin_fd_limit,
    )
    events: list[dict[str, Any]] = []
    reader = asyncio.create_task(_events(proc, events))
    idle: list[socket.socket] = []
    try:
        await _until(events, lambda e: "HTTP takes at most 5000" in str(e.get("text", "")), 30)
        idle = await asyncio.to_thread(_open_idle, http_port, IDLE)
        assert len(idle) > FD_LIMIT
        await _until(events, lambda e: "out of file descriptors" in str(e.get("text", "")), 15)
        await asyncio.sleep(2.5)  # asyncio retries the accept every second
    finally:
        for sock in idle:
            sock.close()
        if proc.returncode is None:
            proc.terminate()
        assert proc.stderr is not None
        err = await asyncio.wait_for(proc.stderr.read(), 20)
        await asyncio.wait_for(proc.wait(), 20)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(reader, 5)
    assert b"Traceback" not in err, err.decode(errors="replace")[-1500:]
    notices = [e for e in events if "out of file descriptors" in str(e.get("text", ""))]
    assert 1 <= len(notices) <= 2, [json.dumps(n) for n in notices]
