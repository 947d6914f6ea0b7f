"""How large a window pxetui grants a client that asks for more than 64 blocks (RFC 7440).

A window only has to cover the round trip: while its last block is on its way and the ACK
comes back, the link should stay busy. At LAN round trips (≤ 0.5 ms) 64 blocks of 1468 bytes
already outlast it at 1 Gbit/s; a bigger window only adds loss (one drop resends the whole
rest of it) and memory. So the default cap is 64, and only a client known to be far away
gets more: the server remembers each client address's smoothed RTT from its last transfer
(the DHCP-then-TFTP boot makes several: the loader, its config, the kernel) and grants

    window = ceil(rtt * 1 Gbit/s / (blksize + 32 bytes of headers))

blocks, at least 64 and at most :data:`MAX_OFFER` (and never more than asked). A client it has
not seen yet gets 64. An operator's ``max_windowsize`` other than 64 is used as it is.
"""

from __future__ import annotations

import math
from collections import OrderedDict

from pxetui.engine.tftp.options import DEFAULT_MAX_WINDOWSIZE

LINK_BYTES_PER_SECOND = 125_000_000  # 1 Gbit/s: what a PXE NIC and its switch port do
HEADERS = 20 + 8 + 4  # IPv4 + UDP + TFTP DATA
MAX_OFFER = 512
MAX_CLIENTS = 4096  # client addresses remembered (oldest forgotten first)


def window_for_rtt(rtt: float, blksize: int) -> int:
    """Blocks in flight that keep a 1 Gbit/s link busy for one round trip (64..MAX_OFFER)."""
    blocks = math.ceil(rtt * LINK_BYTES_PER_SECOND / (blksize + HEADERS))
    return max(DEFAULT_MAX_WINDOWSIZE, min(MAX_OFFER, blocks))


def requested_window(options: dict[str, str]) -> int:
    """The windowsize a client asked for (0 if none or junk)."""
    for name, value in options.items():
        if name.lower() == "windowsize" and value.isdigit() and len(value) <= 6:
            return int(value)
    return 0


class RttMemory:
    """The last smoothed RTT per client address, bounded (LRU)."""

    def __init__(self, capacity: int = MAX_CLIENTS) -> None:
        self._capacity = capacity
        self._rtts: OrderedDict[str, float] = OrderedDict()

    def remember(self, client_ip: str, rtt: float | None) -> None:
        if rtt is None or rtt <= 0:
            return
        self._rtts[client_ip] = rtt
        self._rtts.move_to_end(client_ip)
        while len(self._rtts) > self._capacity:
            self._rtts.popitem(last=False)

    def get(self, client_ip: str) -> float | None:
        return self._rtts.get(client_ip)


def window_cap(configured: int, blksize: int, asked: int, rtt: float) -> int:
    """The ``max_windowsize`` to negotiate with, for a client *rtt* seconds away."""
    if configured != DEFAULT_MAX_WINDOWSIZE or asked <= DEFAULT_MAX_WINDOWSIZE:
        return configured
    return min(asked, window_for_rtt(rtt, blksize))
