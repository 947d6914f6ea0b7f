"""Every transfer on one shared server socket, batched with recvmmsg/sendmmsg (engine/tftp/mux).

What the shared socket changes, checked on real loopback sockets with real clients: transfers
are told apart only by the client's (address, port), so strangers, a client that changes
port mid-transfer, repeated RRQs, block-number rollover and windows must all still behave as
RFC 1350/7440 say — with batching on, and with the one-datagram-per-call fallback.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
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
)

from pxetui.core.events import TransferFailed, TransferFinished
from pxetui.engine.tftp import mmsg

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(params=["batched", "plain"])
def batching(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run with recvmmsg/sendmmsg, and with the one-call-per-datagram fallback."""
    if request.param == "plain":
        monkeypatch.setattr(mmsg, "available", lambda: False)
    elif not mmsg.available():
        pytest.skip("recvmmsg/sendmmsg not available here")
    yield request.param


async def test_concurrent_transfers_share_one_port_and_get_exact_bytes(
    tmp_path: Path, batching: str
) -> None:
    """12 lock-step clients at once: one server port for all, each gets its exact file."""
    files = {f"f{i}": make_file(tmp_path / "root" / f"f{i}", 40_000 + 977 * i) for i in range(12)}
    async with running_server(tmp_path / "root") as (server, events):
        ports: set[int] = set()

        async def fetch(name: str) -> bytes:
            client = RawClient()
            try:
                client.send(rrq(name, blksize=1468), server.port)
                _oack, tid = await client.recv()
                ports.add(tid[1])
                client.sock.sendto(ack(0), tid)
                got, expected = [], 1
                while True:
                    data, _ = await client.recv()
                    assert block_of(data) == expected & 0xFFFF
                    got.append(data[4:])
                    client.sock.sendto(ack(expected), tid)
                    if len(data) < 1472:
                        return b"".join(got)
                    expected += 1
            finally:
                await asyncio.sleep(0.02)
                client.close()

        results = await asyncio.gather(*(fetch(n) for n in files))
        await asyncio.sleep(0.1)
    assert results == list(files.values())
    assert len(ports) == 1 and server.port not in ports
    assert len([e for e in events if isinstance(e, TransferFinished)]) == 12
    assert not [e for e in events if isinstance(e, TransferFailed)]


async def test_a_client_that_changes_port_mid_transfer_is_a_stranger(
    tmp_path: Path, batching: str
) -> None:
    """The same address from a new port gets ERROR 5; the transfer on the old port goes on."""
    data = make_file(tmp_path / "root" / "f", 5000)
    async with running_server(tmp_path / "root", timeout=5.0) as (server, events):
        client, moved = RawClient(), RawClient()
        try:
            client.send(rrq("f"), server.port)
            first, tid = await client.recv()
            assert block_of(first) == 1
            moved.sock.sendto(ack(1), tid)  # "the client" continues from another port
            reply, _ = await moved.recv()
            assert error_code(reply) == 5
            assert await client.silent(0.2), "an ACK from the new port moved the transfer"
            got, block, packet = [first[4:]], 1, first
            while len(packet) == 516:
                client.sock.sendto(ack(block), tid)
                packet, _ = await client.recv()
                block += 1
                assert block_of(packet) == block
                got.append(packet[4:])
            client.sock.sendto(ack(block), tid)
            await asyncio.sleep(0.05)
        finally:
            client.close()
            moved.close()
    assert b"".join(got) == data
    assert [e.bytes_sent for e in events if isinstance(e, TransferFinished)] == [5000]


async def test_late_duplicates_of_a_finished_transfer_are_not_answered(tmp_path: Path) -> None:
    """A repeated final ACK after the end is dropped silently; a never-seen port gets ERROR 5."""
    make_file(tmp_path / "root" / "f", 100)
    async with running_server(tmp_path / "root") as (server, _):
        client, stranger = RawClient(), RawClient()
        try:
            client.send(rrq("f"), server.port)
            first, tid = await client.recv()
            assert block_of(first) == 1
            client.sock.sendto(ack(1), tid)
            await asyncio.sleep(0.05)
            assert server.transfers == 0
            client.sock.sendto(ack(1), tid)
            assert await client.silent(0.3)
            stranger.sock.sendto(ack(1), tid)
            reply, _ = await stranger.recv()
            assert error_code(reply) == 5
        finally:
            client.close()
            stranger.close()


