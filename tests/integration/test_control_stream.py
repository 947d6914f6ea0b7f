"""The control stream of a real engine (`pxetui serve` on loopback) to a subscriber that
stops reading under a flood: it is not dropped; it gets fewer, bigger ticks with the newest
row of every client, the log lines it got room for and the count of those it did not, and
every kept event (an assignment) in full."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.engine import ServedEngine, start_serve
from tests.helpers.ports import free_port
from tests.helpers.profiles import (
    CENTOS_ENTRY,
    CENTOS_FILES,
    loopback_profile,
    write_loopback_profile,
)

CLIENTS = 40
ROUNDS = 75  # 3,000 misses: far more than the 250 log lines a tick has room for
STALL_S = 3.0
QUIET_S = 1.5
READ_DEADLINE_S = 30.0


def client_mac(i: int) -> str:
    return f"52:54:00:5e:00:{i:02x}"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[tuple[ServedEngine, int]]:
    tftp_port = free_port(socket.SOCK_DGRAM)
    text = loopback_profile(
        "stream", tftp_port=tftp_port, interface="lo", subnet="127.0.0.0/8", entries=CENTOS_ENTRY
    )
    served = start_serve(write_loopback_profile(tmp_path, text, CENTOS_FILES))
    try:
        yield served, tftp_port
    finally:
        served.stop()


def request(path: Path, op: str, **args: Any) -> Any:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(15)
        sock.connect(str(path))
        sock.sendall(json.dumps({"id": 1, "op": op, **args}).encode() + b"\n")
        reply = json.loads(sock.makefile("rb").readline())
    assert reply["ok"], reply
    return reply["result"]


def flood(tftp_port: int) -> int:
    """Each client asks for its per-MAC config ROUNDS times (a miss naming its MAC)."""
    socks = []
    for i in range(CLIENTS):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((f"127.1.94.{i + 1}", 0))
        socks.append(sock)
    sent = 0
    try:
        for _ in range(ROUNDS):
            for i, sock in enumerate(socks):
                name = f"pxelinux.cfg/01-{client_mac(i).replace(':', '-')}"
                sock.sendto(b"\0\1" + name.encode() + b"\0octet\0", ("127.0.0.1", tftp_port))
                sent += 1
            time.sleep(0.02)  # ~2,000 requests/s: what the engine's socket buffer takes
    finally:
        for sock in socks:
            sock.close()
    return sent


def read_until_quiet(sub: socket.socket) -> list[dict[str, Any]]:
    """Every line until the stream is quiet for QUIET_S (bounded by READ_DEADLINE_S)."""
    sub.settimeout(QUIET_S)
    buffer, messages = b"", []
    deadline = time.monotonic() + READ_DEADLINE_S
    while time.monotonic() < deadline:
        try:
            chunk = sub.recv(1 << 20)
        except TimeoutError:
            return messages
        assert chunk, "the engine closed the stream"
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        messages += [json.loads(line) for line in lines if line.strip()]
    raise AssertionError(f"the stream was not quiet within {READ_DEADLINE_S} s")


def test_a_stalled_subscriber_gets_the_newest_rows_and_the_count_of_skipped_lines(
    engine: tuple[ServedEngine, int],
) -> None:
    served, tftp_port = engine
    sub = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sub.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        sub.connect(str(served.socket_path))
        sub.sendall(b'{"id": 0, "op": "subscribe"}\n')
        sub.settimeout(15)
        reader = sub.makefile("rb")
        assert json.loads(reader.readline())["ok"]
        started = time.monotonic()
        sent = flood(tftp_port)
        request(served.socket_path, "assign", mac=client_mac(7), entry="centos")
        time.sleep(max(0.0, STALL_S - (time.monotonic() - started)))  # not reading
        messages = read_until_quiet(sub)
    finally:
        sub.close()
    assert {"error": "too slow"} not in messages, served.output()
    events = [m["event"] for m in messages if "event" in m]
    ticks = [m["tick"] for m in messages if "tick" in m]
    misses = [e for e in events if e["kind"] == "file_not_found"]
    skipped = sum(t["skipped"] for t in ticks)
    assert skipped > 0 and misses, (len(misses), ticks)
    assert len(misses) + skipped <= sent
    assert any(e["kind"] == "assignment" and e["mac"] == client_mac(7) for e in events)
    assert sum(t["coalesced"] for t in ticks) > 0, "no row was replaced by a newer one"
    last_row = {e["mac"]: e["state"] for e in events if e["kind"] == "client"}
    engine_rows = {c["mac"]: c for c in request(served.socket_path, "state")["clients"]}
    assert set(last_row) == {client_mac(i) for i in range(CLIENTS)}
    for mac, row in last_row.items():  # the newest row reached the stalled reader
        assert (row["last_seen"], row["phase"], row["entry"]) == (
            engine_rows[mac]["last_seen"],
            engine_rows[mac]["phase"],
            engine_rows[mac]["entry"],
        ), mac
