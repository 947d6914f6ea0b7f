"""Hostile and broken input: no single packet stops the server, and nothing escapes the root.

After every case a normal client is still served.
"""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

import pytest
from tftp_testkit import (
    HOST,
    RawClient,
    ack,
    block_of,
    error_code,
    fd_count,
    make_file,
    opcode,
    raw_download,
    rrq,
    running_server,
)

from pxetui.core.events import RequestRefused, TransferFailed, TransferFinished
from pxetui.engine.tftp import TftpServer

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    base = tmp_path / "root"
    make_file(base / "pxelinux.0", 3000)
    make_file(base / "secret", 10, mode=0o600)
    make_file(tmp_path / "outside", 10)
    (base / "pxelinux.cfg").mkdir()
    (base / "escape").symlink_to(tmp_path / "outside")
    (base / "inside").symlink_to(base / "pxelinux.0")
    os.mkfifo(base / "fifo", 0o644)
    return base


async def _still_serving(server: TftpServer, root: Path) -> None:
    got, _ = await raw_download(server.port, "pxelinux.0", blksize=1024)
    assert got == (root / "pxelinux.0").read_bytes()


BAD_PACKETS = [
    b"",
    b"\x00",
    b"\x01",
    b"\x00\x01",
    b"\x00\x01pxelinux.0",
    b"\x00\x01pxelinux.0\x00",
    b"\x00\x01\x00octet\x00",
    b"\x00\x01pxelinux.0\x00oct\xffet\x00",
    b"\x00\x01pxelinux.0\x00octet\x00blksize\x00",
    b"\x00\x01pxelinux.0\x00octet\x00blksize\x00\x00\x00",
    b"\x00\x01pxelinux.0\x00octet\x00\xff\xfe\x00\x80\x00",
    b"\x00\x01pxelinux.0\x00octet\x00blksize\x00" + b"9" * 400 + b"\x00",
    b"\x00\x01pxelinux.0\x00octet\x00" + b"tsize\x000\x00" * 60,
    b"\x00\x01" + b"\xff" * 300 + b"\x00octet\x00",
    b"\x00\x01" + b"A" * 1500 + b"\x00octet\x00",
    b"\x00\x03\x00\x01data",
    b"\x00\x04\x00",
    b"\x00\x04\x00\x01",
    b"\x00\x05\x00\x01oops\x00",
    b"\x00\x06blksize\x001\x00",
    b"\x00\x09hello",
    b"\xff\xff" + b"\x00" * 10,
    b"\x00\x01" + b"\x00" * 40,
    os.urandom(60000),
]


@pytest.mark.parametrize("packet", BAD_PACKETS, ids=range(len(BAD_PACKETS)))
async def test_a_bad_packet_to_the_listener_does_not_stop_it(root: Path, packet: bytes) -> None:
    """Truncated, malformed, oversized and wrong-opcode datagrams: answered or ignored."""
    async with running_server(root) as (server, _):
        client = RawClient()
        client.send(packet, server.port)
        try:
            reply, _ = await client.recv(0.3)
        except TimeoutError:
            reply = b""
        client.close()
        if reply and opcode(reply) == 5:
            assert error_code(reply) in (1, 2, 4)
        await _still_serving(server, root)


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("../outside", 2),
        ("/../outside", 2),
        ("..\\outside", 2),
        ("pxelinux.cfg/../../outside", 2),
        ("escape", 2),
        ("pxelinux.cfg", 2),
        ("/", 2),
        ("fifo", 2),
        ("secret", 2),
        ("/etc/passwd", 1),
        ("//etc//passwd", 1),
        ("../../../../../../etc/passwd", 2),
    ],
)
async def test_traversal_and_unservable_files_are_refused(root: Path, name: str, code: int) -> None:
    """Escapes, directories, FIFOs and 0600 files -> ERROR 2; absolute names stay in the root."""
    async with running_server(root) as (server, events):
        client = RawClient()
        client.send(rrq(name), server.port)
        reply, _ = await asyncio.wait_for(client.recv(), 5)
        client.close()
        assert error_code(reply) == code
        await _still_serving(server, root)
    if code == 2:
        assert any(isinstance(e, RequestRefused) for e in events)


