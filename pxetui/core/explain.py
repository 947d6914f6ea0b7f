"""The lookup explainer: which files a client's firmware will ask for, and which one wins.

"Why did this machine boot the wrong thing?" is the most common PXE question. The answer is
the loader's search order (PXE-FACTS "Who asks for what", checked against captured boots)
applied to this client's MAC, UUID and IP, compared with what is on disk right now.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path
from uuid import UUID

from pxetui.core import layout
from pxetui.core.arch import profile_arch
from pxetui.core.mac import MacAddress
from pxetui.core.profile.model import Profile

LOADERS = ("pxelinux", "grub", "shim", "s390-ccw file", "s390-ccw dir", "ipxe")

# Which loaders a client architecture can run (names from the profile, or option 93).
_ARCH_LOADERS: dict[str, tuple[str, ...]] = {
    "bios": ("pxelinux", "ipxe"),
    "uefi-x64": ("shim", "grub", "ipxe"),
    "uefi-ia32": ("grub", "ipxe"),
    "uefi-arm64": ("grub", "ipxe"),
    "s390x": ("s390-ccw file", "s390-ccw dir"),
}

_Step = tuple[str, str, bool]  # path, why it is asked for, whether it can win


@dataclass(frozen=True, slots=True)
class LookupStep:
    """One request the firmware makes, in order, and what it finds today."""

    loader: str
    order: int
    path: str
    exists: bool | None  # None: no TFTP root to look in
    wins: bool
    note: str = ""


def arch_name(arch: str | int | None) -> str | None:
    """A profile arch name for a name or an option-93 number; None if unknown/absent."""
    if arch is None:
        return None
    text = str(arch).strip().lower()
    if text in _ARCH_LOADERS:
        return text
    if text.isdigit():
        return profile_arch(int(text))
    return None


def hex_ip_names(ip: IPv4Address) -> list[str]:
    """``0AFA4D81``, ``0AFA4D8`` … ``0``: pxelinux's shortening of the uppercase hex IP."""
    full = f"{int(ip):08X}"
    return [full[:n] for n in range(8, 0, -1)]


def _pxelinux_dir(mac: MacAddress, ip: IPv4Address | None, uuid: UUID | None) -> list[_Step]:
    steps: list[_Step] = []
    if uuid is not None:
        steps.append((f"{layout.PXELINUX_DIR}/{uuid}", "only when the client sent option 97", True))
    steps.append((layout.pxelinux_config(mac), "per-MAC (01 = Ethernet)", True))
    if ip is not None:
        for name in hex_ip_names(ip):
            steps.append((f"{layout.PXELINUX_DIR}/{name}", "client IP in hex", True))
    steps.append((layout.PXELINUX_DEFAULT, "everyone else", True))
    return steps


def _ipxe(mac: MacAddress, profile: Profile | None) -> list[_Step]:
    steps: list[_Step] = [
        (layout.BOOT_IPXE, "entry point from DHCP (user class iPXE)", False),
        (layout.ipxe_script(mac), "${mac:hexhyp} of the booting NIC", True),
    ]
    if profile is not None:
        for primary, host in profile.hosts.items():
            if mac in host.macs:
                note = f"other NIC of this machine (hosts.{primary}.macs)"
                steps.append((layout.ipxe_script(primary), note, True))
        own = profile.hosts.get(mac)
        for other in own.macs if own is not None else ():
            steps.append((layout.ipxe_script(other), "tried when that NIC is present", True))
    steps.append((layout.IPXE_DEFAULT, "everyone else", True))
    return steps


def _grub(mac: MacAddress) -> list[_Step]:
    return [
        (layout.GRUB_DISPATCHER, "Debian's grubnetx64.efi sources only $prefix/grub.cfg", False),
        (layout.grub_config(mac), "picked by our dispatcher from $net_default_mac", True),
        (layout.GRUB_DEFAULT, "everyone else", True),
    ]


def _shim(mac: MacAddress, profile: Profile | None) -> list[_Step]:
    """shim (Secure Boot), seen in a real OVMF boot: itself, its probes, GRUB beside it."""
    shim = profile.shim.file if profile is not None else layout.SHIM_EFI
    here = shim.rpartition("/")[0]
    beside = [f"{here}/{name}" if here else name for name in layout.SHIM_PROBES]
    grub = f"{here}/{layout.SHIM_GRUB}" if here else layout.SHIM_GRUB
    return [
        (shim, "the boot file from DHCP (BOOTP file field)", False),
        *((name, "shim probes it beside itself; a miss is normal", False) for name in beside),
        (grub, "shim's second stage, from shim's own directory", False),
        *_grub(mac),
    ]


def _steps_for(
    loader: str,
    mac: MacAddress,
    ip: IPv4Address | None,
    uuid: UUID | None,
    profile: Profile | None,
) -> list[_Step]:
    if loader == "pxelinux":
        return _pxelinux_dir(mac, ip, uuid)
    if loader == "grub":
        return _grub(mac)
    if loader == "shim":
        return _shim(mac, profile)
    if loader == "s390-ccw file":
        return [(layout.s390x_config(mac), "boot file named by DHCP (file form)", True)]
    if loader == "s390-ccw dir":
        return _pxelinux_dir(mac, ip, uuid)
    return _ipxe(mac, profile)


def explain(
    mac: MacAddress,
    *,
    ip: IPv4Address | str | None = None,
    uuid: UUID | str | None = None,
    arch: str | int | None = None,
    profile: Profile | None = None,
    tftp_root: Path | None = None,
) -> list[LookupStep]:
    """Per loader, the ordered requests *mac*'s firmware makes and which file wins today.

    The host's UUID and arch from *profile* are used when not given; *tftp_root* defaults
    to the profile's. Without a root, ``exists`` is None and nothing is marked as winning.
    """
    if not isinstance(mac, MacAddress):
        raise TypeError("mac must be a MacAddress")
    host = profile.hosts.get(mac) if profile is not None else None
    address = IPv4Address(ip) if ip not in (None, "") else None
    if uuid in (None, "") and host is not None:
        uuid = host.uuid
    client_uuid = UUID(str(uuid)) if uuid not in (None, "") else None
    if arch in (None, "") and host is not None:
        arch = host.arch
    name = arch_name(arch)
    loaders = _ARCH_LOADERS.get(name, LOADERS) if name is not None else LOADERS
    if tftp_root is None and profile is not None:
        tftp_root = profile.tftp.root
    entry = f"; assigned entry '{host.entry}'" if host is not None else ""
    result: list[LookupStep] = []
    for loader in loaders:
        won = False
        for order, (path, note, candidate) in enumerate(
            _steps_for(loader, mac, address, client_uuid, profile), start=1
        ):
            exists = (tftp_root / path).is_file() if tftp_root is not None else None
            wins = bool(candidate and exists and not won)
            won = won or wins
            result.append(
                LookupStep(
                    loader=loader,
                    order=order,
                    path=path,
                    exists=exists,
                    wins=wins,
                    note=note + (entry if wins and mac.hexhyp in path else ""),
                )
            )
    return result
