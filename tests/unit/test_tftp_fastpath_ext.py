"""The C fast path's extension: built where CI runs, and bounded whatever Python asks of it.

The protocol behaviour with the fast path is in tests/integration/test_tftp_fastpath.py.
"""

from __future__ import annotations

import logging
import os
import select
import socket
import threading
import time

import pytest

from pxetui.engine.tftp import fastpath, mmsg


def test_the_extension_is_built() -> None:
    """CI's venv (an editable install with gcc and python3-dev, .ci/setup-dev) must have the
    C path, or the integration tests would quietly test Python twice. Skipped only when
    PXETUI_TFTP_FASTPATH=0 says the pure path is wanted."""
    if os.environ.get(fastpath.ENV, "").strip() == "0":
        pytest.skip(f"{fastpath.ENV}=0")
    assert fastpath.built(), (
        "pxetui/engine/tftp/_fastpath.c did not build: install gcc and python3-dev, then "
        "pip install -e . again"
    )


def test_the_environment_forces_the_pure_path(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(fastpath.ENV, "0")
    monkeypatch.setattr(fastpath, "_said", [])
    with caplog.at_level(logging.INFO, logger=fastpath.__name__):
        assert fastpath.lane() is None
        assert fastpath.lane() is None
    said = [r.getMessage() for r in caplog.records]
    assert said == [f"TFTP data path: pure Python ({fastpath.ENV}=0)"]  # once
    assert fastpath.describe(None) == said[0]


needs_c = pytest.mark.skipif(not fastpath.built(), reason="the C extension is not built")


def _pump() -> fastpath.Pump:
    """A pump serving socket 3 (never used as a socket here: nothing is sent)."""
    assert fastpath._fastpath is not None
    pump: fastpath.Pump = fastpath._fastpath.Pump()
    assert pump.add_socket(3)
    return pump


@needs_c
def test_register_refuses_bad_parameters() -> None:
    pump = _pump()
    name = mmsg.sockaddr(("127.0.0.1", 4000))
    with pytest.raises(ValueError):
        pump.register(3, name[:8], 4, 512, 10)
    with pytest.raises(ValueError):
        pump.register(3, name, 4, 7, 10)
    with pytest.raises(ValueError):
        pump.register(3, name, 4, 65465, 10)
    with pytest.raises(ValueError):
        pump.register(3, name, 4, 512, 0)
    with pytest.raises(ValueError):
        pump.take(0)  # never registered
    with pytest.raises(ValueError):
        pump.give(5000, 0, 1, 0.0, 0.0, 0.001, 0.0, 1.0)


@needs_c
def test_the_table_is_bounded_and_slots_are_reused() -> None:
    pump = _pump()
    assert fastpath._fastpath is not None
    max_slots = fastpath._fastpath.MAX_SLOTS
    slots = [
        pump.register(3, mmsg.sockaddr((f"10.0.{i // 256}.{i % 256}", 1000 + i)), 4, 512, 9)
        for i in range(max_slots)
    ]
    assert min(slots) >= 0 and len(set(slots)) == len(slots)
    assert pump.register(3, mmsg.sockaddr(("10.9.9.9", 9)), 4, 512, 9) == -1  # full
    pump.unregister(slots[7])
    again = pump.register(3, mmsg.sockaddr(("10.9.9.9", 9)), 4, 512, 9)
    assert again == slots[7]
    # one client per socket: a second registration of the same client is refused
    assert pump.register(3, mmsg.sockaddr(("10.9.9.9", 9)), 4, 512, 9) == -1
    pump.unregister(again)
    # and a socket C does not serve gets none (its ACKs would never reach C)
    assert pump.register(5, mmsg.sockaddr(("10.9.9.9", 9)), 4, 512, 9) == -1


@needs_c
def test_give_and_take_round_trip_and_check_the_state() -> None:
    pump = _pump()
    slot = pump.register(3, mmsg.sockaddr(("127.0.0.1", 4000)), 4, 512, 100)
    pump.give(slot, 41, 42, 1.5, 1.25, 0.001, 0.0005, 2.0)
    assert pump.take(slot) == (41, 42, 1.5, 1.25, 0.001, 0.0005, 0)
    with pytest.raises(ValueError):
        pump.give(slot, 41, 101, 1.5, 1.25, 0.001, 0.0005, 2.0)  # past the last block
    with pytest.raises(ValueError):
        pump.give(slot, 41, 40, 1.5, 1.25, 0.001, 0.0005, 2.0)  # sent before acked


@needs_c
def test_pump_hands_back_what_is_not_a_held_transfers_ack() -> None:
    """A datagram on a registered socket from a client C does not hold comes back whole."""
    pump = _pump()
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    epoll = select.epoll()
    try:
        server.bind(("127.0.0.1", 0))
        client.bind(("127.0.0.1", 0))
        epoll.register(server.fileno(), select.EPOLLIN)
        assert pump.add_socket(server.fileno())
        client.sendto(b"\x00\x04\x00\x01", server.getsockname())
        ready, handups, unsent = pump.pump(epoll.fileno(), 2.0)
        assert ready == [] and unsent == []
        key = mmsg.key_of(client.getsockname())
        assert handups == [(server.fileno(), key, b"\x00\x04\x00\x01", client.getsockname())]
        assert pump.pump(epoll.fileno(), 0.0) == ([], [], [])  # nothing left: no wait
    finally:
        epoll.close()
        server.close()
        client.close()


@needs_c
def test_pump_takes_odd_timeouts_and_one_thread_at_a_time() -> None:
    pump = _pump()
    epoll = select.epoll()
    try:
        for timeout in (-1.0, float("nan"), 0.0):
            started = time.monotonic()
            assert pump.pump(epoll.fileno(), timeout) == ([], [], [])
            assert time.monotonic() - started < 0.5
        busy = threading.Thread(target=pump.pump, args=(epoll.fileno(), 2.0))
        busy.start()
        refused = None
        try:
            for _ in range(150):  # until the thread is inside pump(): at most 1.5 s
                try:
                    pump.pump(epoll.fileno(), 0.0)
                except RuntimeError as exc:
                    refused = exc
                    break
                time.sleep(0.01)
        finally:
            busy.join(5)
        assert not busy.is_alive()
        assert refused is not None and "already running" in str(refused)
    finally:
        epoll.close()
