"""dnsmasq arguments rendered from profiles: proxy, full, s390x, per-host loaders, warnings."""

from __future__ import annotations

import shutil
import subprocess
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

import pytest

from pxetui.core.profile.model import Profile
from pxetui.engine.dnsmasq.config import (
    DnsmasqConfig,
    DnsmasqConfigError,
    dnsmasq_args,
    dnsmasq_config,
)

SERVER = IPv4Address("10.252.9.1")
STATE = Path("/var/lib/pxetui-test")
S390 = "52:54:00:e2:e3:90"
PXL = "52:54:00:00:00:02"
GRUB = "52:54:00:00:00:03"


def profile(dhcp: dict[str, Any], hosts: dict[str, Any] | None = None, **extra: Any) -> Profile:
    return Profile.model_validate(
        {
            "network": {"dhcp": dhcp},
            "entries": {"e": {"kind": "local"}},
            "hosts": hosts or {},
            **extra,
        }
    )


def render(p: Profile, tftp_port: int = 69, **kw: Any) -> DnsmasqConfig:
    return dnsmasq_config(
        p, server=SERVER, interface="br0", state_dir=STATE, tftp_port=tftp_port, **kw
    )


def pxe_services(args: list[str]) -> list[str]:
    return [a.removeprefix("--pxe-service=") for a in args if a.startswith("--pxe-service=")]


def boots(args: list[str]) -> list[str]:
    return [a.removeprefix("--dhcp-boot=") for a in args if a.startswith("--dhcp-boot=")]


def test_every_config_has_the_fixed_child_options_and_never_tftp() -> None:
    """Foreground, no config file, no DNS, DHCP log to stderr, bound to the interface, our files."""
    for mode in ("proxy", "full"):
        dhcp: dict[str, Any] = {"mode": mode, "range": ["10.252.9.100", "10.252.9.150"]}
        args = render(profile(dhcp)).args
        for fixed in (
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--port=0",
            "--log-dhcp",
            "--log-facility=-",
            "--interface=br0",
            "--bind-interfaces",
            f"--pid-file={STATE}/dnsmasq.pid",
            f"--dhcp-leasefile={STATE}/dnsmasq.leases",
        ):
            assert fixed in args, (mode, fixed)
        assert not any(a.startswith(("--enable-tftp", "--tftp-root")) for a in args)


def test_proxy_mode_offers_bios_and_both_x64_uefi_types_with_ipxe_loop_break() -> None:
    """x86PC, BC_EFI and X86-64_EFI each get the loader (tag:!ipxe) and boot.ipxe (tag:ipxe)."""
    args = render(profile({"mode": "proxy", "subnet": "10.252.9.0/24"})).args
    assert "--dhcp-range=10.252.9.0,proxy,255.255.255.0" in args
    assert "--dhcp-userclass=set:ipxe,iPXE" in args
    assert pxe_services(args) == [
        "tag:!ipxe,x86PC,pxetui,undionly.kpxe,10.252.9.1",
        "tag:ipxe,x86PC,pxetui,boot.ipxe,10.252.9.1",
        "tag:!ipxe,BC_EFI,pxetui,ipxe.efi,10.252.9.1",
        "tag:ipxe,BC_EFI,pxetui,boot.ipxe,10.252.9.1",
        "tag:!ipxe,X86-64_EFI,pxetui,ipxe.efi,10.252.9.1",
        "tag:ipxe,X86-64_EFI,pxetui,boot.ipxe,10.252.9.1",
    ]
    assert "--dhcp-match=set:efi64,option:client-arch,7" in args
    assert "--dhcp-match=set:efi64,option:client-arch,9" in args
    assert not any(a.startswith("--dhcp-boot") for a in args)


def test_proxy_without_subnet_lets_dnsmasq_take_the_interface_netmask() -> None:
    """No subnet in the profile or from the interface: the range is our address, proxy."""
    assert "--dhcp-range=10.252.9.1,proxy" in render(profile({"mode": "proxy"})).args
    derived = render(profile({"mode": "proxy"}), network=IPv4Network("10.252.9.0/25")).args
    assert "--dhcp-range=10.252.9.0,proxy,255.255.255.128" in derived


