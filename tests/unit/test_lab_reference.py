"""The dnsmasq-alone reference answers UEFI firmware exactly as pxetui's dnsmasq does.

bench/boot_timings.py compares pxetui with this reference; the UEFI comparison is only fair
while both send the same proxyDHCP answers (the wire showed identical DHCP/proxyDHCP
exchanges, port 4011 included, in both: README "The UEFI network phase: what the wire
shows"). Only the files behind the boot file names differ (HTTP vs TFTP).
"""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

from pxetui.core.mac import MacAddress
from pxetui.core.profile.model import Profile
from pxetui.engine.dnsmasq.config import dnsmasq_args
from pxetui.lab.reference import ReferenceBoot, reference_dnsmasq_argv

SERVER = IPv4Address("10.250.77.1")
MAC = MacAddress.parse("52:54:00:e2:e0:01")
EFI = ("BC_EFI", "X86-64_EFI")


def services(args: list[str]) -> dict[tuple[str, str], tuple[str, str]]:
    """{(tags, client system type): (boot file, server)} of the ``--pxe-service`` options."""
    out = {}
    for arg in args:
        if arg.startswith("--pxe-service="):
            *tags, csa, _text, filename, server = arg.removeprefix("--pxe-service=").split(",")
            out[(",".join(tags), csa)] = (filename, server)
    return out


def pxetui_args() -> list[str]:
    profile = Profile.model_validate(
        {"network": {"dhcp": {"mode": "proxy"}}, "entries": {"e": {"kind": "local"}}}
    )
    return dnsmasq_args(profile, server=SERVER, interface="br0", state_dir=Path("/x"), tftp_port=69)


def reference_args() -> list[str]:
    boot = ReferenceBoot("uefi-ipxe", MAC, Path("/k"), Path("/i"), "quiet")
    return reference_dnsmasq_argv(boot, Path("/root"), Path("/w"), "br0", SERVER)


def test_uefi_firmware_gets_ipxe_efi_from_us_through_the_same_services() -> None:
    ours, ref = services(pxetui_args()), services(reference_args())
    for csa in EFI:
        assert ours[("tag:!ipxe", csa)] == ref[("tag:!ipxe", csa)] == ("ipxe.efi", str(SERVER))
        # iPXE then gets a script from us in both (boot.ipxe here, the per-MAC script there)
        assert ours[("tag:ipxe", csa)][1] == ref[("tag:ipxe", csa)][1] == str(SERVER)
    # Exactly one service per (iPXE or not, system type): no PXE menu or prompt in either.
    for args in (pxetui_args(), reference_args()):
        assert not any(a.startswith(("--pxe-prompt", "--dhcp-boot")) for a in args)
        assert all(n == 1 for n in _per_client(args).values())


def test_both_are_proxydhcp_with_the_same_loop_break_and_no_dns() -> None:
    for args in (pxetui_args(), reference_args()):
        assert "--dhcp-userclass=set:ipxe,iPXE" in args
        assert any(a.startswith("--dhcp-range=") and ",proxy" in a for a in args)
        assert "--port=0" in args
        assert "--bind-interfaces" in args


def _per_client(args: list[str]) -> dict[tuple[bool, str], int]:
    counts: dict[tuple[bool, str], int] = {}
    for tags, csa in services(args):
        key = ("tag:ipxe" in tags.split(","), csa)
        counts[key] = counts.get(key, 0) + 1
    return counts
