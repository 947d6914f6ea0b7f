"""The C fast path of the data thread (engine/tftp/fastpath.py, _fastpath.c), against the pure
Python path it must not differ from.

What handing lock-step transfers to C changes, on real loopback sockets: who answers a
stranger, a duplicate ACK, a client that changed port, a silent client, a file that shrinks
under a transfer, the block-number rollover, windows (never given to C) and the progress
events. Each test runs on both paths (``PXETUI_TFTP_FASTPATH=0`` for the pure one) and checks,
on the C path, that C really served blocks of the transfer.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from tftp_testkit import (
    RawClient,
    ack,
    block_of,
    error_code,
    make_file,
    opcode,
    raw_download,
    rrq,
    run_tool,
    running_server,
)

from pxetui.core.events import EngineMessage, TransferFinished, TransferProgress
from pxetui.engine.tftp import TftpServer, fastpath

pytestmark = pytest.mark.timeout(60)

BLK = 512


@pytest.fixture(params=["c", "python"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The C fast path (when built), and the pure-Python path forced by the environment."""
    if request.param == "python":
        monkeypatch.setenv(fastpath.ENV, "0")
    else:
        if not fastpath.built():
            pytest.skip("the C extension is not built here (tests/unit/test_tftp_fastpath_ext.py)")
        monkeypatch.setenv(fastpath.ENV, "1")
    yield request.param


def c_blocks(server: TftpServer) -> int:
    """DATA blocks the C fast path sent for *server* (0 on the pure path)."""
    datapath = server._sockets
    assert datapath is not None
    return datapath.lane.pump.blocks if datapath.lane is not None else 0


class Stepper:
    """A hand-driven lock-step download at blksize 512: ACK what you like, when you like."""

    def __init__(self, port: int, name: str) -> None:
        self.client = RawClient()
        self.port = port
        self.name = name
        self.tid: tuple[str, int] = ("", 0)
        self.got: list[bytes] = []

    async def start(self) -> None:
        self.client.send(rrq(self.name, blksize=BLK), self.port)
        oack, self.tid = await self.client.recv()
        assert opcode(oack) == 6
        self.client.sock.sendto(ack(0), self.tid)

    async def data(self) -> bytes:
        """The next DATA from the transfer's TID (anything else fails the test)."""
        data, addr = await self.client.recv()
        assert addr == self.tid
        assert opcode(data) == 3, data[:20]
        return data

    async def advance(self, blocks: int) -> int:
        """Take *blocks* DATA in order, ACKing each; the number of the last one."""
        number = 0
        for _ in range(blocks):
            data = await self.data()
            number = block_of(data)
            assert number == (len(self.got) + 1) & 0xFFFF
            self.got.append(data[4:])
            if len(data) - 4 < BLK:
                break
            self.client.sock.sendto(ack(number), self.tid)
        return number

    async def finish(self, limit: int = 10_000) -> bytes:
        """ACK to the end (the first short block)."""
        for _ in range(limit):
            if self.got and len(self.got[-1]) < BLK:
                self.client.sock.sendto(ack(len(self.got)), self.tid)
                return b"".join(self.got)
            await self.advance(1)
        raise AssertionError("no short block")

    def close(self) -> None:
        self.client.close()


async def wait_for_c(server: TftpServer, step: Stepper, path: str, at_least: int = 20) -> None:
    """Drive *step* until C has sent *at_least* blocks (on the C path; a few on the other)."""
    for _ in range(200):
        await step.advance(5)
        if path == "python" or c_blocks(server) >= at_least:
            return
    raise AssertionError(f"C never took the transfer over ({c_blocks(server)} blocks)")


async def test_the_server_says_once_which_data_path_runs(tmp_path: Path, path: str) -> None:
    (tmp_path / "root").mkdir()
    async with running_server(tmp_path / "root") as (_server, events):
        pass
    said = [e.text for e in events if isinstance(e, EngineMessage)]
    assert said == [
        "TFTP data path: C fast path for lock-step transfers (_fastpath)"
        if path == "c"
        else "TFTP data path: pure Python (PXETUI_TFTP_FASTPATH=0)"
    ]


