"""Client architecture (DHCP option 93) and a best guess of the firmware that is asking.

dnsmasq tells us what a client is only indirectly: the vendor class
(``PXEClient:Arch:00007:UNDI:003016``), the user class (``iPXE``), the options it requested
(s390-ccw asks for 209/210) and the tags our own configuration set (``efi64`` for arch 7 and
9). This module turns those clues into the two things the operator wants to see in the
client table, the architecture and the firmware, and into the profile's :data:`Arch` names.

The tag names live here (not in the dnsmasq configuration module) because both sides must
agree: the configuration sets them, the log folder reads them back, and core stays pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pxetui.core.profile.model import Arch

# IANA "Processor Architecture Types" (RFC 4578 + later registrations), the ones seen in labs:
# code -> (name in words, short name for narrow columns, the profile's arch name or None).
# The one table every view reads (status, the console's Arch column, the explainer).
_OPTION93: dict[int, tuple[str, str, Arch | None]] = {
    0: ("BIOS", "bios", "bios"),
    1: ("NEC PC98", "pc98", None),
    2: ("Itanium", "ia64", None),
    3: ("DEC Alpha", "alpha", None),
    4: ("Arc x86", "arcx86", None),
    5: ("Intel Lean Client", "lean", None),
    6: ("UEFI IA32", "efi32", "uefi-ia32"),
    7: ("UEFI x64", "efi64", "uefi-x64"),
    8: ("UEFI Xscale", "xscale", None),
    # registered as "EBC", but x64 firmware sends it: treat as x64
    9: ("UEFI x64", "efi64", "uefi-x64"),
    10: ("UEFI ARM32", "arm32", None),  # pxetui boots no 32-bit ARM
    11: ("UEFI ARM64", "arm64", "uefi-arm64"),
    15: ("UEFI IA32 HTTP", "http32", "uefi-ia32"),
    16: ("UEFI x64 HTTP", "http64", "uefi-x64"),
    18: ("UEFI ARM32 HTTP", "httpa32", None),
    19: ("UEFI ARM64 HTTP", "httpa64", "uefi-arm64"),
    31: ("s390 basic", "s390x", "s390x"),
    32: ("s390 extended", "s390x", "s390x"),
}
ARCH_NAMES: dict[int, str] = {code: names[0] for code, names in _OPTION93.items()}
_PROFILE_ARCH: dict[int, Arch] = {
    code: names[2] for code, names in _OPTION93.items() if names[2] is not None
}


def short_arch(code: int | None) -> str:
    """``7`` → ``efi64``: option 93 for a narrow column; empty while unknown."""
    if code is None:
        return ""
    names = _OPTION93.get(code)
    return names[1] if names is not None else str(code)


# Representative option-93 code for each profile arch (used when only the arch is known).
ARCH_CODES: dict[Arch, int] = {
    "bios": 0,
    "uefi-ia32": 6,
    "uefi-x64": 7,
    "uefi-arm64": 11,
    "s390x": 31,
}

# Tags our dnsmasq configuration sets from option 93
# (``--dhcp-match=set:<tag>,option:client-arch,N``) and the option-93 code each stands for
# when the vendor class does not say.
TAG_BIOS = "bios"
TAG_EFI32 = "efi32"
TAG_EFI64 = "efi64"
TAG_ARM64 = "arm64"
TAG_S390X = "s390x"
TAG_IPXE = "ipxe"
TAG_EFI64_HTTP = "efi64http"  # UEFI HTTP boot (option 93 = 16, vendor class HTTPClient)
ARCH_TAGS: dict[str, tuple[int, ...]] = {
    TAG_BIOS: (0,),
    TAG_EFI32: (6,),
    TAG_EFI64: (7, 9),
    TAG_ARM64: (11,),
    TAG_S390X: (31, 32),
    TAG_EFI64_HTTP: (16,),
}

# Firmware names the client table shows.
FW_PXE_ROM = "PXE ROM"
FW_IPXE = "iPXE"
FW_EDK2 = "EDK2"
FW_EDK2_HTTP = "EDK2 HTTP"
FW_S390_CCW = "s390-ccw"
FW_GRUB = "GRUB"
FW_PXELINUX = "pxelinux"
FW_LINUX = "Linux DHCP client"

_VENDOR_ARCH = re.compile(r"^(?:PXEClient|HTTPClient):Arch:(\d{1,5})(?!\d)", re.IGNORECASE)
_VENDOR_UNDI = re.compile(r":UNDI:(\d{6})", re.IGNORECASE)
# EDK2 (OVMF and most vendor UEFI firmware) reports UNDI 3.0.x; iPXE reports 2.1 (002001)
# from a BIOS ROM and 3.0.10 (003010) as ipxe.efi.
_EDK2_UNDI = re.compile(r"^0030(0\d|1[1-9])$")


def arch_name(code: int | None) -> str:
    """``7`` → ``UEFI x64``; unknown codes read ``arch 42`` so nothing is hidden."""
    if code is None:
        return "unknown"
    return ARCH_NAMES.get(code, f"arch {code}")


def profile_arch(code: int | None) -> Arch | None:
    """The profile's name for an option-93 code (9 counts as x64), or None if we have none."""
    if code is None:
        return None
    return _PROFILE_ARCH.get(code)


