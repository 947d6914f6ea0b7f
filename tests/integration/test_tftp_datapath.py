"""The TFTP data thread: timers, readiness and the event hand-off, on real loopback sockets."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tftp_testkit import RawClient, ack, make_file, rrq, running_server

from pxetui.core.events import Event, FileNotFound, TransferFailed, TransferFinished
from pxetui.engine.tftp.datapath import DataPath

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
async def datapath() -> AsyncIterator[tuple[DataPath, list[tuple[Event, int]]]]:
    published: list[tuple[Event, int]] = []
    path = DataPath(
        asyncio.get_running_loop(),
        lambda event: published.append((event, threading.get_ident())),
    )
    try:
        yield path, published
    finally:
        path.close()


async def _until(predicate: object, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:  # type: ignore[operator]
        await asyncio.sleep(0.01)


def _event(n: int) -> Event:
    return FileNotFound(proto="tftp", client_ip="127.0.0.1", client_port=n, filename=f"f{n}")


async def test_timers_fire_in_time_order_on_the_data_thread(
    datapath: tuple[DataPath, list[tuple[Event, int]]],
) -> None:
    """Timers armed out of order from the loop fire by due time, on the data thread."""
    path, _ = datapath
    fired: list[tuple[str, int]] = []
    now = time.monotonic()
    with path.lock:
        for name, delay in (("c", 0.06), ("a", 0.02), ("b", 0.04)):
            path.call_at(now + delay, lambda n=name: fired.append((n, threading.get_ident())))
    await _until(lambda: len(fired) == 3)
    assert [n for n, _ in fired] == ["a", "b", "c"]
    assert {ident for _, ident in fired} == {path._thread.ident}
    assert path._thread.ident != threading.get_ident()


async def test_a_cancelled_timer_never_fires(
    datapath: tuple[DataPath, list[tuple[Event, int]]],
) -> None:
    """cancel() before the due time means the callback never runs."""
    path, _ = datapath
    fired: list[str] = []
    with path.lock:
        doomed = path.call_at(time.monotonic() + 0.02, lambda: fired.append("doomed"))
        path.call_at(time.monotonic() + 0.05, lambda: fired.append("kept"))
        doomed.cancel()
    await _until(lambda: fired == ["kept"])
    await asyncio.sleep(0.05)
    assert fired == ["kept"]


async def test_a_failing_callback_does_not_stop_the_thread(
    datapath: tuple[DataPath, list[tuple[Event, int]]],
) -> None:
    """One transfer's exception is logged; the next timer and socket are still served."""
    path, _ = datapath
    fired: list[str] = []

    def boom() -> None:
        raise RuntimeError("a transfer bug")

    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.setblocking(False)
    try:
        with path.lock:
            path.add(receiver.fileno(), boom)
            path.call_at(time.monotonic(), boom)
            path.call_at(time.monotonic() + 0.05, lambda: fired.append("later"))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.sendto(b"x", receiver.getsockname())
        await _until(lambda: fired == ["later"])
        assert fired == ["later"]
        assert path._thread.is_alive()
    finally:
        with path.lock:
            path.remove(receiver.fileno())
        receiver.close()


async def test_datagrams_are_handled_on_the_data_thread(
    datapath: tuple[DataPath, list[tuple[Event, int]]],
) -> None:
    """A registered socket's datagrams reach its handler, off the event loop's thread."""
    path, _ = datapath
    got: list[tuple[bytes, int]] = []
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.setblocking(False)

    def on_readable() -> None:
        got.append((receiver.recv(64), threading.get_ident()))

    try:
        with path.lock:
            path.add(receiver.fileno(), on_readable)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for n in range(5):
                sender.sendto(b"%d" % n, receiver.getsockname())
        await _until(lambda: len(got) == 5)
        assert [data for data, _ in got] == [b"0", b"1", b"2", b"3", b"4"]
        assert {ident for _, ident in got} == {path._thread.ident}
    finally:
        with path.lock:
            path.remove(receiver.fileno())
        receiver.close()


async def test_events_from_the_data_thread_reach_the_loop_in_order(
    datapath: tuple[DataPath, list[tuple[Event, int]]],
) -> None:
    """Events queued on the data thread are published on the loop's thread, none lost."""
    path, published = datapath

    def burst() -> None:
        for n in range(300):
            path.publish(_event(n))

    with path.lock:
        path.call_at(time.monotonic(), burst)
    await _until(lambda: len(published) == 300)
    assert [e.client_port for e, _ in published] == list(range(300))  # type: ignore[attr-defined]
    assert {ident for _, ident in published} == {threading.get_ident()}


async def test_events_still_queued_are_published_by_close(
    datapath: tuple[DataPath, list[tuple[Event, int]]],
) -> None:
    """close() hands over what the data thread queued but the loop has not run yet."""
    path, published = datapath
    done = threading.Event()

    def late() -> None:
        path.publish(_event(7))
        done.set()

    with path.lock:
        path.call_at(time.monotonic(), late)
    assert await asyncio.to_thread(done.wait, 5)
    path.close()  # before the loop got a chance to run the scheduled flush
    assert [e.client_port for e, _ in published] == [7]  # type: ignore[attr-defined]


async def test_a_final_ack_that_arrived_before_stop_finishes_the_transfer(tmp_path: Path) -> None:
    """Stopping right after the client's last ACK reports the transfer finished, not failed."""
    make_file(tmp_path / "root" / "small", 100)
    for _ in range(20):  # a race: the data thread usually wins it, the stop must always
        async with running_server(tmp_path / "root") as (server, events):
            client = RawClient()
            try:
                client.send(rrq("small"), server.port)
                data, tid = await client.recv()
                assert len(data) == 104
                client.sock.sendto(ack(1), tid)
                await server.stop()
            finally:
                client.close()
        assert [type(e) for e in events if isinstance(e, TransferFinished | TransferFailed)] == [
            TransferFinished
        ]