def test_pxelinux_profile_gives_bios_pxelinux_even_from_an_ipxe_rom() -> None:
    """pxelinux.0 is one line for x86PC (no loop-break needed); UEFI still gets iPXE."""
    services = pxe_services(render(profile({"mode": "proxy"}, loader="pxelinux")).args)
    assert services[0] == "x86PC,pxetui,pxelinux.0,10.252.9.1"
    assert "tag:!ipxe,BC_EFI,pxetui,ipxe.efi,10.252.9.1" in services


def render_loader(loader: str) -> DnsmasqConfig:
    return render(profile({"mode": "proxy"}, loader=loader))


def test_host_with_other_loader_is_tagged_and_services_stay_exclusive() -> None:
    """A pxelinux host among iPXE clients: its own tag, and default lines exclude that tag."""
    p = profile({"mode": "proxy"}, {PXL: {"entry": "e", "loader": "pxelinux"}})
    args = render(p).args
    assert f"--dhcp-host={PXL},set:ld-pxelinux" in args
    bios = [s for s in pxe_services(args) if ",x86PC," in s]
    assert bios == [
        "tag:!ld-pxelinux,tag:!ipxe,x86PC,pxetui,undionly.kpxe,10.252.9.1",
        "tag:!ld-pxelinux,tag:ipxe,x86PC,pxetui,boot.ipxe,10.252.9.1",
        "tag:ld-pxelinux,x86PC,pxetui,pxelinux.0,10.252.9.1",
    ]


def test_grub_in_proxy_mode_is_explained_and_replaced_by_ipxe() -> None:
    """GRUB 2.06 ignores proxyDHCP: the host gets ipxe.efi and the operator is told why."""
    p = profile({"mode": "proxy"}, {GRUB: {"entry": "e", "loader": "grub", "arch": "uefi-x64"}})
    cfg = render(p)
    assert not any("grub" in a for a in cfg.args)
    assert "tag:!ipxe,BC_EFI,pxetui,ipxe.efi,10.252.9.1" in pxe_services(cfg.args)
    assert any("GRUB ignores proxyDHCP" in w for w in cfg.warnings)


def test_full_mode_has_range_per_arch_boot_files_no_ping_and_no_proxy_wait() -> None:
    """Full DHCP: range with lease, efi64 tags from 7 and 9, dhcp-boot lines naming us."""
    dhcp = {
        "mode": "full",
        "subnet": "10.252.9.0/24",
        "range": ["10.252.9.100", "10.252.9.150"],
        "lease": "30m",
        "router": "10.252.9.254",
        "dns": ["10.252.9.53"],
    }
    args = render(profile(dhcp)).args
    assert "--dhcp-range=10.252.9.100,10.252.9.150,255.255.255.0,30m" in args
    for needed in (
        "--no-ping",
        "--dhcp-option=encap:175,176,1b",
        "--dhcp-option=option:router,10.252.9.254",
        "--dhcp-option=option:dns-server,10.252.9.53",
        "--dhcp-match=set:efi64,option:client-arch,7",
        "--dhcp-match=set:efi64,option:client-arch,9",
        "--dhcp-match=set:s390x,option:client-arch,31",
    ):
        assert needed in args
    assert boots(args) == [
        "tag:s390x,tag:!s390x-host,s390x/default,,10.252.9.1",
        "tag:efi64http,http://10.252.9.1:8080/ipxe.efi",  # UEFI HTTP boot: a URL
        "tag:bios,tag:!ipxe,undionly.kpxe,,10.252.9.1",
        "tag:bios,tag:ipxe,boot.ipxe,,10.252.9.1",
        "tag:efi64,tag:!ipxe,ipxe.efi,,10.252.9.1",
        "tag:efi64,tag:ipxe,boot.ipxe,,10.252.9.1",
    ]
    assert not pxe_services(args)


