"""RFC 7440 windowsize over real sockets: atftp as the independent client, plus raw checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from tftp_testkit import (
    RawClient,
    ack,
    block_of,
    make_file,
    raw_download,
    rrq,
    run_tool,
    running_server,
)

from pxetui.core.events import TransferFinished

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("gso", [True, False], ids=["gso", "plain"])
@pytest.mark.parametrize("window", [1, 4, 16, 64])
async def test_atftp_windowsize_download_is_exact(tmp_path: Path, window: int, gso: bool) -> None:
    """atftp negotiating windowsize N gets the exact file, with or without UDP GSO."""
    data = make_file(tmp_path / "root" / "initrd", 1_000_000)
    async with running_server(tmp_path / "root", gso=gso) as (server, events):
        rc, out, err = await run_tool(
            "atftp",
            "--option",
            "blksize 1468",
            "--option",
            f"windowsize {window}",
            "-g",
            "-r",
            "initrd",
            "-l",
            str(tmp_path / "out"),
            "127.0.0.1",
            str(server.port),
        )
    assert rc == 0, out + err
    assert (tmp_path / "out").read_bytes() == data
    done = [e for e in events if isinstance(e, TransferFinished)]
    assert len(done) == 1 and done[0].retransmits == 0


async def test_a_window_goes_out_without_waiting_for_acks(tmp_path: Path) -> None:
    """After ACK 0, blocks 1..N arrive back to back before any further ACK."""
    make_file(tmp_path / "root" / "k", 512 * 20)
    async with running_server(tmp_path / "root") as (server, _):
        client = RawClient()
        client.send(rrq("k", windowsize=8), server.port)
        _, tid = await client.recv()
        client.sock.sendto(ack(0), tid)
        blocks = [block_of((await client.recv())[0]) for _ in range(8)]
        assert blocks == list(range(1, 9))
        assert await client.silent(0.3), "sent past the window"
        client.close()


async def test_mid_window_ack_restarts_after_the_acked_block(tmp_path: Path) -> None:
    """ACK 3 inside a window of 8 means 4.. were lost: the next window starts at 4."""
    make_file(tmp_path / "root" / "k", 512 * 20)
    async with running_server(tmp_path / "root") as (server, _):
        client = RawClient()
        client.send(rrq("k", windowsize=8), server.port)
        _, tid = await client.recv()
        client.sock.sendto(ack(0), tid)
        for _ in range(8):
            await client.recv()
        client.sock.sendto(ack(3), tid)
        blocks = [block_of((await client.recv())[0]) for _ in range(8)]
        assert blocks == list(range(4, 12))
        client.close()


@pytest.mark.parametrize("blksize", [512, 1468, 8192])
async def test_gso_windows_keep_block_boundaries(tmp_path: Path, blksize: int) -> None:
    """Windows sent as one GSO buffer still arrive as separate, numbered, exact blocks."""
    data = make_file(tmp_path / "root" / "k", blksize * 100 + 17)
    async with running_server(tmp_path / "root", gso=True) as (server, _):
        got, oack = await raw_download(
            server.port, "k", ack_every=16, blksize=blksize, windowsize=16
        )
    assert oack == {"blksize": str(blksize), "windowsize": "16"}
    assert got == data


async def test_acking_every_block_in_a_window_completes(tmp_path: Path) -> None:
    """A client that acks every block of its window still gets everything exactly."""
    data = make_file(tmp_path / "root" / "k", 512 * 33 + 7)
    async with running_server(tmp_path / "root") as (server, _):
        got, oack = await raw_download(server.port, "k", ack_every=4, windowsize=4)
    assert oack == {"windowsize": "4"}
    assert got == data
