"""The kernel's neighbour (ARP) table: who is behind an IP that just asked for a file.

Behind proxyDHCP our dnsmasq never sees which address the LAN's DHCP server handed out, but
a client that sends us a TFTP request has just ARPed for our address, so the kernel knows
its MAC. Reading ``/proc/net/arp`` is cheap and needs no privileges.
"""

from __future__ import annotations

from pathlib import Path

from pxetui.core.mac import MacAddress, MacAddressError

ARP_TABLE = Path("/proc/net/arp")
_INCOMPLETE = "0x0"


def parse_arp_table(text: str) -> dict[str, MacAddress]:
    """``/proc/net/arp`` text → {ip: mac} for complete entries."""
    table: dict[str, MacAddress] = {}
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) < 4 or parts[2] == _INCOMPLETE:
            continue
        try:
            mac = MacAddress.parse(parts[3])
        except MacAddressError:
            continue
        if mac.hex12 != "000000000000":
            table[parts[0]] = mac
    return table


def neighbor_mac(ip: str, table_path: Path = ARP_TABLE) -> MacAddress | None:
    """The MAC the kernel has for *ip*, or ``None``."""
    try:
        text = table_path.read_text()
    except OSError:
        return None
    return parse_arp_table(text).get(ip)
