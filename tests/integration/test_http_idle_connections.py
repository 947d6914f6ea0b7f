"""1,100 silent TCP connections under a 1024-fd limit: HTTP and TFTP keep serving.

The engine runs as a real ``pxetui serve --profile`` process whose RLIMIT_NOFILE is pinned
at 1024/1024 (what the shipped unit had), on loopback with DHCP off. Before the limits, the
idle sockets took every fd and both servers went down in a flood of tracebacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import select
import socket
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from tftp_testkit import tftpy_get

pytestmark = pytest.mark.timeout(120)
REPO = Path(__file__).resolve().parents[2]
IDLE = 1100
FD_LIMIT = 1024

PROFILE = """\
name: idle
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
  http_idle_timeout: {idle_timeout}
"""


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pin_fd_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))


def _open_idle(port: int, count: int) -> list[socket.socket]:
    """Connect *count* sockets that never send a byte (connects over the backlog give up)."""
    socks: list[socket.socket] = []
    deadline = time.monotonic() + 30
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(0.5)
        try:
            sock.connect(("127.0.0.1", port))
        except OSError:
            sock.close()
            continue
        socks.append(sock)
    return socks


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


async def _events(proc: asyncio.subprocess.Process, sink: list[dict[str, Any]]) -> None:
    assert proc.stdout is not None
    async for line in proc.stdout:
        with contextlib.suppress(ValueError):
            sink.append(json.loads(line))


async def _until(events: list[dict[str, Any]], predicate: Any, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in events:
            if predicate(event):
                return event
        await asyncio.sleep(0.05)
    raise AssertionError(f"not seen in {timeout} s; events: {events[-5:]}")


async def test_idle_flood_leaves_tftp_and_http_serving(tmp_path: Path) -> None:
    """1,100 idle sockets: TFTP serves at once, HTTP within the idle timeout, idle ones close."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < IDLE + 200:
        pytest.skip(f"this test process needs {IDLE + 200} fds, hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, IDLE + 200), hard))
    tftp_port, http_port = _free_port(socket.SOCK_DGRAM), _free_port(socket.SOCK_STREAM)
    (tmp_path / "lab.yaml").write_text(
        PROFILE.format(tftp_port=tftp_port, http_port=http_port, idle_timeout=1.5)
    )
    (tmp_path / "tftp").mkdir()
    payload = bytes(range(256)) * 400
    (tmp_path / "tftp" / "file.bin").write_bytes(payload)
    (tmp_path / "tftp" / "file.bin").chmod(0o644)
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
        started = await _until(events, lambda e: "HTTP takes at most" in str(e.get("text", "")), 30)
        assert "file descriptor limit 1024" in started["text"]
        idle = await asyncio.to_thread(_open_idle, http_port, IDLE)
        assert len(idle) >= FD_LIMIT, f"only {len(idle)} connects got through"

        got = await tftpy_get(tftp_port, "file.bin", tmp_path / "via-tftp")
        assert got == payload

        body = b""
        deadline = time.monotonic() + 20
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                try:
                    url = f"http://127.0.0.1:{http_port}/file.bin"
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
        if proc.returncode is None:
            proc.terminate()
        assert proc.stderr is not None
        err = await asyncio.wait_for(proc.stderr.read(), 20)
        await asyncio.wait_for(proc.wait(), 20)
        await asyncio.wait_for(reader, 5)
    assert b"Traceback" not in err, err.decode(errors="replace")[-2000:]
    notices = [e for e in events if "HTTP connection cap reached" in str(e.get("text", ""))]
    assert 1 <= len(notices) <= 5, notices


async def test_at_the_cap_an_idle_connection_makes_room_for_a_request(tmp_path: Path) -> None:
    """Cap full of silent sockets, long idle timeout: a GET is served at once, not reset."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < IDLE + 200:
        pytest.skip(f"this test process needs {IDLE + 200} fds, hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, IDLE + 200), hard))
    tftp_port, http_port = _free_port(socket.SOCK_DGRAM), _free_port(socket.SOCK_STREAM)
    (tmp_path / "lab.yaml").write_text(
        PROFILE.format(tftp_port=tftp_port, http_port=http_port, idle_timeout=120)
    )
    (tmp_path / "tftp").mkdir()
    (tmp_path / "tftp" / "file.bin").write_bytes(b"k" * 5000)
    (tmp_path / "tftp" / "file.bin").chmod(0o644)
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
        stderr=asyncio.subprocess.DEVNULL,
        cwd=REPO,
        preexec_fn=_pin_fd_limit,
    )
    events: list[dict[str, Any]] = []
    reader = asyncio.create_task(_events(proc, events))
    idle: list[socket.socket] = []
    try:
        await _until(events, lambda e: "HTTP takes at most" in str(e.get("text", "")), 30)
        idle = await asyncio.to_thread(_open_idle, http_port, IDLE)
        url = f"http://127.0.0.1:{http_port}/file.bin"
        for _ in range(3):  # each one (a new connection each time) gets in at once
            async with (
                aiohttp.ClientSession() as session,
                session.get(url, timeout=aiohttp.ClientTimeout(total=10)) as resp,
            ):
                assert resp.status == 200 and await resp.read() == b"k" * 5000
    finally:
        for sock in idle:
            sock.close()
        if proc.returncode is None:
            proc.terminate()
        await asyncio.wait_for(proc.wait(), 20)
        await asyncio.wait_for(reader, 5)
