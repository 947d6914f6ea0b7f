"""Which runs make up ``--quick``, ``--full`` and ``--smoke``.

Why these: the quick matrix covers exactly the targets of issues 3 and 14 (TFTP at 1/10/50 clients
without delay, windowsize 16 at +1 ms RTT, 0.2 % ACK loss, HTTP at 1/50 clients) in a few
minutes; the full matrix adds 41 MiB files, blksize 512 and the largest blksize, and windowsize
1 at +1 ms. ``--smoke`` is the smallest run that still exercises every moving part.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from typing import Literal

MIB = 1 << 20
FILES = {"5MiB": 5 * MIB, "41MiB": 41 * MIB, "1MiB": 1 * MIB}
MAX_BLKSIZE = 65464  # RFC 2348's ceiling; over a 1500-byte MTU this means IP fragments
LOSS_EVERY = 500  # drop every 500th TFTP ACK = 0.2 %


@dataclass(frozen=True)
class Scenario:
    """One row of the table: what every server is asked to do, and over which path."""

    protocol: Literal["tftp", "http"]
    clients: int
    file: str
    blksize: int = 0  # 0 = option not asked
    windowsize: int = 0
    delay_us: int = 0  # added client->server delay (relay)
    drop_every: int = 0  # drop every Nth ACK (relay)

    @property
    def size(self) -> int:
        return FILES[self.file]

    @property
    def via_relay(self) -> bool:
        return self.delay_us > 0 or self.drop_every > 0

    @property
    def label(self) -> str:
        parts = [self.protocol.upper(), f"{self.clients}c", self.file]
        if self.protocol == "tftp":
            parts += [f"bs{self.blksize or 512}", f"ws{self.windowsize or 1}"]
        if self.delay_us:
            parts.append(f"+{self.delay_us / 1000:g}ms")
        if self.drop_every:
            parts.append(f"{100 / self.drop_every:.2g}%ackloss")
        return " ".join(parts)


def quick() -> list[Scenario]:
    """The four targets, small enough for a few minutes on a shared 2-core box."""
    rows = [Scenario("tftp", n, "5MiB", 1468, 1) for n in (1, 10, 50)]
    rows.append(Scenario("tftp", 1, "5MiB", 1468, 16, delay_us=1000))
    rows.append(Scenario("tftp", 10, "5MiB", 1468, 1, drop_every=LOSS_EVERY))
    rows += [Scenario("http", n, "41MiB") for n in (1, 50)]
    return rows


def full() -> list[Scenario]:
    """Every combination the issue names (long: run it on an idle machine)."""
    rows = [
        Scenario("tftp", n, f, bs, ws)
        for n, f, bs, ws in product(
            (1, 10, 50), ("5MiB", "41MiB"), (512, 1468, MAX_BLKSIZE), (1, 16)
        )
    ]
    rows += [
        Scenario("tftp", n, "5MiB", 1468, ws, delay_us=1000) for n, ws in product((1, 10), (1, 16))
    ]
    rows += [Scenario("tftp", n, "5MiB", 1468, 1, drop_every=LOSS_EVERY) for n in (1, 10, 50)]
    rows.append(Scenario("tftp", 10, "5MiB", 1468, 16, drop_every=LOSS_EVERY))
    rows += [Scenario("http", n, f) for n, f in product((1, 50), ("5MiB", "41MiB"))]
    return rows


def smoke() -> list[Scenario]:
    """One tiny run per path (direct, delay, loss, HTTP): proves the harness, measures nothing."""
    return [
        Scenario("tftp", 2, "1MiB", 1468, 1),
        Scenario("tftp", 1, "1MiB", 1468, 16, delay_us=1000),
        Scenario("tftp", 1, "1MiB", 1468, 1, drop_every=300),
        Scenario("http", 2, "1MiB"),
    ]


# Issue 14's targets for pxetui: (scenario label, peer, minimum ratio peer time / pxetui time).
TARGETS: tuple[tuple[str, str, float], ...] = (
    ("TFTP 1c 5MiB bs1468 ws1", "dnsmasq", 1.0),
    ("TFTP 10c 5MiB bs1468 ws1", "dnsmasq", 1.0),
    ("TFTP 50c 5MiB bs1468 ws1", "dnsmasq", 1.0),
    ("TFTP 1c 5MiB bs1468 ws16 +1ms", "atftpd", 1.0),
    ("TFTP 10c 5MiB bs1468 ws1 0.2%ackloss", "tftpd-hpa", 1.0),
    ("HTTP 1c 41MiB", "nginx", 1.0),
    ("HTTP 50c 41MiB", "nginx", 1.0),
)