def test_full_mode_grub_host_gets_grub_efi() -> None:
    """In full mode GRUB works: a grub host's UEFI boot file is the signed grubnetx64.efi."""
    dhcp = {"mode": "full", "range": ["10.252.9.100", "10.252.9.150"]}
    args = render(profile(dhcp, {GRUB: {"entry": "e", "loader": "grub"}})).args
    assert "tag:efi64,tag:ld-grub,grub/grubnetx64.efi,,10.252.9.1" in boots(args)


def test_full_mode_gives_each_host_its_name() -> None:
    """Leases carry the profile's hostname; a name dnsmasq would read as a lease time is not."""
    dhcp = {"mode": "full", "range": ["10.252.9.100", "10.252.9.150"]}
    hosts = {
        PXL: {"entry": "e", "loader": "pxelinux", "hostname": "rack1-node2"},
        GRUB: {"entry": "e", "hostname": "45m"},
        "52:54:00:00:00:05": {"entry": "e"},
    }
    cfg = render(profile(dhcp, hosts))
    host_lines = [a for a in cfg.args if a.startswith("--dhcp-host=")]
    assert host_lines == [f"--dhcp-host={PXL},set:ld-pxelinux,rack1-node2"]
    (warning,) = cfg.warnings
    assert GRUB in warning and "'45m'" in warning
    proxy = render(profile({"mode": "proxy"}, {PXL: {"entry": "e", "hostname": "rack1-node2"}}))
    assert not any(a.startswith("--dhcp-host=") for a in proxy.args)  # we lease nothing


def test_full_mode_without_range_is_refused() -> None:
    """A full-mode profile without a range cannot work: say so, do not guess."""
    with pytest.raises(DnsmasqConfigError, match="range"):
        render(profile({"mode": "full"}))


@pytest.mark.parametrize("lease", ["1h,static", "soon", "", "1h 2m"])
def test_lease_time_that_is_not_one_is_refused(lease: str) -> None:
    """The lease is pasted into --dhcp-range: only a real lease time may get there."""
    dhcp = {"mode": "full", "range": ["10.252.9.100", "10.252.9.150"], "lease": lease}
    with pytest.raises(DnsmasqConfigError, match="lease"):
        render(profile(dhcp))


def test_mode_off_and_bad_interface_are_refused() -> None:
    """Mode off runs no dnsmasq; an interface name is never passed through unchecked."""
    with pytest.raises(DnsmasqConfigError, match="off"):
        render(profile({"mode": "off"}))
    with pytest.raises(DnsmasqConfigError, match="interface"):
        dnsmasq_args(profile({}), server=SERVER, interface="br0,x", state_dir=STATE, tftp_port=69)


def test_s390x_host_in_full_mode_gets_its_per_mac_file() -> None:
    """s390x: tagged host entry (fixed address when given), boot file s390x/01-<mac>."""
    dhcp = {
        "mode": "full",
        "range": ["10.252.9.100", "10.252.9.150"],
        "s390x_addresses": {S390: "10.252.9.90"},
    }
    cfg = render(profile(dhcp, {S390: {"entry": "e", "arch": "s390x"}}))
    assert f"--dhcp-host={S390},set:s390x,set:s390x-host,set:h-525400e2e390,10.252.9.90" in (
        cfg.args
    )
    assert "tag:h-525400e2e390,s390x/01-52-54-00-e2-e3-90,,10.252.9.1" in boots(cfg.args)
    assert cfg.warnings == []


def test_s390x_host_in_proxy_mode_without_address_is_explained() -> None:
    """Behind a proxy, an s390x host without a fixed address cannot boot: a warning says why."""
    cfg = render(profile({"mode": "proxy"}, {S390: {"entry": "e", "arch": "s390x"}}))
    assert not any(S390 in a for a in cfg.args)
    assert not any(",static" in a for a in cfg.args)
    (warning,) = cfg.warnings
    assert S390 in warning and "s390x_addresses" in warning and "proxy" in warning


