"""Shared helpers for the TFTP integration tests: a real server on loopback and raw clients.

Everything talks to 127.0.0.1 on OS-assigned ports; nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import tftpy

from pxetui.core.events import Event
from pxetui.engine.tftp import TftpServer

HOST = "127.0.0.1"


def make_file(path: Path, size: int, mode: int = 0o644) -> bytes:
    """A file of *size* pseudo-random bytes (deterministic), world-readable by default."""
    path.parent.mkdir(parents=True, exist_ok=True)
    chunk = bytes((i * 7 + 3) % 251 for i in range(65521))
    data = (chunk * (size // len(chunk) + 1))[:size]
    path.write_bytes(data)
    path.chmod(mode)
    return data


@asynccontextmanager
async def running_server(
    root: Path, **kwargs: Any
) -> AsyncIterator[tuple[TftpServer, list[Event]]]:
    """A started TftpServer on 127.0.0.1:<free port>, stopped afterwards, with its events."""
    events: list[Event] = []
    server = TftpServer(root, host=HOST, port=0, publish=events.append, **kwargs)
    await server.start()
    try:
        yield server, events
    finally:
        await server.stop()


async def tftpy_get(
    port: int, name: str, dest: Path, options: dict[str, Any] | None = None
) -> bytes:
    """Download with tftpy's client (an independent implementation) in a worker thread."""

    def run() -> None:
        client = tftpy.TftpClient(HOST, port, options=options or {})
        client.download(name, str(dest), timeout=5)

    await asyncio.wait_for(asyncio.to_thread(run), timeout=60)
    return dest.read_bytes()


async def run_tool(*argv: str, timeout: float = 60) -> tuple[int, bytes, bytes]:
    """Run curl/atftp with a bounded time; returns (rc, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout=timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    return proc.returncode or 0, out, err


class RawClient:
    """A hand-driven TFTP peer: send any bytes, read replies with a timeout (non-blocking)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.sock.setblocking(False)

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes, port: int) -> None:
        self.sock.sendto(data, (HOST, port))

    async def recv(self, timeout: float = 3.0) -> tuple[bytes, tuple[str, int]]:
        """The next datagram, or TimeoutError."""
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + timeout
        while True:
            try:
                data, addr = self.sock.recvfrom(70000)
                return data, addr
            except BlockingIOError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("no datagram")
            fut: asyncio.Future[None] = loop.create_future()
            loop.add_reader(self.sock.fileno(), _wake, fut)
            try:
                await asyncio.wait_for(fut, max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                raise TimeoutError("no datagram") from None
            finally:
                loop.remove_reader(self.sock.fileno())

    async def silent(self, seconds: float) -> bool:
        """True if nothing arrives within *seconds*."""
        try:
            await self.recv(seconds)
        except TimeoutError:
            return True
        return False


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


def rrq(name: str | bytes, mode: str = "octet", **options: str | int) -> bytes:
    """An RRQ packet; option names as given (use dict unpacking for odd casing)."""
    raw = name if isinstance(name, bytes) else name.encode()
    out = b"\x00\x01" + raw + b"\x00" + mode.encode() + b"\x00"
    for key, value in options.items():
        out += key.encode() + b"\x00" + str(value).encode() + b"\x00"
    return out


def ack(block: int) -> bytes:
    return struct.pack("!HH", 4, block & 0xFFFF)


def opcode(data: bytes) -> int:
    return int(struct.unpack_from("!H", data)[0])


def error_code(data: bytes) -> int:
    assert opcode(data) == 5, f"expected ERROR, got {data[:20]!r}"
    return int(struct.unpack_from("!H", data, 2)[0])


def block_of(data: bytes) -> int:
    assert opcode(data) == 3, f"expected DATA, got {data[:20]!r}"
    return int(struct.unpack_from("!H", data, 2)[0])


async def raw_download(
    port: int, name: str, *, ack_every: int = 1, **options: str | int
) -> tuple[bytes, dict[str, str]]:
    """Fetch *name* by hand (lock-step, or acking every *ack_every* blocks for windows).

    Returns the content and the OACK's options (empty if none).
    """
    client = RawClient()
    try:
        client.send(rrq(name, **options), port)
        data, tid = await client.recv()
        oack: dict[str, str] = {}
        blksize = 512
        if opcode(data) == 6:
            parts = data[2:].split(b"\x00")[:-1]
            oack = {parts[i].decode(): parts[i + 1].decode() for i in range(0, len(parts), 2)}
            blksize = int(oack.get("blksize", 512))
            client.sock.sendto(ack(0), tid)
            data, tid2 = await client.recv()
            assert tid2 == tid
        chunks: list[bytes] = []
        expected = 1
        while True:
            if opcode(data) == 6 or (
                opcode(data) == 3 and block_of(data) == (expected - 1) & 0xFFFF
            ):
                # A retransmitted OACK or previous block (our ACK was slow): skip it.
                data, _ = await client.recv()
                continue
            assert block_of(data) == expected & 0xFFFF
            chunks.append(data[4:])
            last = len(data) - 4 < blksize
            if last or expected % ack_every == 0:
                client.sock.sendto(ack(expected), tid)
            if last:
                await asyncio.sleep(0.02)  # let the server (same loop) read the final ACK
                return b"".join(chunks), oack
            expected += 1
            data, _ = await client.recv()
    finally:
        client.close()


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))