async def test_repeated_rrqs_from_many_clients_start_one_transfer_each(
    tmp_path: Path, batching: str
) -> None:
    """Five clients each send their RRQ three times: five transfers, one first DATA each."""
    make_file(tmp_path / "root" / "f", 3000)
    # A 5 s retransmit timer: on a loaded machine the checks below may take over a second,
    # and a retransmitted DATA 1 must not be mistaken for a second transfer's.
    async with running_server(tmp_path / "root", timeout=5.0) as (server, _):
        clients = [RawClient() for _ in range(5)]
        try:
            for _ in range(3):
                for c in clients:
                    c.send(rrq("f"), server.port)
            for c in clients:
                first, _ = await c.recv()
                assert block_of(first) == 1
            for c in clients:
                assert await c.silent(0.15)
            assert server.transfers == 5
        finally:
            for c in clients:
                c.close()


async def test_concurrent_rollover_at_the_smallest_blksize(tmp_path: Path, batching: str) -> None:
    """Two curl clients at blksize 8 at once: 66 250 blocks each, past 65535 → 0, exact."""
    size = 530_000
    data = make_file(tmp_path / "root" / "r.bin", size)
    async with running_server(tmp_path / "root") as (server, events):
        runs = await asyncio.gather(
            *(
                run_tool(
                    *("curl", "-sS", "--tftp-blksize", "8", "-o", str(tmp_path / f"out{i}")),
                    f"tftp://127.0.0.1:{server.port}/r.bin",
                    timeout=50,
                )
                for i in range(2)
            )
        )
        await asyncio.sleep(0.1)
    for rc, _, err in runs:
        assert rc == 0, err
    want = hashlib.sha256(data).digest()
    for i in range(2):
        assert hashlib.sha256((tmp_path / f"out{i}").read_bytes()).digest() == want
    assert [e.bytes_sent for e in events if isinstance(e, TransferFinished)] == [size, size]


async def test_concurrent_windows_on_the_shared_socket(tmp_path: Path, batching: str) -> None:
    """Four windowed transfers (windowsize 8, acked per window) at once are exact."""
    data = make_file(tmp_path / "root" / "w", 200_000)
    async with running_server(tmp_path / "root") as (server, _):
        results = await asyncio.gather(
            *(
                raw_download(server.port, "w", ack_every=8, blksize=1468, windowsize=8)
                for _ in range(4)
            )
        )
    for got, oack in results:
        assert got == data
        assert oack["windowsize"] == "8"


async def test_window_above_64_follows_the_clients_measured_rtt(tmp_path: Path) -> None:
    """A first transfer measures the client's RTT; asking windowsize 1000 then gets what that
    RTT needs (64 on loopback); a client remembered 2 ms away gets 167 blocks of 1468."""
    data = make_file(tmp_path / "root" / "f", 50_000)
    async with running_server(tmp_path / "root") as (server, _):
        got, oack = await raw_download(server.port, "f", blksize=1468, windowsize=1000)
        assert got == data and oack["windowsize"] == "64"  # not yet seen: the default cap
        rtt = server._rtts.get("127.0.0.1")
        assert rtt is not None and 0 < rtt < 0.05
        server._rtts.remember("127.0.0.1", 0.002)
        got, oack = await raw_download(
            server.port, "f", ack_every=167, blksize=1468, windowsize=1000
        )
        assert got == data and oack["windowsize"] == "167"


async def test_past_the_socket_cap_one_wildcard_socket_answers_and_says_so_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """With a cap of one transfer socket, requests to a second local address are served from
    one 0.0.0.0 socket; the warning is logged once, not per request."""
    from pxetui.engine.tftp import server as server_module

    monkeypatch.setattr(server_module, "_MAX_SHARED", 1)
    data = make_file(tmp_path / "root" / "f", 3000)
    events: list[object] = []
    srv = server_module.TftpServer(tmp_path / "root", host="0.0.0.0", port=0, publish=events.append)
    await srv.start()
    try:
        got = []
        for local in ("127.0.0.1", "127.0.0.2", "127.0.0.2"):
            client = RawClient()
            try:
                client.sock.sendto(rrq("f"), (local, srv.port))
                chunks, block = [], 1
                while True:
                    packet, tid = await client.recv()
                    assert block_of(packet) == block
                    chunks.append(packet[4:])
                    client.sock.sendto(ack(block), tid)
                    if len(packet) < 516:
                        break
                    block += 1
                got.append(b"".join(chunks))
            finally:
                await asyncio.sleep(0.05)
                client.close()
        sockets = sorted(srv._shared)
    finally:
        await srv.stop()
    assert got == [data, data, data]
    assert sockets == ["0.0.0.0", "127.0.0.1"]
    warnings = [r for r in caplog.records if "local addresses" in r.getMessage()]
    assert len(warnings) == 1
