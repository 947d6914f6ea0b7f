"""RFC 1350 over real loopback sockets, checked with independent clients (tftpy, curl)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tftp_testkit import (
    RawClient,
    ack,
    block_of,
    error_code,
    make_file,
    raw_download,
    rrq,
    run_tool,
    running_server,
    tftpy_get,
)

from pxetui.core.events import FileNotFound, RequestRefused, TransferFinished, TransferStarted

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("size", [0, 1, 511, 512, 513, 1024, 100_000])
async def test_tftpy_client_receives_exact_bytes(tmp_path: Path, size: int) -> None:
    """Sizes around block boundaries arrive intact (a 512-multiple ends with an empty block)."""
    data = make_file(tmp_path / "root" / "f.bin", size)
    async with running_server(tmp_path / "root") as (server, events):
        got = await tftpy_get(server.port, "f.bin", tmp_path / "out")
    assert got == data
    finished = [e for e in events if isinstance(e, TransferFinished)]
    assert len(finished) == 1 and finished[0].bytes_sent == size


async def test_curl_client_receives_exact_bytes(tmp_path: Path) -> None:
    """curl's TFTP client (no options here) gets the file."""
    data = make_file(tmp_path / "root" / "pxelinux.0", 40_000)
    async with running_server(tmp_path / "root") as (server, _):
        rc, _, err = await run_tool(
            "curl",
            "-sS",
            "--tftp-no-options",
            "-o",
            str(tmp_path / "out"),
            f"tftp://127.0.0.1:{server.port}/pxelinux.0",
        )
    assert rc == 0, err
    assert (tmp_path / "out").read_bytes() == data


async def test_missing_file_is_error_1_and_recorded(tmp_path: Path) -> None:
    """A miss answers ERROR 1 and publishes FileNotFound (the firmware's lookup trail)."""
    (tmp_path / "root").mkdir()
    async with running_server(tmp_path / "root") as (server, events):
        client = RawClient()
        client.send(rrq("pxelinux.cfg/01-52-54-00-e2-e0-01"), server.port)
        reply, _ = await client.recv()
        client.close()
    assert error_code(reply) == 1
    misses = [e for e in events if isinstance(e, FileNotFound)]
    assert [m.filename for m in misses] == ["pxelinux.cfg/01-52-54-00-e2-e0-01"]


async def test_write_request_is_refused_and_file_untouched(tmp_path: Path) -> None:
    """WRQ gets ERROR 2; the existing file keeps its content."""
    data = make_file(tmp_path / "root" / "pxelinux.0", 1000)
    async with running_server(tmp_path / "root") as (server, events):
        client = RawClient()
        client.send(b"\x00\x02pxelinux.0\x00octet\x00", server.port)
        reply, _ = await client.recv()
        assert await client.silent(0.3)
        client.close()
    assert error_code(reply) == 2
    assert (tmp_path / "root" / "pxelinux.0").read_bytes() == data
    assert any(isinstance(e, RequestRefused) and e.reason == "write request" for e in events)


async def test_unknown_mode_is_error_4(tmp_path: Path) -> None:
    """Only octet and netascii are served; 'mail' is an illegal operation."""
    make_file(tmp_path / "root" / "f", 10)
    async with running_server(tmp_path / "root") as (server, _):
        client = RawClient()
        client.send(rrq("f", mode="mail"), server.port)
        reply, _ = await client.recv()
        client.close()
    assert error_code(reply) == 4


async def test_mode_is_case_insensitive(tmp_path: Path) -> None:
    """'OCTET' is octet."""
    data = make_file(tmp_path / "root" / "f", 700)
    async with running_server(tmp_path / "root") as (server, _):
        got, _ = await raw_download(server.port, "f", mode="OcTeT")
    assert got == data