def arch_from_vendor_class(vendor_class: str) -> int | None:
    """``PXEClient:Arch:00007:UNDI:003016`` → 7. Anything else (``PXEClient``, ``udhcp``) → None."""
    match = _VENDOR_ARCH.match(vendor_class.strip())
    if match is None:
        return None
    code = int(match.group(1))
    return code if code <= 0xFFFF else None


def arch_from_tags(tags: Iterable[str]) -> int | None:
    """The arch our own dnsmasq tags imply (``efi64`` → 7), when the vendor class is silent."""
    for tag in tags:
        codes = ARCH_TAGS.get(tag.strip())
        if codes:
            return codes[0]
    return None


def client_arch(vendor_class: str, tags: Iterable[str] = ()) -> int | None:
    """Option 93 as best we know it: the vendor class wins, then our tags."""
    code = arch_from_vendor_class(vendor_class)
    return code if code is not None else arch_from_tags(tags)


def guess_firmware(
    vendor_class: str,
    user_class: str = "",
    *,
    arch: int | None = None,
    requested_options: Iterable[int] = (),
) -> str:
    """Name the program behind a DHCP packet, or ``""`` if the clues do not say.

    Order matters: iPXE sends both a PXEClient vendor class and user class ``iPXE`` (so the
    user class wins); s390-ccw sends no vendor class but asks for options 209/210 and, in
    its REQUEST, arch 31; EDK2 reports UNDI 3.0.x except 3.0.10, which is ipxe.efi.
    """
    vendor = vendor_class.strip()
    user = user_class.strip()
    if user.lower() == "ipxe":
        return FW_IPXE
    if vendor.lower().startswith("grubclient") or user.lower().startswith("grub"):
        return FW_GRUB
    if vendor.lower().startswith("pxelinux") or user.lower().startswith("pxelinux"):
        return FW_PXELINUX
    code = arch if arch is not None else arch_from_vendor_class(vendor)
    if vendor.lower().startswith("httpclient"):
        return FW_EDK2_HTTP
    if vendor.lower().startswith("pxeclient"):
        undi = _VENDOR_UNDI.search(vendor)
        if undi is not None and undi.group(1) == "003010":
            return FW_IPXE
        if code is not None and code >= 6:
            if undi is None or _EDK2_UNDI.match(undi.group(1)):
                return FW_EDK2
            return "UEFI PXE"
        return FW_PXE_ROM
    requested = set(requested_options)
    if not vendor and (code in (31, 32) or {209, 210} <= requested):
        return FW_S390_CCW
    if vendor.lower().startswith(("udhcp", "dhcpcd", "anaconda", "dracut", "systemd")):
        return FW_LINUX
    return ""
