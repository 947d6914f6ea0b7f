"""The UI bench's engine: a real ``pxetui serve`` on loopback, fed by real TFTP clients.

No replay: the console attaches to the engine's control socket and sees what the engine's
own TFTP server, tracker and event bus make of real traffic. Each of N clients sends from its
own loopback address (Linux answers all of 127.0.0.0/8 on ``lo``) and has its own MAC. Two
kinds of traffic, in the mix a boot storm makes:

* **rounds** — what a PXE client's loader does after DHCP: ask for its per-MAC config
  (``pxelinux.cfg/01-<mac>``, missing: a miss that names the MAC, so the tracker knows the
  client) and fetch a file (``images/small``, one TFTP block: request, transfer started,
  finished, the client's row updated) — the log lines;
* **streams** — clients pulling a big initrd (``images/big``) slowly, one block every
  :data:`STREAM_ACK_DELAY` (a slow or busy client, as in a storm): the engine sends each
  transfer's progress and the client's row ~10 times a second, so a few hundred streams are
  thousands of events a second for little TFTP work.

The load runs in its own process (``--load``), paced by ``rounds streams`` lines it reads
from stdin, so the bench can steer it to the engine event rate it wants (events/s are
counted where they arrive: in the console, the engine's coalesced and skipped ones included).
"""

from __future__ import annotations

import collections
import inspect
import json
import os
import selectors
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.helpers, also when run as the load process

from pxetui.engine.tftp.server import TftpServer  # noqa: E402
from tests.helpers.engine import ServedEngine, start_serve  # noqa: E402
from tests.helpers.ports import free_port  # noqa: E402
from tests.helpers.profiles import (  # noqa: E402
    CENTOS_ENTRY,
    loopback_profile,
    write_loopback_profile,
)

SMALL = "images/small"
BIG = "images/big"
BIG_SIZE = 16 << 20
"""Long enough that a stream never ends in a bench (512-byte blocks at ~12 a second)."""
STREAM_ACK_DELAY = 0.04
"""Seconds a streaming client waits before it ACKs a block (well inside the server's RTO):
~20 blocks a second, more than the engine's 10 progress events a second per transfer."""
STREAMS_MAX = inspect.signature(TftpServer).parameters["max_sessions"].default - 16
"""Streams at most: the engine's TFTP session cap, less room for the rounds' transfers."""
ROUND_TIMEOUT = 2.0
"""Seconds a client waits for the engine's answer before the round counts as lost."""


def client_ip(i: int) -> str:
    """Client *i*'s own loopback address: 127.1.x.y (never 127.0.0.1, the server's)."""
    return f"127.1.{i // 250}.{i % 250 + 1}"


def client_mac(i: int) -> str:
    return f"52-54-00-ee-{i >> 8 & 0xFF:02x}-{i & 0xFF:02x}"


def start_engine(root: Path) -> tuple[ServedEngine, int]:
    """``pxetui serve --profile`` on a loopback-only profile in *root* (no DHCP); the
    engine and its TFTP port."""
    tftp_port = free_port(socket.SOCK_DGRAM)
    text = loopback_profile(
        "ui-bench", tftp_port=tftp_port, interface="lo", subnet="127.0.0.0/8", entries=CENTOS_ENTRY
    )
    files = {"images/vmlinuz": 4096, "images/initrd.img": 4096, SMALL: 300, BIG: BIG_SIZE}
    profile = write_loopback_profile(root, text, files, filename="bench.yaml")
    return start_serve(profile), tftp_port


def start_load(tftp_port: int, clients: int, log: Path) -> subprocess.Popen[str]:
    """The load process; write ``rounds streams`` (rounds/s, streaming clients) as a line to
    its stdin to change it. It writes a JSON line a second (rounds done, rounds lost,
    streams running, blocks streamed) to *log*."""
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, __file__, "--load", str(tftp_port), str(clients)],
            stdin=subprocess.PIPE,
            stdout=out,
            text=True,
        )


def set_rate(load: subprocess.Popen[str], rounds_per_s: float, streams: int = 0) -> None:
    assert load.stdin is not None
    load.stdin.write(f"{rounds_per_s:.1f} {streams}\n")
    load.stdin.flush()


def _rrq(name: str) -> bytes:
    return struct.pack("!H", 1) + name.encode() + b"\0octet\0"


IDLE, MISS, DATA, STREAM = 0, 1, 2, 3
"""A client's stage: idle, waiting for its config's miss, for the small file's block, or
streaming the big file."""


