"""Hints: what a stuck or odd-looking boot probably means, in the operator's words.

The tracker decides *when* a hint applies; the sentences live here so they are written (and
reviewed) together. Each comes from a real boot seen on this kind of lab.
"""

from __future__ import annotations

from collections.abc import Iterator

# iPXE waits ~13-16 s in "Configuring (net0 …)" on a LAN without IPv6 router advertisements.
IPXE_SILENT_S = 15.0
# A client that got an offer and fetched nothing for this long is probably not reaching TFTP.
LOADER_WAIT_S = 10.0
MAX_HINTS = 6


class Hints:
    """A small ordered set of hint sentences; the oldest drops out when it is full."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: list[str] = []

    def add(self, hint: str) -> bool:
        """Add *hint* unless already present; True if it is new."""
        if hint in self._items:
            return False
        self._items = [*self._items[-(MAX_HINTS - 1) :], hint]
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


def miss_then_default_hint(missed: str, default: str) -> str:
    return (
        f"asked for {missed} and got not found, then {default}: "
        "no per-MAC file, so it boots the default entry"
    )


def size_probe_hint(filename: str) -> str:
    return f"UEFI size probe for {filename} (normal: firmware asks the size, then downloads)"


def ipxe_silent_hint() -> str:
    return (
        f"iPXE started but no DHCP for {IPXE_SILENT_S:.0f} s: "
        "waiting for an IPv6 router advertisement?"
    )


def no_loader_hint() -> str:
    return (
        f"offered but never fetched the loader for {LOADER_WAIT_S:.0f} s: "
        "is TFTP port 69 reachable (firewall, wrong next-server)?"
    )


# Above this, a kernel/initrd/image over TFTP is worth moving to HTTP (measured 4-5x faster).
BIG_OVER_TFTP = 8_000_000


def big_over_tftp_hint(filename: str, size: int) -> str:
    return (
        f"{filename} ({size / 1e6:.0f} MB) came over TFTP: HTTP is 4-5x faster "
        "(use the ipxe loader so kernels and initrds come over HTTP)"
    )
