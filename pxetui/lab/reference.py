"""dnsmasq alone, serving the same boots: the reference the lab's timings compare against.

The same topology, firmware and guest, but dnsmasq does everything (DHCP/proxyDHCP and its
own ``--enable-tftp``) from a hand-written tree. dnsmasq has no HTTP server, so its iPXE
scripts fetch kernel and initrd over TFTP: exactly the setup pxetui is meant to improve on.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path
from typing import Literal

from pxetui.core.mac import MacAddress
from pxetui.lab.lan import LAN_RANGE, foreground_dnsmasq_argv
from pxetui.lab.netns import LabNetwork
from pxetui.lab.process import LabProcess

ReferenceKind = Literal["pxelinux", "ipxe", "uefi-ipxe", "s390x-file", "s390x-dir"]

PXELINUX_FILES = {
    "pxelinux.0": Path("/usr/lib/PXELINUX/pxelinux.0"),
    "ldlinux.c32": Path("/usr/lib/syslinux/modules/bios/ldlinux.c32"),
}
IPXE_EFI = Path("/usr/lib/ipxe/ipxe.efi")


@dataclass(frozen=True, slots=True)
class ReferenceBoot:
    """One boot: who, how, with which kernel, initrd and arguments (names in the root)."""

    kind: ReferenceKind
    mac: MacAddress
    kernel: Path
    initrd: Path
    args: str


def build_reference_tree(root: Path, boot: ReferenceBoot, server: IPv4Address) -> None:
    """Write the TFTP tree dnsmasq serves for *boot*: loaders, configs, kernel, initrd."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(boot.kernel, root / "vmlinuz")
    shutil.copyfile(boot.initrd, root / "initrd.gz")
    mac = boot.mac
    if boot.kind == "pxelinux":
        for name, src in PXELINUX_FILES.items():
            shutil.copyfile(src, root / name)
        (root / "pxelinux.cfg").mkdir(exist_ok=True)
        (root / "pxelinux.cfg" / mac.pxelinux).write_text(
            f"DEFAULT ref\nLABEL ref\n  KERNEL vmlinuz\n  INITRD initrd.gz\n  APPEND {boot.args}\n"
        )
    elif boot.kind in ("ipxe", "uefi-ipxe"):
        shutil.copyfile(IPXE_EFI, root / "ipxe.efi")
        (root / "ipxe").mkdir(exist_ok=True)
        (root / "ipxe" / f"{mac.hexhyp}.ipxe").write_text(
            "#!ipxe\n"
            f"kernel tftp://{server}/vmlinuz initrd=initrd.gz {boot.args}\n"
            f"initrd tftp://{server}/initrd.gz\n"
            "boot\n"
        )
    else:
        stanza = (
            "# pxelinux\nDEFAULT ref\nLABEL ref\n  KERNEL vmlinuz\n  INITRD initrd.gz\n"
            f"  APPEND {boot.args} BOOTIF={mac.pxelinux}\n"
        )
        if boot.kind == "s390x-file":
            (root / "s390x").mkdir(exist_ok=True)
            (root / "s390x" / mac.pxelinux).write_text(stanza)
        else:
            (root / "pxelinux.cfg").mkdir(exist_ok=True)
            (root / "pxelinux.cfg" / mac.pxelinux).write_text(stanza)


def reference_dnsmasq_argv(
    boot: ReferenceBoot,
    root: Path,
    workdir: Path,
    interface: str,
    server: IPv4Address,
    own_tftp: bool = True,
) -> list[str]:
    """dnsmasq with its own TFTP: proxy mode for x86 (router present), full for s390x.

    ``own_tftp=False`` leaves TFTP to another server on the same address (the DHCP half
    of the reference, in front of pxetui's file servers).
    """
    argv = foreground_dnsmasq_argv(workdir, "reference", interface)
    if own_tftp:
        argv += ["--enable-tftp", f"--tftp-root={root}"]
    network = IPv4Address(int(server) & 0xFFFFFF00)
    script = f"ipxe/{boot.mac.hexhyp}.ipxe"
    if boot.kind == "pxelinux":
        argv += [
            f"--dhcp-range={network},proxy,255.255.255.0",
            f"--pxe-service=x86PC,pxetui reference,pxelinux,{server}",
        ]
    elif boot.kind in ("ipxe", "uefi-ipxe"):
        argv += [
            f"--dhcp-range={network},proxy,255.255.255.0",
            "--dhcp-userclass=set:ipxe,iPXE",
            f"--pxe-service=tag:ipxe,x86PC,pxetui reference,{script},{server}",
            f"--pxe-service=tag:!ipxe,BC_EFI,pxetui reference,ipxe.efi,{server}",
            f"--pxe-service=tag:!ipxe,X86-64_EFI,pxetui reference,ipxe.efi,{server}",
            f"--pxe-service=tag:ipxe,BC_EFI,pxetui reference,{script},{server}",
            f"--pxe-service=tag:ipxe,X86-64_EFI,pxetui reference,{script},{server}",
        ]
    else:
        boot_file = f"s390x/{boot.mac.pxelinux}" if boot.kind == "s390x-file" else "/"
        argv += [
            f"--dhcp-range={LAN_RANGE[0]},{LAN_RANGE[1]},255.255.255.0,1h",
            f"--dhcp-boot={boot_file}",
            "--no-ping",
        ]
    return argv


def start_reference(
    net: LabNetwork, boot: ReferenceBoot, workdir: Path, own_tftp: bool = True
) -> LabProcess:
    """Build the tree and start dnsmasq (with its TFTP) in *net*'s server namespace."""
    root = workdir / "reference-root"
    build_reference_tree(root, boot, net.server_ip)
    argv = reference_dnsmasq_argv(boot, root, workdir, net.bridge, net.server_ip, own_tftp)
    proc = LabProcess("reference-dnsmasq", argv, net.server_ns, workdir / "reference.log")
    if not proc.wait_for_output("TFTP root is" if own_tftp else "DHCP", 10):
        proc.stop()
        raise RuntimeError(f"reference dnsmasq did not start:\n{proc.output()[-2000:]}")
    return proc
