"""``loader: shim``: what dnsmasq hands out, what is installed, what the tracker calls normal."""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from pxetui.core.events import DhcpEvent
from pxetui.core.mac import MacAddress
from pxetui.core.profile.model import Profile
from pxetui.core.tracker import ClientTracker
from pxetui.engine.bootfiles import install_loaders
from pxetui.engine.dnsmasq.config import dnsmasq_config
from tests.unit.test_tracker import boot_of, edk2_dhcp, fetch, miss

SERVER = IPv4Address("10.252.9.1")
SHIM_HOST = "52:54:00:00:00:07"
FULL = {"mode": "full", "range": ["10.252.9.100", "10.252.9.150"]}


def _args(dhcp: dict[str, Any], **extra: Any) -> list[str]:
    profile = Profile.model_validate(
        {"network": {"dhcp": dhcp}, "entries": {"e": {"kind": "local"}}, **extra}
    )
    return dnsmasq_config(
        profile, server=SERVER, interface="br0", state_dir=Path("/x"), tftp_port=69
    ).args


def test_full_mode_hands_shim_to_x64_uefi_in_the_bootp_file_field_and_never_ipxe_efi() -> None:
    """Arch 7/9 get shimx64.efi (iPXE or not); the name stays in the BOOTP file field."""
    args = _args(FULL, loader="shim")
    boots = [a.removeprefix("--dhcp-boot=") for a in args if a.startswith("--dhcp-boot=")]
    assert "tag:efi64,shimx64.efi,,10.252.9.1" in boots
    assert not [b for b in boots if "efi64" in b and "ipxe" in b], boots
    assert "--dhcp-no-override" in args
    assert "tag:bios,tag:!ipxe,undionly.kpxe,,10.252.9.1" in boots  # BIOS: iPXE as before


def test_a_shim_host_gets_its_tag_and_the_operators_own_shim_file() -> None:
    """Per host, with the operator's shim from an ISO (grubx64.efi beside it)."""
    args = _args(
        FULL,
        hosts={SHIM_HOST: {"entry": "e", "loader": "shim"}},
        shim={"file": "azl/efi/boot/bootx64.efi"},
    )
    assert f"--dhcp-host={SHIM_HOST},set:ld-shim" in args
    assert "--dhcp-boot=tag:efi64,tag:ld-shim,azl/efi/boot/bootx64.efi,,10.252.9.1" in args
    assert "--dhcp-boot=tag:efi64,tag:!ld-shim,tag:!ipxe,ipxe.efi,,10.252.9.1" in args
    assert "--dhcp-no-override" not in _args(FULL)


def test_proxy_mode_offers_shim_for_both_x64_uefi_types() -> None:
    """Behind proxyDHCP OVMF and shim work (GRUB then needs full DHCP: README)."""
    args = _args({"mode": "proxy", "subnet": "10.252.9.0/24"}, loader="shim")
    services = [a for a in args if a.startswith("--pxe-service=")]
    assert "--pxe-service=BC_EFI,pxetui,shimx64.efi,10.252.9.1" in services
    assert "--pxe-service=X86-64_EFI,pxetui,shimx64.efi,10.252.9.1" in services
    assert not [s for s in services if "EFI" in s and "ipxe" in s], services


@pytest.mark.parametrize("bad", ["../shim.efi", "http://x/shim.efi", "shimx64", "/a/../b.efi"])
def test_a_shim_file_outside_the_root_or_not_efi_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError, match=r"under the TFTP root ending in \.efi"):
        Profile.model_validate({"shim": {"file": bad}})


def test_install_loaders_keeps_an_operators_own_grubx64_and_updates_its_own(
    tmp_path: Path,
) -> None:
    """A file pxetui did not copy is kept (and said so); one it copied is replaced."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "grubnet.efi").write_bytes(b"MZ debian grub v1")
    root = tmp_path / "tftp"
    root.mkdir()
    (root / "grubx64.efi").write_bytes(b"MZ the operator's own GRUB")
    (root / "shimx64.efi").write_bytes(b"MZ old")
    table = (
        ("grubx64.efi", (str(pkg / "grubnet.efi"),), "grub-efi-amd64-signed"),
        ("shimx64.efi", (str(pkg / "grubnet.efi"),), "shim-signed"),
    )
    report = install_loaders(root, (), table)
    assert report[0].startswith("kept grubx64.efi: not pxetui's copy"), report
    assert (root / "grubx64.efi").read_bytes() == b"MZ the operator's own GRUB"
    (root / "shimx64.efi").unlink()
    assert install_loaders(root, (), table)[1] == "copied shimx64.efi"
    (pkg / "grubnet.efi").write_bytes(b"MZ debian grub v2")  # the package was upgraded
    assert install_loaders(root, (), table)[1] == "copied shimx64.efi"
    assert (root / "shimx64.efi").read_bytes() == b"MZ debian grub v2"
    absent = (("mmx64.efi", (str(pkg / "nope"),), "shim-signed"),)
    assert install_loaders(root, (), absent) == ["not installed mmx64.efi (install shim-signed)"]


def test_shims_revocation_and_certificate_probes_are_normal_misses() -> None:
    """shim asks for revocations_*.efi and shim_certificate_0.efi beside itself and misses."""
    tracker = ClientTracker()
    edk2_dhcp(tracker, 10.0)
    fetch(tracker, "shimx64.efi", 11.0)
    for name in ("revocations_sku.efi", "revocations_sbat.efi", "shim_certificate_0.efi"):
        miss(tracker, name, 11.5)
    fetch(tracker, "grubx64.efi", 12.0)
    boot = boot_of(tracker, MacAddress.parse("52:54:00:e2:e0:01"))
    assert boot.last_error is None
    assert "file_missing" not in boot.hints
    assert boot.phase == "loader"


def test_an_operators_own_shim_chain_is_never_advised_ipxe() -> None:
    """bootx64.efi (an ISO's shim) then grubx64.efi: a shim chain; big TFTP files keep TFTP."""
    tracker = ClientTracker()
    edk2_dhcp(tracker, 10.0)
    fetch(tracker, "azl/efi/boot/bootx64.efi", 11.0)
    fetch(tracker, "azl/efi/boot/grubx64.efi", 12.0)
    fetch(tracker, "grub/grub.cfg", 13.0)
    fetch(tracker, "boot/initrd.img", 14.0, size=60_000_000)
    hint = boot_of(tracker, MacAddress.parse("52:54:00:e2:e0:01")).hints["big_over_tftp"]
    assert not any("loader: ipxe" in cause for cause in hint.causes), hint.causes
    assert any("shim" in cause for cause in hint.causes), hint.causes


def test_grub_from_an_operators_shim_directory_asking_dhcp_is_the_same_boot() -> None:
    """GRUB loaded from own/EFI/BOOT/ configures its network: no new boot starts."""
    tracker = ClientTracker()
    edk2_dhcp(tracker, 10.0)
    fetch(tracker, "own/EFI/BOOT/bootx64.efi", 11.0)
    fetch(tracker, "own/EFI/BOOT/grubx64.efi", 12.0)
    mac = MacAddress.parse("52:54:00:e2:e0:01")
    grub = {"mac": mac, "vendor_class": "GRUBClient", "firmware": "GRUB", "arch": 7}
    tracker.apply(DhcpEvent(ts=13.0, msg_type="DHCPDISCOVER", **grub))  # type: ignore[arg-type]
    state = tracker.get(mac)
    assert state is not None and len(state.boots) == 1