def test_s390x_host_in_proxy_mode_with_address_gets_a_static_range_beside_the_proxy() -> None:
    """With a fixed address: a static range next to the proxy one, no router claimed by us."""
    dhcp = {"mode": "proxy", "subnet": "10.252.9.0/24", "s390x_addresses": {S390: "10.252.9.90"}}
    cfg = render(profile(dhcp, {S390: {"entry": "e", "arch": "s390x"}}))
    ranges = [a for a in cfg.args if a.startswith("--dhcp-range=")]
    # Static first: with the proxy range first dnsmasq never leases to the s390x firmware.
    assert ranges == [
        "--dhcp-range=10.252.9.0,static,255.255.255.0,1h",
        "--dhcp-range=10.252.9.0,proxy,255.255.255.0",
    ]
    assert "--dhcp-option=tag:s390x-host,option:router" in cfg.args
    assert f"--dhcp-host={S390},set:s390x,set:s390x-host,set:h-525400e2e390,10.252.9.90" in (
        cfg.args
    )
    assert any("first" in w for w in cfg.warnings)


def test_hosts_we_cannot_serve_or_serve_differently_are_explained() -> None:
    """ARM64/IA32 UEFI get nothing; a pxelinux host on x64 UEFI gets iPXE."""
    hosts = {
        PXL: {"entry": "e", "loader": "pxelinux", "arch": "uefi-x64"},
        GRUB: {"entry": "e", "arch": "uefi-arm64"},
        "52:54:00:00:00:06": {"entry": "e", "arch": "uefi-ia32"},
    }
    warnings = render(profile({"mode": "proxy"}, hosts)).warnings
    assert len(warnings) == 3
    assert any(PXL in w and "BIOS-only" in w for w in warnings)
    assert any(GRUB in w and "uefi-arm64" in w and "no boot file" in w for w in warnings)
    assert any("uefi-ia32" in w for w in warnings)


def test_non_69_tftp_port_is_warned_about() -> None:
    """Firmware cannot be told a TFTP port: another port only works for test clients."""
    cfg = render(profile({"mode": "proxy"}), tftp_port=6969)
    assert any("6969" in w and "69" in w for w in cfg.warnings)
    assert render(profile({"mode": "proxy"})).warnings == []


PROFILES: list[dict[str, Any]] = [
    {"mode": "proxy"},
    {"mode": "proxy", "subnet": "10.252.9.0/24", "s390x_addresses": {S390: "10.252.9.90"}},
    {"mode": "full", "range": ["10.252.9.100", "10.252.9.150"], "dns": ["1.1.1.1", "9.9.9.9"]},
    {"mode": "full", "subnet": "10.252.9.0/24", "range": ["10.252.9.10", "10.252.9.20"]},
]


@pytest.mark.skipif(shutil.which("dnsmasq") is None, reason="dnsmasq not installed")
@pytest.mark.parametrize("dhcp", PROFILES)
@pytest.mark.parametrize("loader", ["ipxe", "pxelinux", "grub"])
def test_dnsmasq_accepts_every_rendered_config(dhcp: dict[str, Any], loader: str) -> None:
    """The real ``dnsmasq --test`` parses every configuration we can render."""
    hosts = {
        S390: {"entry": "e", "arch": "s390x"},
        PXL: {
            "entry": "e",
            "loader": "pxelinux",
            "macs": ["52:54:00:00:01:02"],
            "hostname": "rack1-node2",
        },
        GRUB: {"entry": "e", "loader": "grub", "hostname": "gpu-7"},
    }
    cfg = render(profile(dhcp, hosts, loader=loader))
    result = subprocess.run(
        ["dnsmasq", "--test", *cfg.args], capture_output=True, text=True, timeout=20
    )
    assert result.returncode == 0, result.stderr
    assert "syntax check OK" in result.stderr
