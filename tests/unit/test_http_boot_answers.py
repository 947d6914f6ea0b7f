"""UEFI HTTP boot (option 93 = 16, ``HTTPClient``): what dnsmasq answers, what the tracker says."""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from pxetui.core.events import DhcpEvent, TransferFinished, TransferStarted
from pxetui.core.mac import MacAddress
from pxetui.core.profile.model import Profile
from pxetui.core.tracker import ClientTracker
from pxetui.engine.dnsmasq.config import dnsmasq_config

SERVER = IPv4Address("10.252.9.1")
MAC = MacAddress.parse("52:54:00:e2:e0:01")
IP = "10.252.9.129"
FULL = {"mode": "full", "range": ["10.252.9.100", "10.252.9.150"]}


def _args(dhcp: dict[str, Any], **extra: Any) -> list[str]:
    profile = Profile.model_validate(
        {"network": {"dhcp": dhcp}, "entries": {"e": {"kind": "local"}}, **extra}
    )
    return dnsmasq_config(
        profile, server=SERVER, interface="br0", state_dir=Path("/x"), tftp_port=69
    ).args


def test_full_mode_answers_http_boot_with_a_url_on_our_http_and_httpclient() -> None:
    """The loader as a URL of our HTTP server, option 60 echoed (EDK2 ignores it otherwise)."""
    args = _args(FULL)
    assert "--dhcp-match=set:efi64http,option:client-arch,16" in args
    assert "--dhcp-option-force=tag:efi64http,option:vendor-class,HTTPClient" in args
    assert "--dhcp-boot=tag:efi64http,http://10.252.9.1:8080/ipxe.efi" in args


def test_each_loader_gets_its_own_url_and_shim_never_ipxe() -> None:
    hosts = {"52:54:00:00:00:07": {"entry": "e", "loader": "grub"}}
    args = _args(FULL, loader="shim", hosts=hosts, http={"port": 81})
    assert "--dhcp-boot=tag:efi64http,tag:!ld-grub,http://10.252.9.1:81/shimx64.efi" in args
    assert "--dhcp-boot=tag:efi64http,tag:ld-grub,http://10.252.9.1:81/grub/grubnetx64.efi" in (
        args
    )
    assert not [a for a in args if "efi64http" in a and "ipxe.efi" in a]


def test_no_http_boot_behind_proxy_or_with_an_https_base() -> None:
    """dnsmasq's proxy answers PXEClient only; https needs CAs enrolled in the firmware."""
    proxy = _args({"mode": "proxy", "subnet": "10.252.9.0/24"})
    assert not [a for a in proxy if "HTTPClient" in a or "http://" in a]
    https = _args(FULL, http={"base_url": "https://boot.example.org"})
    assert not [a for a in https if a.startswith("--dhcp-boot=tag:efi64http")]


def _http_boot_dhcp(tracker: ClientTracker, ts: float) -> None:
    edk2 = {"mac": MAC, "arch": 16, "firmware": "EDK2 HTTP"}
    edk2["vendor_class"] = "HTTPClient:Arch:00016:UNDI:003001"
    for dt, kind in enumerate(("DHCPDISCOVER", "DHCPOFFER", "DHCPREQUEST", "DHCPACK")):
        ip = None if kind == "DHCPDISCOVER" else IP
        tracker.apply(DhcpEvent(ts=ts + dt / 10, msg_type=kind, ip=ip, **edk2))  # type: ignore[arg-type]


def test_an_http_boot_loader_fetched_over_http_is_the_loader_phase() -> None:
    tracker = ClientTracker()
    _http_boot_dhcp(tracker, 10.0)
    common = {"transfer_id": "h1", "proto": "http", "client_ip": IP, "filename": "/ipxe.efi"}
    tracker.apply(TransferStarted(ts=11.0, size=850_528, **common))
    tracker.apply(TransferFinished(ts=11.5, bytes_sent=850_528, seconds=0.5, **common))
    state = tracker.get(MAC)
    assert state is not None and state.boot is not None
    assert state.boot.phase == "loader" and state.boot.firmwares == ["EDK2 HTTP"]
    assert state.boot.arch_code == 16


def test_an_http_boot_client_that_fetches_nothing_is_told_about_http_not_tftp() -> None:
    tracker = ClientTracker()
    _http_boot_dhcp(tracker, 10.0)
    tracker.tick(25.0)
    state = tracker.get(MAC)
    assert state is not None and state.boot is not None
    hint = state.boot.hints["no_loader_fetch"]
    assert "no HTTP request since" in hint.evidence
    assert "HTTP port" in hint.causes[0] and not any("udp/69" in c for c in hint.causes)
