"""The real-firmware boots the e2e suite asserts and the timings table measures.

One record per scenario, so ``tests/e2e``, ``bench/boot_timings.py`` and ``pxetui lab``
agree on which firmware boots which entry of ``pxetui/assets/lab/lab.yaml``, how DHCP is set up,
and what the guest must print to count as booted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pxetui.core.mac import MacAddress
from pxetui.lab.guest import GuestArch
from pxetui.lab.qemu import Firmware
from pxetui.lab.reference import ReferenceKind
from pxetui.lab.tree import initrd_marker

DhcpMode = Literal["proxy", "full"]

BIOS_MAC = MacAddress.parse("52:54:00:e2:e0:01")
UNKNOWN_MAC = MacAddress.parse("52:54:00:e2:e0:99")
MULTI_NIC_MAC = MacAddress.parse("52:54:00:e2:e0:21")
"""The multi-NIC host of the lab profile (``lab-multi``), by its first NIC's MAC …"""
MULTI_NIC_SECOND = MacAddress.parse("52:54:00:e2:e0:22")
"""… and its second NIC (``macs:``), the one that boots."""
S390X_MAC = MacAddress.parse("52:54:00:e2:e3:90")

# no_timer_check: under TCG on a loaded host the kernel's IO-APIC timer test can miss its
# ticks ("..MP-BIOS bug: 8254 timer not connected to IO-APIC") and panic; VMs skip it.
X86_ARGS = "console=ttyS0,115200 no_timer_check panic=-1 quiet"
S390X_ARGS = "panic=-1 quiet"


@dataclass(frozen=True, slots=True)
class Scenario:
    """One boot: firmware and NIC, DHCP mode, the entry assigned, what must be printed."""

    name: str
    title: str
    firmware: Firmware
    mac: MacAddress
    entry: str
    dhcp: DhcpMode = "proxy"
    initrd: str = "initrd-amd64.gz"
    expect_args: tuple[str, ...] = ()
    overrides: dict[str, Any] = field(default_factory=dict)
    reference: ReferenceKind | None = None
    timeout: float = 120.0
    external_dhcp: bool = False
    """pxetui runs with ``dhcp.mode: off``; a DHCP-only dnsmasq points the firmware at it."""
    secure_boot: bool = False
    """UEFI with Secure Boot enforcing (Microsoft's keys): unsigned loaders are refused."""
    dead_nic: MacAddress | None = None
    """A first NIC on a link of its own ahead of the booting one (a multi-NIC host)."""
    http_boot: bool = False
    """UEFI HTTP boot: OVMF's PXE options off, so it asks DHCP as ``HTTPClient``."""

    @property
    def arch(self) -> GuestArch:
        return "s390x" if self.firmware == "s390x" else "amd64"

    @property
    def marker(self) -> str:
        """The guest's marker line prefix for this scenario's initrd."""
        return f"PXETUI-BOOTED marker={initrd_marker(self.initrd)} "

    def profile_overrides(self) -> dict[str, Any]:
        """Changes to ``lab.yaml`` this scenario needs (DHCP mode, loader …)."""
        out: dict[str, Any] = {"hosts": {}}
        if self.external_dhcp:
            out["network"] = {"dhcp": {"mode": "off"}}
        elif self.dhcp == "full":
            out["network"] = {
                "dhcp": {
                    "mode": "full",
                    "subnet": None,
                    "range": ["10.250.77.100", "10.250.77.150"],
                }
            }
        out.update(self.overrides)
        return out