def run_load(tftp_port: int, n: int) -> None:
    """Rounds and streams from N clients as read from stdin (none until told); every wait
    bounded (a round or a stream block without an answer in 2 s is lost, the client idle)."""
    sel = selectors.DefaultSelector()
    socks: list[socket.socket] = []
    for i in range(n):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((client_ip(i), 0))
        sock.setblocking(False)
        sel.register(sock, selectors.EVENT_READ, i)
        socks.append(sock)
    sel.register(sys.stdin, selectors.EVENT_READ, -1)
    stage = [IDLE] * n
    since = [0.0] * n
    block = [0] * n  # a stream's next expected block
    acks: collections.deque[tuple[float, int, int, tuple[str, int]]] = collections.deque()
    rate, streams_wanted = 0.0, 0
    done = lost = blocks = 0
    started = time.monotonic()
    next_client = 0
    credit = 0.0
    last = time.monotonic()
    last_report = next_scan = last
    streaming = 0
    server = ("127.0.0.1", tftp_port)
    while True:
        now = time.monotonic()
        if now >= next_scan:  # the scans over every client, 20 times a second (not per wake)
            next_scan = now + 0.05
            # Streams: clients n-1, n-2, … stream (after their first round made their row).
            streaming = sum(1 for s in stage if s == STREAM)
            i = n - 1
            while streaming < streams_wanted and i >= 0:
                if stage[i] == IDLE:
                    socks[i].sendto(_rrq(BIG), server)
                    stage[i], since[i], block[i] = STREAM, now, 1
                    streaming += 1
                i -= 1
            for i in range(n):  # a stream that got no block for 2 s is lost; the client idles
                if stage[i] == STREAM and now - since[i] > ROUND_TIMEOUT:
                    stage[i] = IDLE
                    lost += 1
        while acks and acks[0][0] <= now:  # a stream's delayed ACK is due
            _, i, number, peer = acks.popleft()
            if stage[i] == STREAM:
                socks[i].sendto(struct.pack("!HH", 4, number & 0xFFFF), peer)
        # At most 10 ms worth at once: bursts would overflow the server's socket buffer.
        credit = min(credit + (now - last) * rate, max(rate / 100, 1.0))
        last = now
        tried = 0
        while credit >= 1.0 and tried < n:
            i, next_client = next_client, (next_client + 1) % n
            tried += 1
            if stage[i] == STREAM or (stage[i] and now - since[i] < ROUND_TIMEOUT):
                continue
            if stage[i]:
                lost += 1
            socks[i].sendto(_rrq(f"pxelinux.cfg/01-{client_mac(i)}"), server)
            stage[i], since[i] = MISS, now
            credit -= 1.0
        for key, _ in sel.select(0.005):
            i = key.data
            if i == -1:
                line = sys.stdin.readline()
                if not line:
                    return
                words = line.split()
                rate = float(words[0])
                streams_wanted = min(int(words[1]) if len(words) > 1 else 0, n)
                continue
            sock = socks[i]
            try:
                packet, peer = sock.recvfrom(2048)
            except OSError:
                continue
            opcode = struct.unpack("!H", packet[:2])[0]
            if stage[i] == STREAM:
                if opcode == 3 and struct.unpack("!H", packet[2:4])[0] == block[i] & 0xFFFF:
                    since[i] = now
                    blocks += 1
                    acks.append((now + STREAM_ACK_DELAY, i, block[i], peer))
                    block[i] += 1
                    if len(packet) < 516:  # the last block: the stream starts over
                        stage[i] = IDLE
                elif opcode != 3:
                    stage[i] = IDLE
                    lost += 1
            elif stage[i] == MISS:  # the miss: now fetch the file
                sock.sendto(_rrq(SMALL), server)
                stage[i] = DATA
            elif stage[i] == DATA and opcode == 3:  # DATA block 1 of a one-block file
                sock.sendto(struct.pack("!HH", 4, 1), peer)
                stage[i] = IDLE
                done += 1
            elif stage[i] == DATA:
                stage[i] = IDLE
                lost += 1
        if now - last_report >= 1.0:
            last_report = now
            report = {"t": round(now - started, 1), "rounds": done, "lost": lost}
            print(json.dumps({**report, "streams": streaming, "blocks": blocks}), flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--load":
        os.nice(5)  # the console under test comes first when the box is busy
        run_load(int(sys.argv[2]), int(sys.argv[3]))