async def test_netascii_converts_line_ends_and_reports_converted_tsize(tmp_path: Path) -> None:
    """LF becomes CR LF, a bare CR becomes CR NUL, and tsize is the converted size."""
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "cfg").write_bytes(b"DEFAULT a\nLABEL a\r\n" * 100)
    (tmp_path / "root" / "cfg").chmod(0o644)
    expected = b"DEFAULT a\r\nLABEL a\r\x00\r\n" * 100
    async with running_server(tmp_path / "root") as (server, _):
        got, oack = await raw_download(server.port, "cfg", mode="netascii", tsize=0)
    assert got == expected
    assert oack["tsize"] == str(len(expected))


async def test_reply_comes_from_a_new_transfer_port(tmp_path: Path) -> None:
    """DATA comes from a fresh port (the server's transfer ID), not the listener's."""
    make_file(tmp_path / "root" / "f", 10)
    async with running_server(tmp_path / "root") as (server, _):
        client = RawClient()
        client.send(rrq("f"), server.port)
        data, addr = await client.recv()
        client.sock.sendto(ack(1), addr)
        client.close()
    assert block_of(data) == 1
    assert addr[1] != server.port


async def test_duplicate_acks_never_cause_duplicate_data(tmp_path: Path) -> None:
    """Sorcerer's Apprentice: a repeated ACK n is ignored; only the timer retransmits."""
    make_file(tmp_path / "root" / "f", 512 * 4)
    async with running_server(tmp_path / "root", timeout=1.0) as (server, _):
        client = RawClient()
        client.send(rrq("f"), server.port)
        data, tid = await client.recv()
        assert block_of(data) == 1
        client.sock.sendto(ack(1), tid)
        data, _ = await client.recv()
        assert block_of(data) == 2
        for _ in range(5):
            client.sock.sendto(ack(1), tid)
        assert await client.silent(0.5), "a duplicate ACK produced DATA"
        client.sock.sendto(ack(2), tid)
        data, _ = await client.recv()
        assert block_of(data) == 3
        client.close()


async def test_lost_ack_is_recovered_by_retransmission_after_about_a_second(
    tmp_path: Path,
) -> None:
    """With no ACK, the same block is resent after ~1 s, then later again (back-off)."""
    make_file(tmp_path / "root" / "f", 2000)
    async with running_server(tmp_path / "root") as (server, _):
        client = RawClient()
        client.send(rrq("f"), server.port)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        first, tid = await client.recv()
        again, _ = await client.recv(timeout=3)
        t1 = loop.time()
        assert first == again
        assert 0.7 <= t1 - t0 <= 2.0
        client.sock.sendto(ack(1), tid)
        data, _ = await client.recv()
        assert block_of(data) == 2
        client.close()


async def test_lost_ack_on_a_fast_path_is_retransmitted_sooner(tmp_path: Path) -> None:
    """After fast round trips, the timeout adapts down (never below 0.1 s) from 1 s."""
    make_file(tmp_path / "root" / "f", 512 * 60)
    async with running_server(tmp_path / "root") as (server, _):
        client = RawClient()
        client.send(rrq("f"), server.port)
        data, tid = await client.recv()
        for block in range(1, 40):
            assert block_of(data) == block
            client.sock.sendto(ack(block), tid)
            data, _ = await client.recv()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        again, _ = await client.recv(timeout=2)  # ACK 40 withheld
        waited = loop.time() - t0
        client.close()
    assert again == data
    assert 0.08 <= waited <= 0.9  # the base timeout would be >= 1 s


async def test_each_transfer_has_a_unique_id_and_cleaned_name(tmp_path: Path) -> None:
    """Two downloads give two transfer ids; control characters never reach events."""
    make_file(tmp_path / "root" / "f", 100)
    async with running_server(tmp_path / "root") as (server, events):
        await raw_download(server.port, "f")
        await raw_download(server.port, "/f")
        client = RawClient()
        client.send(rrq("\x1b[31mevil[b]"), server.port)
        await client.recv()
        client.close()
    started = [e for e in events if isinstance(e, TransferStarted)]
    assert len({e.transfer_id for e in started}) == 2
    miss = next(e for e in events if isinstance(e, FileNotFound))
    assert "\x1b" not in miss.filename and "[" not in miss.filename
