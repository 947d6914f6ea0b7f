"""RFC 2347/2348/2349 option negotiation over real sockets (raw client, tftpy, curl)."""

from __future__ import annotations

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
    tftpy_get,
)

from pxetui.core.events import SizeProbe, TransferFailed, TransferStarted

pytestmark = pytest.mark.timeout(60)


def _oack(data: bytes) -> dict[str, str]:
    assert opcode(data) == 6, f"expected OACK, got {data[:20]!r}"
    parts = data[2:].split(b"\x00")[:-1]
    return {parts[i].decode(): parts[i + 1].decode() for i in range(0, len(parts), 2)}


async def test_oack_answers_only_the_options_asked(tmp_path: Path) -> None:
    """blksize+tsize asked -> exactly those two in the OACK; unknown ones dropped."""
    make_file(tmp_path / "root" / "f", 5000)
    async with running_server(tmp_path / "root") as (server, _):
        client = RawClient()
        client.send(rrq("f", blksize=1432, tsize=0, foo="bar"), server.port)
        reply, _ = await client.recv()
        client.close()
    assert _oack(reply) == {"blksize": "1432", "tsize": "5000"}


async def test_option_names_are_case_insensitive_on_the_wire(tmp_path: Path) -> None:
    """'BLKSIZE' negotiates blksize and the transfer uses it."""
    data = make_file(tmp_path / "root" / "f", 5000)
    async with running_server(tmp_path / "root") as (server, _):
        got, oack = await raw_download(server.port, "f", **{"BLKSIZE": 1000, "TSize": 0})
    assert got == data
    assert oack == {"blksize": "1000", "tsize": "5000"}


@pytest.mark.parametrize("blksize", [8, 512, 1024, 1428, 1468, 8192, 65464])
async def test_curl_downloads_with_each_blksize(tmp_path: Path, blksize: int) -> None:
    """RFC 2348: every blksize in 8..65464 transfers the exact file (curl as the client)."""
    data = make_file(tmp_path / "root" / "k", 200_003)
    async with running_server(tmp_path / "root") as (server, _):
        rc, _, err = await run_tool(
            "curl",
            "-sS",
            "--tftp-blksize",
            str(blksize),
            "-o",
            str(tmp_path / "out"),
            f"tftp://127.0.0.1:{server.port}/k",
        )
    assert rc == 0, err
    assert (tmp_path / "out").read_bytes() == data


async def test_tftpy_client_with_blksize_and_tsize(tmp_path: Path) -> None:
    """tftpy's client negotiates blksize/tsize and gets the exact file."""
    data = make_file(tmp_path / "root" / "k", 300_000)
    async with running_server(tmp_path / "root") as (server, events):
        got = await tftpy_get(server.port, "k", tmp_path / "o", {"blksize": 1468, "tsize": 0})
    assert got == data
    started = next(e for e in events if isinstance(e, TransferStarted))
    assert started.options == {"blksize": "1468", "tsize": "300000"}


async def test_blksize_is_capped_by_the_configured_maximum(tmp_path: Path) -> None:
    """A client asking 65464 through a smaller path gets the path's maximum."""
    data = make_file(tmp_path / "root" / "k", 10_000)
    async with running_server(tmp_path / "root", max_blksize=1468) as (server, _):
        got, oack = await raw_download(server.port, "k", blksize=65464)
    assert got == data
    assert oack == {"blksize": "1468"}


async def test_malformed_option_values_fall_back_to_plain_rfc1350(tmp_path: Path) -> None:
    """blksize=abc etc. are ignored: no OACK, DATA 1 with 512 bytes right away."""
    data = make_file(tmp_path / "root" / "k", 2000)
    async with running_server(tmp_path / "root") as (server, _):
        got, oack = await raw_download(
            server.port, "k", blksize="abc", timeout="0", windowsize="-3", tsize="x"
        )
    assert got == data
    assert oack == {}


async def test_timeout_option_is_echoed_and_used(tmp_path: Path) -> None:
    """RFC 2349: timeout=1 is echoed; the OACK is resent after about that long."""
    make_file(tmp_path / "root" / "k", 100)
    async with running_server(tmp_path / "root", timeout=5.0) as (server, _):
        client = RawClient()
        client.send(rrq("k", timeout=1), server.port)
        first, tid = await client.recv()
        again, _ = await client.recv(timeout=2.5)
        assert _oack(first) == {"timeout": "1"} and again == first
        client.sock.sendto(ack(0), tid)
        data, _ = await client.recv()
        assert block_of(data) == 1
        client.close()


async def test_uefi_size_probe_is_labelled_not_failed(tmp_path: Path) -> None:
    """RRQ with tsize, OACK, then ERROR 8 from the client -> SizeProbe, no TransferFailed."""
    make_file(tmp_path / "root" / "ipxe.efi", 12345)
    async with running_server(tmp_path / "root") as (server, events):
        client = RawClient()
        client.send(rrq("ipxe.efi", tsize=0, blksize=1468), server.port)
        reply, tid = await client.recv()
        assert _oack(reply)["tsize"] == "12345"
        client.sock.sendto(b"\x00\x05\x00\x08User aborted\x00", tid)
        assert await client.silent(0.3)
        got, _ = await raw_download(server.port, "ipxe.efi", blksize=1468)
        client.close()
    probes = [e for e in events if isinstance(e, SizeProbe)]
    assert len(probes) == 1 and probes[0].size == 12345
    assert not [e for e in events if isinstance(e, TransferFailed)]
    assert len(got) == 12345


async def test_client_error_mid_transfer_is_a_failure(tmp_path: Path) -> None:
    """An ERROR after data started is a real abort and is reported as such."""
    make_file(tmp_path / "root" / "k", 5000)
    async with running_server(tmp_path / "root") as (server, events):
        client = RawClient()
        client.send(rrq("k"), server.port)
        _, tid = await client.recv()
        client.sock.sendto(b"\x00\x05\x00\x00disk full\x00", tid)
        assert await client.silent(0.3)
        client.close()
    failed = [e for e in events if isinstance(e, TransferFailed)]
    assert len(failed) == 1 and "disk full" in failed[0].reason


async def test_error_reply_to_a_refused_request_names_the_code(tmp_path: Path) -> None:
    """A private (0600) file gets ERROR 2."""
    make_file(tmp_path / "root" / "k", 10, mode=0o600)
    async with running_server(tmp_path / "root") as (server, _):
        client = RawClient()
        client.send(rrq("k", blksize=1468), server.port)
        reply, _ = await client.recv()
        client.close()
    assert error_code(reply) == 2