async def test_lock_step_download_is_exact_and_served_by_c(tmp_path: Path, path: str) -> None:
    """curl gets the exact bytes; on the C path C sent nearly every block (Python the few
    around the start, the end and each progress event)."""
    data = make_file(tmp_path / "root" / "f.img", 3 * 1024 * 1024 + 17)
    async with running_server(tmp_path / "root") as (server, events):
        rc, _, err = await run_tool(
            "curl", "-sS", "--tftp-blksize", "1468", "-o", str(tmp_path / "out"),
            f"tftp://127.0.0.1:{server.port}/f.img",
        )  # fmt: skip
        sent_by_c = c_blocks(server)
    assert rc == 0, err
    assert (tmp_path / "out").read_bytes() == data
    done = [e for e in events if isinstance(e, TransferFinished)]
    assert len(done) == 1 and done[0].bytes_sent == len(data)
    blocks = len(data) // 1468 + 1
    if path == "c":
        assert sent_by_c > blocks * 0.8, (sent_by_c, blocks)
    else:
        assert sent_by_c == 0


async def test_stranger_gets_error_5_while_c_serves_a_transfer(tmp_path: Path, path: str) -> None:
    data = make_file(tmp_path / "root" / "f.img", 400 * BLK + 3)
    async with running_server(tmp_path / "root") as (server, _events):
        step = Stepper(server.port, "f.img")
        stranger = RawClient()
        try:
            await step.start()
            await wait_for_c(server, step, path)
            stranger.sock.sendto(ack(len(step.got)), step.tid)
            reply, addr = await stranger.recv()
            assert addr == step.tid and error_code(reply) == 5
            stranger.sock.sendto(b"\x00\x03\x00\x01junk", step.tid)
            reply, _ = await stranger.recv()
            assert error_code(reply) == 5
            assert await step.finish() == data  # the real client never noticed
        finally:
            step.close()
            stranger.close()


async def test_duplicate_acks_send_no_duplicate_data(tmp_path: Path, path: str) -> None:
    """The Sorcerer's Apprentice: ten copies of an ACK bring one DATA, not ten (at most two
    more from the retransmit timer in the time we listen)."""
    data = make_file(tmp_path / "root" / "f.img", 300 * BLK + 9)
    async with running_server(tmp_path / "root") as (server, _events):
        step = Stepper(server.port, "f.img")
        try:
            await step.start()
            await wait_for_c(server, step, path)
            # advance() ACKed the last block it took; its DATA+1 is on its way: take it.
            nxt = await step.data()
            number = block_of(nxt)
            step.got.append(nxt[4:])
            for _ in range(10):
                step.client.sock.sendto(ack(number - 1), step.tid)  # stale duplicates
            for _ in range(10):
                step.client.sock.sendto(ack(number), step.tid)
            copies = 0
            while True:
                try:
                    reply, _ = await step.client.recv(0.35)
                except TimeoutError:
                    break
                assert block_of(reply) == (number + 1) & 0xFFFF
                copies += 1
            assert 1 <= copies <= 3, copies
            step.got.append(reply[4:] if copies else b"")
            step.client.sock.sendto(ack(number + 1), step.tid)
            assert await step.finish() == data
        finally:
            step.close()


async def test_client_changing_port_gets_error_5_and_the_transfer_goes_on(
    tmp_path: Path, path: str
) -> None:
    data = make_file(tmp_path / "root" / "f.img", 300 * BLK + 1)
    async with running_server(tmp_path / "root") as (server, _events):
        step = Stepper(server.port, "f.img")
        moved = RawClient()
        try:
            await step.start()
            await wait_for_c(server, step, path)
            moved.sock.sendto(ack(len(step.got)), step.tid)  # same address, new port
            reply, _ = await moved.recv()
            assert error_code(reply) == 5
            assert await step.finish() == data
        finally:
            step.close()
            moved.close()


async def test_silent_client_gets_the_block_again(tmp_path: Path, path: str) -> None:
    """The retransmit timer still runs while C holds the transfer."""
    data = make_file(tmp_path / "root" / "f.img", 300 * BLK + 5)
    async with running_server(tmp_path / "root") as (server, events):
        step = Stepper(server.port, "f.img")
        try:
            await step.start()
            await wait_for_c(server, step, path)
            first = await step.data()  # and do not ACK it
            again = await step.data()
            assert again == first
            step.got.append(first[4:])
            step.client.sock.sendto(ack(block_of(first)), step.tid)
            assert await step.finish() == data
        finally:
            step.close()
        await asyncio.sleep(0.1)
    done = [e for e in events if isinstance(e, TransferFinished)]
    assert len(done) == 1 and done[0].retransmits >= 1


