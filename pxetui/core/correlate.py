"""Which client (MAC) sent a TFTP/HTTP request that carries only an IP address.

File servers see ``10.0.0.129:49152``; the operator thinks in MACs. This is the ONE place that
decides who that was, so the rules can be read (and tested) together, strongest first:

1. The file name itself names a MAC (``pxelinux.cfg/01-aa-bb-…``, ``ipxe/aa-bb-….ipxe``,
   ``grub/grub.cfg-01-…``, ``s390x/01-…``): firmware only asks for its own per-MAC file.
2. DHCP told us: a lease, an ACK, or the proxy's port-4011 reply paired this IP with a MAC.
3. Exactly one client got a DHCP answer recently and we do not know its IP yet (behind
   proxyDHCP the LAN's DHCP server hands out the address, our dnsmasq never sees it).

Anything weaker is a guess we refuse to make: an unknown IP stays unknown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pxetui.core.mac import MacAddress, MacAddressError

# 01-aa-bb-cc-dd-ee-ff (pxelinux, GRUB, s390-ccw) or aa-bb-cc-dd-ee-ff.ipxe (iPXE hexhyp).
_PER_MAC = re.compile(
    r"(?:^|[/\\-])(01-)?((?:[0-9a-fA-F]{2}-){5}[0-9a-fA-F]{2})(?:\.ipxe)?$",
)

# How long after its last DHCP answer a client without a known IP may be the sole candidate.
PENDING_WINDOW_S = 60.0


@dataclass(frozen=True, slots=True)
class Pending:
    """A client that got a DHCP answer at ``seen`` and whose IP we have not learnt."""

    mac: MacAddress
    seen: float


@dataclass(frozen=True, slots=True)
class Correlation:
    """The answer: a MAC (or ``None``) and which rule decided, for hints and tests."""

    mac: MacAddress | None
    rule: str  # "filename" | "dhcp" | "sole-candidate" | "unknown"


def mac_in_filename(filename: str) -> MacAddress | None:
    """The MAC a per-MAC boot file name is built from, or ``None``."""
    name = filename.strip().replace("\\", "/")
    match = _PER_MAC.search(name)
    if match is None:
        return None
    try:
        return MacAddress.parse(match.group(2))
    except MacAddressError:
        return None


def correlate(
    ip: str,
    filename: str,
    ts: float,
    *,
    known: Mapping[str, MacAddress],
    pending: Sequence[Pending] = (),
    window: float = PENDING_WINDOW_S,
) -> Correlation:
    """Decide which MAC a request from *ip* for *filename* at *ts* came from.

    *known* maps IPs to the MAC DHCP last paired them with; *pending* lists clients answered
    by DHCP whose IP is still unknown.
    """
    by_name = mac_in_filename(filename)
    if by_name is not None:
        return Correlation(by_name, "filename")
    mac = known.get(ip)
    if mac is not None:
        return Correlation(mac, "dhcp")
    recent = {p.mac for p in pending if 0.0 <= ts - p.seen <= window}
    if len(recent) == 1:
        return Correlation(next(iter(recent)), "sole-candidate")
    return Correlation(None, "unknown")