async def test_symlink_inside_root_and_backslash_names_are_served(root: Path) -> None:
    """A symlink that stays inside the root and a DOS-style name are fine."""
    async with running_server(root) as (server, _):
        got, _ = await raw_download(server.port, "inside")
        got2, _ = await raw_download(server.port, "\\pxelinux.0")
    assert got == got2 == (root / "pxelinux.0").read_bytes()


async def test_device_node_is_refused(root: Path) -> None:
    """A character device inside the root is never opened for a client."""
    try:
        os.mknod(root / "null", 0o20666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("mknod needs root")
    async with running_server(root) as (server, _):
        client = RawClient()
        client.send(rrq("null"), server.port)
        reply, _ = await client.recv()
        client.close()
        assert error_code(reply) == 2
        await _still_serving(server, root)


async def test_strangers_packets_get_error_5_and_never_touch_the_transfer(root: Path) -> None:
    """ACKs from another port and another address are answered ERROR 5 and change nothing."""
    async with running_server(root) as (server, events):
        client = RawClient()
        client.send(rrq("pxelinux.0"), server.port)
        data, tid = await client.recv()
        assert block_of(data) == 1
        other_port = RawClient()
        other_addr = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        other_addr.bind(("127.0.0.2", 0))
        other_addr.setblocking(False)
        try:
            for stranger in (other_port.sock, other_addr):
                for block in (1, 2, 3, 6):
                    stranger.sendto(ack(block), tid)
            reply, _ = await other_port.recv()
            assert error_code(reply) == 5
            await asyncio.sleep(0.05)
            assert other_addr.recv(100)[:4] == b"\x00\x05\x00\x05"
            assert await client.silent(0.3), "a stranger's ACK moved the transfer"
            # The real client continues exactly where it was.
            expected = 1
            while True:
                client.sock.sendto(ack(expected), tid)
                if len(data) < 516:
                    break
                data, _ = await client.recv()
                expected += 1
                assert block_of(data) == expected
        finally:
            other_port.close()
            other_addr.close()
            client.close()
        await asyncio.sleep(0.05)
    assert any(isinstance(e, TransferFinished) for e in events)


async def test_half_open_flood_evicts_oldest_and_keeps_serving(root: Path) -> None:
    """200 RRQs never acknowledged: sessions stay capped, sockets are released, others served."""
    async with running_server(root, max_sessions=32, max_sessions_per_client=8) as (server, ev):
        flooders = [RawClient() for _ in range(200)]
        before = fd_count()
        try:
            for f in flooders:
                f.send(rrq("pxelinux.0", blksize=1400), server.port)
            await asyncio.sleep(0.3)
            assert server.transfers <= 8
            assert fd_count() - before <= 2 * 8 + 4  # a socket and a file per session
            await _still_serving(server, root)
        finally:
            for f in flooders:
                f.close()
    evicted = [e for e in ev if isinstance(e, TransferFailed) and "evicted" in e.reason]
    assert len(evicted) >= 150


async def test_established_sessions_are_not_evicted_and_busy_is_refused(root: Path) -> None:
    """With the per-client cap full of live transfers, a new request gets 'busy', not a kill."""
    async with running_server(root, max_sessions_per_client=2) as (server, events):
        live = [RawClient() for _ in range(2)]
        tids = []
        for c in live:
            c.send(rrq("pxelinux.0"), server.port)
            _, tid = await c.recv()
            c.sock.sendto(ack(1), tid)  # acknowledged: no longer half-open
            await c.recv()
            tids.append(tid)
        extra = RawClient()
        extra.send(rrq("pxelinux.0"), server.port)
        reply, _ = await extra.recv()
        assert error_code(reply) == 0
        assert server.transfers == 2
        for c in [*live, extra]:
            c.close()
    assert any(isinstance(e, RequestRefused) and e.reason == "too many sessions" for e in events)


async def test_vanishing_client_fails_the_transfer_after_bounded_retries(root: Path) -> None:
    """A client that stops acknowledging is given up on, and its socket is closed."""
    async with running_server(root, timeout=0.1, max_retries=2) as (server, events):
        client = RawClient()
        client.send(rrq("pxelinux.0"), server.port)
        await client.recv()
        client.close()
        for _ in range(40):
            if server.transfers == 0:
                break
            await asyncio.sleep(0.1)
        assert server.transfers == 0
        await _still_serving(server, root)
    failed = [e for e in events if isinstance(e, TransferFailed)]
    assert len(failed) == 1 and "no answer" in failed[0].reason


async def test_slow_client_still_gets_exact_bytes(root: Path) -> None:
    """ACKs slower than the server's timeout cause retransmissions, not corruption."""
    async with running_server(root, timeout=0.1, max_retries=5) as (server, events):
        client = RawClient()
        client.send(rrq("pxelinux.0"), server.port)
        chunks = []
        expected = 1
        data, tid = await client.recv()
        while True:
            assert block_of(data) == expected
            chunks.append(data[4:])
            await asyncio.sleep(0.25)
            # drain retransmitted copies of this block
            while True:
                try:
                    dup, _ = await client.recv(0.01)
                    assert block_of(dup) == expected
                except TimeoutError:
                    break
            client.sock.sendto(ack(expected), tid)
            if len(data) < 516:
                break
            data, _ = await client.recv()
            expected += 1
        client.close()
        await asyncio.sleep(0.05)
    assert b"".join(chunks) == (root / "pxelinux.0").read_bytes()
    done = [e for e in events if isinstance(e, TransferFinished)]
    assert len(done) == 1 and done[0].retransmits > 0


async def test_a_pause_longer_than_the_adaptive_timeout_is_survived(root: Path) -> None:
    """Fast ACKs shrink the retransmit timeout, but giving up still follows the base timeout."""
    async with running_server(root, timeout=0.5, max_retries=3) as (server, events):
        client = RawClient()
        client.send(rrq("pxelinux.0", blksize=64), server.port)
        data, tid = await client.recv()
        client.sock.sendto(ack(0), tid)  # OACK accepted
        chunks = []
        expected = 1
        while True:
            data, _ = await client.recv()
            if block_of(data) != expected & 0xFFFF:
                continue  # a retransmitted copy of the previous block
            chunks.append(data[4:])
            if expected == 20:
                await asyncio.sleep(1.5)  # well past 0.1+0.2+0.4 s of adaptive back-off
                while not await client.silent(0.01):
                    pass
            client.sock.sendto(ack(expected), tid)
            if len(data) < 68:
                break
            expected += 1
        client.close()
        await asyncio.sleep(0.05)
    assert b"".join(chunks) == (root / "pxelinux.0").read_bytes()
    assert not [e for e in events if isinstance(e, TransferFailed)]


async def test_repeated_rrq_from_same_port_does_not_start_a_second_transfer(root: Path) -> None:
    """A client repeating its RRQ before our first DATA gets one transfer, not two."""
    async with running_server(root) as (server, _):
        client = RawClient()
        for _ in range(3):
            client.send(rrq("pxelinux.0"), server.port)
        first, _ = await client.recv()
        assert block_of(first) == 1
        assert await client.silent(0.3)
        assert server.transfers == 1
        client.close()


async def test_client_port_reuse_after_finish_is_served_again(root: Path) -> None:
    """The same (address, port) may fetch again once its transfer finished."""
    async with running_server(root) as (server, _):
        client = RawClient()
        for _ in range(2):
            client.send(rrq("pxelinux.0"), server.port)
            expected = 1
            while True:
                data, tid = await client.recv()
                assert block_of(data) == expected
                client.sock.sendto(ack(expected), tid)
                if len(data) < 516:
                    break
                expected += 1
            await asyncio.sleep(0.02)
        client.close()
        assert server.transfers == 0


async def test_bind_failure_is_a_clear_oserror(root: Path) -> None:
    """A port already taken raises OSError naming the address."""
    async with running_server(root) as (server, _):
        clash = TftpServer(root, host=HOST, port=server.port, publish=lambda e: None)
        with pytest.raises(OSError, match=rf"127\.0\.0\.1:{server.port}"):
            await clash.start()