async def test_file_shrinking_under_a_transfer_ends_it_early(tmp_path: Path, path: str) -> None:
    """A short pread ends the transfer with a short block: the client has a prefix of the
    file. C reads each block when it sends it; Python reads ahead (64 KiB at most more)."""
    target = tmp_path / "root" / "f.img"
    data = make_file(target, 1000 * BLK)
    async with running_server(tmp_path / "root") as (server, _events):
        step = Stepper(server.port, "f.img")
        try:
            await step.start()
            await wait_for_c(server, step, path)
            cut = (len(step.got) + 10) * BLK + 100
            os.truncate(target, cut)
            got = await step.finish()
        finally:
            step.close()
    assert got == data[: len(got)]
    assert cut <= len(got) <= cut + 64 * 1024
    if path == "c":
        assert len(got) == cut


async def test_windows_stay_in_python_and_arrive_exact(tmp_path: Path, path: str) -> None:
    data = make_file(tmp_path / "root" / "f.img", 200_000)
    async with running_server(tmp_path / "root") as (server, _events):
        got, oack = await raw_download(server.port, "f.img", ack_every=8, windowsize=8)
        assert c_blocks(server) == 0
    assert oack.get("windowsize") == "8"
    assert got == data


async def test_rollover_and_progress_on_the_c_path(tmp_path: Path, path: str) -> None:
    """33 MiB at blksize 512 (past block 65535) with curl: exact bytes, and progress events
    about every 0.1 s however the blocks were sent."""
    size = 33 * 1024 * 1024 + 123
    data = make_file(tmp_path / "root" / "big.img", size)
    async with running_server(tmp_path / "root") as (server, events):
        rc, _, err = await run_tool(
            "curl", "-sS", "--tftp-blksize", "512", "-o", str(tmp_path / "out"),
            f"tftp://127.0.0.1:{server.port}/big.img", timeout=50,
        )  # fmt: skip
        sent_by_c = c_blocks(server)
    assert rc == 0, err
    got = (tmp_path / "out").read_bytes()
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
    if path == "c":
        assert sent_by_c > 65536
    done = [e for e in events if isinstance(e, TransferFinished)]
    assert len(done) == 1 and done[0].bytes_sent == size
    stamps = [e.ts for e in events if isinstance(e, TransferProgress)]
    assert len(stamps) >= done[0].seconds / 0.1 * 0.5, (len(stamps), done[0].seconds)
    assert all(b >= a for a, b in itertools.pairwise(stamps))
    assert all(e.bytes_sent <= size for e in events if isinstance(e, TransferProgress))


async def test_junk_from_the_client_itself_changes_nothing(tmp_path: Path, path: str) -> None:
    """300 random datagrams from the client's own port while C holds its transfer — ACKs
    for blocks long past or not sent yet, truncated ACKs, DATA, requests, OACKs,
    garbage (no ERROR: that would end it) — bring no DATA and leave the transfer exact."""
    rng = random.Random(14)
    data = make_file(tmp_path / "root" / "f.img", 400 * BLK + 77)
    async with running_server(tmp_path / "root") as (server, _events):
        step = Stepper(server.port, "f.img")
        try:
            await step.start()
            await wait_for_c(server, step, path)
            nxt = await step.data()  # the block after the last ACKed one: hold our ACK
            number = block_of(nxt)
            for _ in range(300):
                kind = rng.randrange(6)
                if kind == 0:  # an ACK for a block sent long ago, or never sent yet
                    far = rng.choice(
                        [rng.randrange(1, number - 1), number + rng.randrange(2, 60000)]
                    )
                    junk = ack(far)
                elif kind == 1:  # truncated or padded ACK
                    junk = ack(number)[: rng.randrange(0, 4)] or b"\x00"
                elif kind == 2:
                    junk = b"\x00\x03" + bytes(rng.randrange(0, 600))  # DATA to the server
                elif kind == 3:
                    junk = rrq("f.img")
                elif kind == 4:
                    junk = b"\x00\x06blksize\x00512\x00"
                else:
                    junk = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 3000)))
                if junk[:2] == b"\x00\x05":
                    continue
                step.client.sock.sendto(junk, step.tid)
            # Nothing answered the junk; the block we hold may come again from the timer.
            while True:
                try:
                    reply, _ = await step.client.recv(0.3)
                except TimeoutError:
                    break
                assert block_of(reply) == number, "junk made the server send another block"
            step.got.append(nxt[4:])
            step.client.sock.sendto(ack(number), step.tid)
            assert await step.finish() == data
        finally:
            step.close()
