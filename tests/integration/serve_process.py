"""A real ``pxetui serve --profile`` process on loopback, for tests that attack it.

One home for what the idle-connection and fd-exhaustion tests (and any like them) share:
free ports, a DHCP-off loopback profile, the process with its JSON event lines collected,
``until`` (which raises on timeout, never passes silently) and idle sockets to throw at it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.helpers.ports import free_port
from tests.helpers.profiles import loopback_profile, write_loopback_profile

REPO = Path(__file__).resolve().parents[2]


def open_idle(port: int, count: int, within: float = 30.0) -> list[socket.socket]:
    """Connect up to *count* sockets that never send a byte (bounded by *within* seconds)."""
    socks: list[socket.socket] = []
    deadline = time.monotonic() + within
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


def raise_own_fd_limit(needed: int) -> bool:
    """Let this test process hold *needed* fds; False if the hard limit forbids it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        return False
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, needed), hard))
    return True


class ServeProcess:
    """``pxetui serve --profile`` in *workdir* with a DHCP-off loopback profile."""

    def __init__(
        self,
        workdir: Path,
        name: str,
        *,
        limits: dict[str, Any] | None = None,
        fd_limit: int | None = None,
    ) -> None:
        self.workdir = workdir
        self.tftp_port = free_port(socket.SOCK_DGRAM)
        self.http_port = free_port(socket.SOCK_STREAM)
        text = loopback_profile(
            name, tftp_port=self.tftp_port, http_port=self.http_port, limits=limits
        )
        self.profile = write_loopback_profile(workdir, text)
        self.root = workdir / "tftp"
        self.fd_limit = fd_limit
        self.events: list[dict[str, Any]] = []
        self.stderr = b""
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    def serve_file(self, name: str, data: bytes) -> None:
        path = self.root / name
        path.write_bytes(data)
        path.chmod(0o644)

    async def __aenter__(self) -> ServeProcess:
        limit = self.fd_limit

        def pin() -> None:
            if limit is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

        self._proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "pxetui", "serve", "--profile", str(self.profile),
            "--log-format", "json",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=REPO,
            preexec_fn=pin,
        )  # fmt: skip
        self._reader = asyncio.create_task(self._collect())
        return self

    async def __aexit__(self, *exc: object) -> None:
        proc = self._proc
        assert proc is not None and proc.stderr is not None
        if proc.returncode is None:
            proc.terminate()
        self.stderr = await asyncio.wait_for(proc.stderr.read(), 20)
        await asyncio.wait_for(proc.wait(), 20)
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._reader, 5)

    async def _collect(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        async for line in self._proc.stdout:
            with contextlib.suppress(ValueError):
                self.events.append(json.loads(line))

    async def until(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float
    ) -> dict[str, Any]:
        """The first event *predicate* accepts; AssertionError after *timeout* seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events:
                if predicate(event):
                    return event
            await asyncio.sleep(0.05)
        raise AssertionError(f"not seen in {timeout} s; last events: {self.events[-5:]}")

    def texts(self, needle: str) -> list[dict[str, Any]]:
        """The events whose ``text`` contains *needle*."""
        return [e for e in self.events if needle in str(e.get("text", ""))]
