"""The explainer predicts the request order real firmware showed, and names the winner."""

from __future__ import annotations

import re
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from render_profiles import profile

from pxetui.core.explain import LookupStep, arch_name, explain, hex_ip_names
from pxetui.core.mac import MacAddress

DATA = Path(__file__).parent.parent / "data" / "explain"
BIOS_MAC = MacAddress.parse("52:54:00:e2:e0:01")
S390_MAC = MacAddress.parse("52:54:00:e2:e3:90")


def _captured(log: str) -> list[str]:
    """Config files the real firmware asked for, in order (tftpy's "Opening file" lines)."""
    names = re.findall(r"Opening file /srv/lab/[^/]+/(\S+) for reading", (DATA / log).read_text())
    return [n for n in dict.fromkeys(names) if "cfg" in n]


def _paths(steps: list[LookupStep], loader: str) -> list[str]:
    return [s.path for s in steps if s.loader == loader]


def test_pxelinux_order_matches_a_real_bios_boot() -> None:
    """pxelinux asked 01-<mac>, the hex IP shortened one digit at a time, then default."""
    steps = explain(BIOS_MAC, ip="10.250.77.129", arch="bios")
    assert _paths(steps, "pxelinux") == _captured("bios-pxelinux-proxy-default.tftpy.log")


def test_s390_directory_order_matches_a_real_s390_boot() -> None:
    """s390-ccw asked the UUID first, then 01-<mac>, hex IP, default."""
    steps = explain(
        S390_MAC, ip="10.250.77.107", uuid="e2e00000-0000-4000-8000-00000000e390", arch="31"
    )
    assert _paths(steps, "s390-ccw dir") == _captured("s390x-dir-default.tftpy.log")
    assert {s.loader for s in steps} == {"s390-ccw file", "s390-ccw dir"}


def test_grub_order_matches_a_real_uefi_boot() -> None:
    """Debian's GRUB fetched grub/grub.cfg, and our dispatcher then grub.cfg-01-<mac>."""
    steps = explain(BIOS_MAC, arch="uefi-x64")
    captured = _captured("uefi-grub-full.tftpy.log")
    assert _paths(steps, "grub")[:2] == captured
    assert {s.loader for s in steps} == {"shim", "grub", "ipxe"}


def test_shim_order_matches_a_real_secure_boot() -> None:
    """shim, its three probes, grubx64.efi beside it, then GRUB's configs: as OVMF asked."""
    steps = explain(BIOS_MAC, arch="uefi-x64")
    lines = (DATA / "uefi-shim-full.requests").read_text().splitlines()
    asked = [n for n in lines if n and not n.startswith("#") and not n.startswith("lab/")]
    without_modules = [n for n in asked if "x86_64-efi/" not in n]
    assert _paths(steps, "shim")[:-1] == without_modules
    assert [s.wins for s in steps if s.loader == "shim"][:5] == [False] * 5


def test_first_existing_candidate_wins(tmp_path: Path) -> None:
    """The winner is the first file in order that exists; entry points never 'win'."""
    (tmp_path / "pxelinux.cfg").mkdir()
    (tmp_path / "pxelinux.cfg" / "default").write_text("x")
    (tmp_path / "pxelinux.cfg" / "0AFA4D").write_text("x")
    (tmp_path / "boot.ipxe").write_text("x")
    steps = explain(BIOS_MAC, ip="10.250.77.129", arch="0", tftp_root=tmp_path)
    winners = [(s.loader, s.path) for s in steps if s.wins]
    assert winners == [("pxelinux", "pxelinux.cfg/0AFA4D")]
    boot = next(s for s in steps if s.path == "boot.ipxe")
    assert boot.exists is True and boot.wins is False


def test_profile_supplies_uuid_arch_root_and_other_nics(tmp_path: Path) -> None:
    """A listed host's UUID/arch are used; a secondary NIC finds its machine's iPXE script."""
    hosts = (
        "  52:54:00:00:00:01: {entry: local, arch: bios, "
        "uuid: 12345678-1234-4234-8234-123456789abc, macs: ['52:54:00:00:00:02']}\n"
    )
    lab = profile("  x: {kind: local}\n", hosts)
    primary = MacAddress.parse("52:54:00:00:00:01")
    (tmp_path / "ipxe").mkdir()
    (tmp_path / "ipxe" / "52-54-00-00-00-01.ipxe").write_text("#!ipxe\n")
    steps = explain(primary, profile=lab, tftp_root=tmp_path)
    assert _paths(steps, "pxelinux")[0] == "pxelinux.cfg/12345678-1234-4234-8234-123456789abc"
    assert {s.loader for s in steps} == {"pxelinux", "ipxe"}
    secondary = explain(MacAddress.parse("52:54:00:00:00:02"), profile=lab, tftp_root=tmp_path)
    winner = next(s for s in secondary if s.wins and s.loader == "ipxe")
    assert winner.path == "ipxe/52-54-00-00-00-01.ipxe"
    assert "other NIC" in winner.note


def test_without_a_root_nothing_is_claimed() -> None:
    """No TFTP root: existence is unknown (None) and no step wins."""
    steps = explain(BIOS_MAC)
    assert steps and all(s.exists is None and not s.wins for s in steps)
    assert {s.loader for s in steps} == {
        "pxelinux",
        "grub",
        "shim",
        "s390-ccw file",
        "s390-ccw dir",
        "ipxe",
    }


@pytest.mark.parametrize(
    ("given", "name"), [("7", "uefi-x64"), ("9", "uefi-x64"), (0, "bios"), ("S390X", "s390x")]
)
def test_arch_accepts_names_and_option_93(given: str | int, name: str) -> None:
    """Option 93 numbers map to arch names (9 is x64 in practice)."""
    assert arch_name(given) == name


def test_hex_ip_shortens_to_one_digit() -> None:
    """pxelinux's hex IP names run from 8 digits down to 1."""
    assert hex_ip_names(IPv4Address("10.250.77.129")) == [
        "0AFA4D81",
        "0AFA4D8",
        "0AFA4D",
        "0AFA4",
        "0AFA",
        "0AF",
        "0A",
        "0",
    ]
