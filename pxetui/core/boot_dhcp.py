"""What one DHCP line means for a boot: who sent it, and the exchange it is part of.

The tracker (:mod:`pxetui.core.tracker`) decides which machine and which boot a DHCP line
belongs to and whether it starts a boot; the functions here say whether the boot firmware
sent it (not the booted OS's own DHCP client) and fold it into the boot's exchange (asked,
answered, taken, or taken elsewhere), as :mod:`pxetui.core.boot_requests` does for files.
Pure: a :class:`~pxetui.core.boot.Boot` and the event.
"""

from __future__ import annotations

import re

from pxetui.core.arch import FW_IPXE, FW_LINUX
from pxetui.core.boot import Boot, DhcpStep
from pxetui.core.events import DhcpEvent
from pxetui.core.mac import MacAddress

HOSTNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,62}")
"""A host name a client may send (option 12) that the table shows."""


def firmware_of(event: DhcpEvent) -> str:
    """The firmware that sent *event*; iPXE by its user class too."""
    ipxe = event.user_class == "iPXE" or event.firmware == FW_IPXE
    return FW_IPXE if ipxe else event.firmware


def from_firmware(event: DhcpEvent, firmware: str) -> bool:
    """Boot firmware starting over means a new boot; the booted OS's own DHCP client
    (udhcpc in an initrd, dhclient) does not."""
    return firmware != FW_LINUX and (
        event.vendor_class.startswith(("PXEClient", "HTTPClient"))
        or event.arch is not None
        or bool(firmware)
    )


def first_step(event: DhcpEvent, msg: str) -> bool:
    """Does the line open an exchange? The client's DISCOVER — or, in proxy mode, where
    dnsmasq logs only its replies, the reply to one: no address, no boot file. The steps
    after it (REQUEST, ACK, the proxy's reply naming the boot file, on port 4011 or to the
    REQUEST) belong to whatever the first one started, however late they are read."""
    return msg == "DHCPDISCOVER" or (msg == "PXE" and not event.ip and not event.boot_file)


def exchange(
    boot: Boot, event: DhcpEvent, msg: str, firmware: str, nic: MacAddress, ts: float
) -> None:
    """The boot's DHCP exchange: asked, answered, taken (or taken elsewhere)."""
    if msg in ("DHCPDISCOVER", "DHCPREQUEST", "PXE"):
        boot.reach("discovered", ts)
    if msg in ("DHCPOFFER", "DHCPACK", "PXE"):
        boot.reach("offered", ts)
        boot.answered_at = ts
        if firmware == FW_IPXE:
            boot.ipxe_dhcp_at = ts
            boot.ipxe_nics.add(nic)
            boot.clear("loader_silent")  # the loader we sent is alive
            boot.clear("loader_refused")
    if msg == "DHCPOFFER":
        boot.offered_at = boot.offered_at or ts
        boot.offered_ip = event.ip or boot.offered_ip
    elif msg in ("DHCPACK", "PXE"):
        boot.accepted_at = ts
        boot.clear("dhcp_race_lost")
    elif msg == "DHCPREQUEST" and event.ip and boot.offered_ip and event.ip != boot.offered_ip:
        boot.requested_other = event.ip
    if msg == "DHCPNAK":
        boot.last_error = f"DHCPNAK {event.text}".strip()
    elif msg == "DHCPDISCOVER" and "no address" in event.text.lower():
        boot.last_error = f"no address for it: {event.text}"


def step(event: DhcpEvent, msg: str, firmware: str) -> DhcpStep:
    """The line as a step of the boot's DHCP history."""
    assert event.mac is not None
    return DhcpStep(event.ts, msg, event.mac, event.ip, firmware, event.xid)
