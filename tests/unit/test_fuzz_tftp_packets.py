"""Hypothesis fuzzing of TFTP request decoding, option negotiation and the live listener.

Bounded: fixed max_examples and no per-example deadline surprises, so it runs in CI in seconds.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import tftpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pxetui.engine.tftp import TftpServer, packets
from pxetui.engine.tftp.options import MAX_BLKSIZE, MIN_BLKSIZE, negotiate

pytestmark = pytest.mark.timeout(120)

FUZZ = settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

_option_names = st.sampled_from(["blksize", "BLKSIZE", "tsize", "timeout", "windowsize", "x"])
_words = st.binary(max_size=40).filter(lambda b: b"\x00" not in b)
_requests = st.builds(
    lambda op, name, mode, opts, tail: (
        op
        + name
        + b"\x00"
        + mode
        + b"\x00"
        + b"".join(k + b"\x00" + v + b"\x00" for k, v in opts)
        + tail
    ),
    st.sampled_from(
        [
            b"\x00\x01",
            b"\x00\x02",
            b"\x00\x03",
            b"\x00\x04",
            b"\x00\x05",
            b"\x00\x06",
            b"\x00\x07",
            b"\xff\xff",
            b"",
        ]
    ),
    _words,
    st.one_of(st.sampled_from([b"octet", b"netascii", b"OCTET", b"mail"]), _words),
    st.lists(st.tuples(_option_names.map(str.encode) | _words, _words), max_size=6),
    st.binary(max_size=8),
)
_datagrams = st.one_of(st.binary(max_size=1200), _requests)


@FUZZ
@given(_datagrams)
def test_decode_request_only_ever_raises_malformed_packet(data: bytes) -> None:
    """Any datagram decodes to a Request or raises MalformedPacket, nothing else."""
    try:
        req = packets.decode_request(data)
    except packets.MalformedPacket:
        return
    assert req.opcode in (packets.RRQ, packets.WRQ)
    assert isinstance(req.filename, str) and isinstance(req.mode, str)


@FUZZ
@given(
    st.dictionaries(st.text(max_size=12) | _option_names, st.text(max_size=30), max_size=8),
    st.one_of(st.none(), st.integers(0, 2**40)),
    st.integers(0, 70000),
)
def test_negotiation_never_raises_and_stays_in_range(
    requested: dict[str, str], size: int | None, max_blksize: int
) -> None:
    """Whatever is asked, blksize/windowsize/timeout stay within the RFC ranges."""
    result = negotiate(requested, size=size, max_blksize=max_blksize)
    assert MIN_BLKSIZE <= result.blksize <= MAX_BLKSIZE
    assert 1 <= result.windowsize <= 65535
    assert result.timeout is None or 1 <= result.timeout <= 255
    assert set(result.oack) <= {"blksize", "tsize", "timeout", "windowsize"}


class _Failures(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path, _Failures]]:
    """A real server on loopback, running its own loop in a thread for the whole module."""
    root = tmp_path_factory.mktemp("fuzzroot")
    (root / "pxelinux.0").write_bytes(bytes(range(256)) * 20)
    (root / "pxelinux.0").chmod(0o644)
    failures = _Failures()
    logging.getLogger("pxetui.engine.tftp").addHandler(failures)
    loop = asyncio.new_event_loop()
    server = TftpServer(root, host="127.0.0.1", port=0, publish=lambda e: None)
    loop.run_until_complete(server.start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield server.port, root, failures
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        logging.getLogger("pxetui.engine.tftp").removeHandler(failures)


@FUZZ
@given(_datagrams)
def test_listener_survives_any_datagram(
    live_server: tuple[int, Path, _Failures], data: bytes
) -> None:
    """Fuzzed datagrams to port 69 never reach the listener's last-resort exception handler."""
    port, _, failures = live_server
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(data, ("127.0.0.1", port))
    assert not failures.records, failures.records[0].getMessage()


@settings(FUZZ, max_examples=120)
@given(st.lists(_datagrams, min_size=1, max_size=6))
def test_transfer_socket_survives_any_datagram_from_its_client(
    live_server: tuple[int, Path, _Failures], datagrams: list[bytes]
) -> None:
    """Fuzzed datagrams from the client's own port to a live transfer never break it."""
    port, _, failures = live_server
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        sock.sendto(b"\x00\x01pxelinux.0\x00octet\x00", ("127.0.0.1", port))
        first, tid = sock.recvfrom(600)
        assert first[:4] == b"\x00\x03\x00\x01"
        for data in datagrams:
            sock.sendto(data, tid)
        sock.sendto(b"\x00\x05\x00\x00done\x00", tid)  # end it, whatever state it is in
    assert not failures.records, failures.records[0].getMessage()


def test_listener_still_serves_after_fuzzing(
    live_server: tuple[int, Path, _Failures], tmp_path: Path
) -> None:
    """After the fuzz run, tftpy's client still downloads the exact file."""
    port, root, failures = live_server
    tftpy.TftpClient("127.0.0.1", port).download("pxelinux.0", str(tmp_path / "o"), timeout=5)
    assert (tmp_path / "o").read_bytes() == (root / "pxelinux.0").read_bytes()
    assert not failures.records