FULL_DHCP: DhcpMode = "full"

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "bios-pxelinux",
            "BIOS iPXE ROM -> pxelinux.0 -> pxelinux.cfg/01-<mac> -> kernel (TFTP), proxyDHCP",
            "bios",
            BIOS_MAC,
            "tiny",
            expect_args=("pxetui.entry=tiny", X86_ARGS),
            overrides={"loader": "pxelinux"},
            reference="pxelinux",
        ),
        Scenario(
            "ipxe-http-40m",
            "BIOS iPXE per-MAC script, kernel + 40 MB initrd over HTTP, proxyDHCP",
            "bios",
            BIOS_MAC,
            "big-initrd",
            initrd="initrd-amd64-40m.gz",
            expect_args=("pxetui.entry=big-initrd",),
            reference="ipxe",
        ),
        Scenario(
            "centos-serial",
            "serial CentOS entry: console=ttyS0,115200 and inst.* reach the kernel",
            "bios",
            BIOS_MAC,
            "centos-serial",
            expect_args=("console=ttyS0,115200", "inst.repo=", "inst.text"),
            reference="ipxe",
        ),
        Scenario(
            "diskless",
            "diskless: the initrd fetches a squashfs over pxetui's HTTP and mounts it",
            "bios",
            BIOS_MAC,
            "diskless",
            initrd="initrd-amd64-diskless.gz",
            expect_args=("root=live:http://10.250.77.1:8080/lab/root.squashfs",),
        ),
        Scenario(
            "uefi-ipxe",
            "UEFI: OVMF with EDK2's own PXE -> ipxe.efi -> kernel, proxyDHCP",
            "uefi",
            BIOS_MAC,
            "tiny",
            expect_args=("pxetui.entry=tiny",),
            reference="uefi-ipxe",
            timeout=180.0,
        ),
        Scenario(
            "s390x-file",
            "s390x, full DHCP, boot file = a '# pxelinux' config file",
            "s390x",
            S390X_MAC,
            "s390x-tiny",
            dhcp=FULL_DHCP,
            initrd="initrd-s390x.gz",
            expect_args=("pxetui.entry=s390x-tiny", "BOOTIF=01-52-54-00-e2-e3-90"),
            overrides={"hosts": {S390X_MAC.colon: {"entry": "s390x-tiny", "arch": "s390x"}}},
            reference="s390x-file",
        ),
        Scenario(
            "s390x-dir",
            "s390x, directory form (boot file '/') -> pxelinux.cfg/01-<mac>, external DHCP",
            "s390x",
            S390X_MAC,
            "s390x-tiny",
            dhcp=FULL_DHCP,
            initrd="initrd-s390x.gz",
            expect_args=("pxetui.entry=s390x-tiny", "BOOTIF=01-52-54-00-e2-e3-90"),
            overrides={"hosts": {S390X_MAC.colon: {"entry": "s390x-tiny", "arch": "s390x"}}},
            reference="s390x-dir",
            external_dhcp=True,
        ),
    )
}


SECURE_ENTRY = "secure-tiny"
SECURE_ENTRY_SPEC: dict[str, Any] = {
    "description": "the lab kernel, not quiet: its Secure Boot lines reach the console",
    "arch": "x86",
    "kind": "linux",
    "kernel": "lab/vmlinuz-amd64",
    "initrds": ["lab/initrd-amd64.gz"],
    "args": "console=ttyS0,115200 no_timer_check panic=-1 loglevel=6 pxetui.entry={entry}",
}
SECURE_BOOT_LINES = (
    "EFI stub: UEFI Secure Boot is enabled.",
    "Kernel is locked down from EFI Secure Boot",
)
"""What Debian's kernel prints when the firmware booted it with Secure Boot enforcing."""


def _secure(name: str, title: str, dhcp: DhcpMode, loader: str) -> Scenario:
    return Scenario(
        name,
        title,
        "uefi",
        BIOS_MAC,
        SECURE_ENTRY,
        dhcp=dhcp,
        expect_args=(f"pxetui.entry={SECURE_ENTRY}",),
        overrides={"loader": loader, "entries": {SECURE_ENTRY: SECURE_ENTRY_SPEC}},
        timeout=240.0,
        secure_boot=True,
    )


SECURE_BOOT_SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        _secure(
            "shim-full",
            "UEFI Secure Boot: shim -> signed GRUB -> signed kernel over HTTP, full DHCP",
            FULL_DHCP,
            "shim",
        ),
        _secure(
            "shim-proxy",
            "UEFI Secure Boot: shim behind proxyDHCP (GRUB needs the LAN's next-server = us)",
            "proxy",
            "shim",
        ),
    )
}
"""Secure Boot boots (OVMF with Microsoft's keys): not in :data:`SCENARIOS`, since they need
Debian's signed shim and GRUB fetched into their own cache (:mod:`pxetui.lab.shim`)."""


HTTP_BOOT_SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "http-boot-ipxe",
            "UEFI HTTP boot: OVMF fetches ipxe.efi from pxetui's HTTP, iPXE boots the kernel",
            "uefi",
            BIOS_MAC,
            "tiny",
            dhcp=FULL_DHCP,
            expect_args=("pxetui.entry=tiny",),
            timeout=180.0,
            http_boot=True,
        ),
    )
}
"""UEFI HTTP boot (option 93 = 16): full DHCP only (dnsmasq's proxy answers PXEClient)."""
