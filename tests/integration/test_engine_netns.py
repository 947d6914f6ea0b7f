"""The whole engine in network namespaces: real dnsmasq (full and proxy), real clients.

Clients are scapy-built PXE DHCP exchanges (arch 0, 7, 9, 0x1F, with and without option 97)
and busybox udhcpc with a PXE vendor class, followed by real TFTP and HTTP fetches (curl);
each client's tracked state is asserted through the control API. Fault tests: SIGHUP with a
broken profile, SIGKILL of the engine (assignments recovered, no dnsmasq left behind).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from netns_engine import REPO, EngineLab, new_lab

from pxetui.engine.control.client import ControlClient
from tests.helpers.wait import wait_for

pytestmark = [
    pytest.mark.netns,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for network namespaces"),
    pytest.mark.skipif(shutil.which("dnsmasq") is None, reason="needs dnsmasq"),
]

UUID = "8b9e1e2a40e64c4e9d4b6c3a1f0e2d7c"
CLIENTS = [  # mac, arch, extra scapy args, expected arch label, firmware
    ("52:54:00:fe:00:00", 0, ["--undi", "002001", "--uuid", UUID], "BIOS", "PXE ROM"),
    ("52:54:00:fe:00:07", 7, [], "UEFI x64", "EDK2"),
    ("52:54:00:fe:00:09", 9, ["--uuid", UUID], "UEFI x64", "EDK2"),
    ("52:54:00:fe:00:1f", 31, ["--no-vendor"], "s390 basic", "s390-ccw"),
]


def profile_yaml(lab: EngineLab, mode: str, broken: bool = False) -> str:
    dhcp = (
        f"    range: [{lab.addr(100)}, {lab.addr(150)}]\n"
        if mode == "full"
        else f"    subnet: 10.254.{lab.octet}.0/24\n"
        # s390x firmware ignores proxyDHCP: `check` (and so the engine) wants its lease here
        f'    s390x_addresses: {{"52:54:00:fe:00:1f": {lab.addr(60)}}}\n'
    )
    kind = "linucks" if broken else "linux"
    return (
        f"name: ns{mode}\n"
        "network:\n"
        f"  interface: {lab.bridge}\n"
        "  dhcp:\n"
        f"    mode: {mode}\n{dhcp}"
        f"tftp:\n  root: {lab.tmp}/tftp\n"
        "http:\n  port: 8080\n"
        f"state_dir: {lab.tmp}/state\n"
        "entries:\n"
        "  centos:\n"
        f"    kind: {kind}\n"
        "    kernel: images/vmlinuz\n"
        "    initrds: [images/initrd.img]\n"
        "    args: console=ttyS0\n"
        "hosts:\n"
        '  "52:54:00:fe:00:1f": {entry: centos, arch: s390x}\n'
    )


def write_tree(lab: EngineLab) -> None:
    images = lab.tmp / "tftp" / "images"
    images.mkdir(parents=True)
    for name, size in (("vmlinuz", 400_000), ("initrd.img", 250_000)):
        (images / name).write_bytes(os.urandom(size))
        (images / name).chmod(0o644)


def control(lab: EngineLab, op: str, **args: Any) -> Any:
    async def ask() -> Any:
        async with ControlClient(lab.socket) as client:
            return await client.request(op, **args)

    return asyncio.run(ask())


def client_row(lab: EngineLab, mac: str) -> dict[str, Any] | None:
    state = control(lab, "state")
    return next((c for c in state["clients"] if c["mac"] == mac), None)


def wait_row(lab: EngineLab, mac: str, check: Any, what: str) -> dict[str, Any]:
    found: dict[str, Any] = {}

    def ok() -> bool:
        row = client_row(lab, mac)
        if row is not None and check(row):
            found.update(row)
            return True
        return False

    wait_for(ok, 15, f"{mac}: {what}", lambda: f"{client_row(lab, mac)}\n{lab.tail()}")
    return found


@pytest.fixture(scope="module")
def full_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineLab]:
    lab = new_lab(tmp_path_factory.mktemp("pxe-full"), router=False)
    try:
        write_tree(lab)
        (lab.tmp / "lab.yaml").write_text(profile_yaml(lab, "full"))
        lab.start_engine(lab.tmp / "lab.yaml")
        yield lab
    finally:
        lab.teardown()


def test_full_dhcp_clients_of_every_arch_are_tracked_through_their_loader(
    full_lab: EngineLab,
) -> None:
    """arch 0/7/9/0x1F, with and without option 97: leased, loader fetched, state tracked."""
    lab = full_lab
    for mac, arch, extra, label, firmware in CLIENTS:
        reply = lab.scapy(mac, "--arch", str(arch), *extra)
        assert reply.get("ack", "").startswith(f"10.254.{lab.octet}."), reply
        assert reply["bootfile"], reply
        ip = reply["ack"]
        lab.client("ip", "addr", "add", f"{ip}/24", "dev", "c0")
        got = lab.fetch(f"tftp://{lab.server_ip}/{reply['bootfile'].lstrip('/')}", source=ip)
        assert got > 0, reply
        row = wait_row(
            lab,
            mac,
            # The server reports the finish after the client has its bytes (events reach
            # the bus in batches): wait for it rather than race it.
            lambda r, ip=ip: (
                r["ip"] == ip
                and r["phase"] in ("loader", "config")
                and bool(r["transfers"])
                and r["transfers"][-1]["state"] == "done"
            ),
            "loader or config fetched from its leased address, transfer finished",
        )
        assert (row["arch"], row["firmware"]) == (label, firmware), row
        assert {"discovered", "offered"} <= row["phases"].keys()
        assert row["transfers"][-1]["state"] == "done"
        assert row["transfers"][-1]["filename"].lstrip("/") == reply["bootfile"].lstrip("/")
    s390 = client_row(lab, "52:54:00:fe:00:1f")
    assert s390 is not None and s390["entry"] == "centos"


def test_udhcpc_with_a_pxe_vendor_class_is_leased_and_tracked(full_lab: EngineLab) -> None:
    """busybox udhcpc (vendor class PXEClient, option 93) gets a lease; its fetch is tracked."""
    lab = full_lab
    script = lab.tmp / "udhcpc.sh"
    lease = lab.tmp / "lease"
    script.write_text(
        '#!/bin/sh\ncase "$1" in bound|renew) ip addr add "$ip/${mask:-24}" dev "$interface";'
        f' echo "$ip" > {lease} ;; esac\n'
    )
    script.chmod(0o755)
    argv = ["udhcpc", "-i", "c0", "-n", "-q", "-f", "-t", "5", "-T", "2"]
    argv += ["-V", "PXEClient:Arch:00000:UNDI:002001", "-x", "0x5d:0000", "-s", str(script)]
    lab.client(*argv, timeout=40)
    leased = lease.read_text().strip()
    assert leased.startswith(f"10.254.{lab.octet}.1"), leased
    mac = lab.client("cat", "/sys/class/net/c0/address").strip()
    row = wait_row(lab, mac, lambda r: r["ip"] == leased, "lease seen")
    assert (row["arch"], row["firmware"]) == ("BIOS", "PXE ROM")
    assert lab.fetch(f"tftp://{lab.server_ip}/undionly.kpxe", source=leased) > 0
    row = wait_row(
        lab,
        mac,
        lambda r: r["phase"] == "loader" and r["transfers"][-1]["state"] == "done",
        "loader fetched and its transfer finished",
    )
    assert row["transfers"][-1]["filename"] == "undionly.kpxe"


def test_once_flips_to_local_after_kernel_and_initrd_were_delivered(full_lab: EngineLab) -> None:
    """iPXE script over TFTP, kernel and initrd over HTTP: then the MAC boots local."""
    lab = full_lab
    mac, hexhyp = "52:54:00:fe:00:00", "52-54-00-fe-00-00"
    row = client_row(lab, mac)
    assert row is not None and row["ip"]
    ip = row["ip"]
    control(lab, "assign", mac=mac, entry="centos", once=True)
    script = lab.tmp / "tftp" / "ipxe" / f"{hexhyp}.ipxe"
    assert "images/vmlinuz" in script.read_text()
    assert lab.fetch(f"tftp://{lab.server_ip}/ipxe/{hexhyp}.ipxe", source=ip) > 0
    assert lab.fetch(f"http://{lab.server_ip}:8080/images/vmlinuz", source=ip) == 400_000
    assert control(lab, "state")["assignments"][mac]["once"] is True  # initrd still missing
    assert lab.fetch(f"http://{lab.server_ip}:8080/images/initrd.img", source=ip) == 250_000
    wait_for(
        lambda: control(lab, "state")["assignments"][mac]["entry"] == "local",
        15,
        "one-shot flipped to local",
        lab.tail,
    )
    assert "images/vmlinuz" not in script.read_text()
    assert any(
        e.get("kind") == "assignment" and e.get("reason") == "once" and e.get("mac") == mac
        for e in lab.events()
    )
    row = wait_row(lab, mac, lambda r: r["phase"] == "handed_over", "handed over")
    assert row["entry"] == "local" and not row["once"]


def test_sighup_with_a_broken_profile_keeps_the_old_one_serving(full_lab: EngineLab) -> None:
    """The error is reported in the log; entries, files and DHCP keep working."""
    lab = full_lab
    assert lab.engine is not None
    profile = lab.tmp / "lab.yaml"
    good = profile.read_text()
    profile.write_text(profile_yaml(lab, "full", broken=True))
    try:
        lab.engine.send_signal(signal.SIGHUP)
        wait_for(
            lambda: any(
                e.get("kind") == "message" and e.get("level") == "error" for e in lab.events()
            ),
            10,
            "profile error reported",
            lab.tail,
        )
        error = next(
            e for e in lab.events() if e.get("kind") == "message" and e["level"] == "error"
        )
        assert "lab.yaml" in error["text"] and "still serving" in error["text"]
        state = control(lab, "state")
        assert state["entries"]["centos"]["kind"] == "linux"
        assert state["services"]["dhcp"]["state"] == "running"
        assert lab.fetch(f"http://{lab.server_ip}:8080/images/initrd.img") == 250_000
    finally:
        profile.write_text(good)
    lab.engine.send_signal(signal.SIGHUP)
    wait_for(
        lambda: any("profile reloaded" in str(e.get("text")) for e in lab.events()),
        10,
        "good profile reloaded",
        lab.tail,
    )


def test_a_second_engine_on_the_same_interface_is_refused(full_lab: EngineLab) -> None:
    """Another state dir, same interface: the second engine exits naming the first."""
    lab = full_lab
    other = lab.tmp / "second"
    other.mkdir(exist_ok=True)
    profile = other / "lab.yaml"
    profile.write_text(
        profile_yaml(lab, "full")
        .replace(f"{lab.tmp}/state", f"{other}/state")
        .replace("port: 8080", "port: 8081")
        .replace("tftp:\n", "tftp:\n  port: 6969\n")
    )
    argv = lab.in_ns(
        lab.server_ns,
        sys.executable,
        "-m",
        "pxetui",
        "serve",
        "--profile",
        str(profile),
        "--socket",
        str(other / "control.sock"),
    )
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=REPO, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "another pxetui engine already serves" in proc.stderr, proc.stderr
    assert control(lab, "state")["services"]["dhcp"]["state"] == "running"  # first one fine


def _running(pid: int) -> bool:
    """Alive and not a zombie (a container's init may be slow to reap)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _our_dnsmasqs(lab: EngineLab) -> list[int]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(proc.info.get("cmdline") or [])
        if proc.info.get("name") == "dnsmasq" and str(lab.tmp / "state") in cmdline:
            found.append(proc.pid)
    return found


def test_sigkill_then_restart_recovers_assignments_and_leaves_one_dnsmasq(
    full_lab: EngineLab,
) -> None:
    """kill -9 the engine: the next start has every assignment and a single new dnsmasq."""
    lab = full_lab
    control(lab, "assign", mac="52:54:00:fe:00:07", entry="centos")
    before = control(lab, "state")
    old_dnsmasq = before["services"]["dhcp"]["pid"]
    assert old_dnsmasq in _our_dnsmasqs(lab)
    assert lab.stop_engine(signal.SIGKILL) == -signal.SIGKILL
    lab.start_engine(lab.tmp / "lab.yaml")
    after = control(lab, "state")
    assert after["assignments"] == before["assignments"]
    assert after["assignments"]["52:54:00:fe:00:00"]["entry"] == "local"  # the done one-shot
    assert after["assignments"]["52:54:00:fe:00:07"]["source"] == "operator"
    rows = {c["mac"]: c for c in after["clients"]}  # the client table, rebuilt from history
    assert rows["52:54:00:fe:00:00"]["phase"] == "handed_over"
    assert rows["52:54:00:fe:00:1f"]["arch"] == "s390 basic"
    new_dnsmasq = after["services"]["dhcp"]["pid"]
    assert new_dnsmasq != old_dnsmasq and not _running(old_dnsmasq)
    assert _our_dnsmasqs(lab) == [new_dnsmasq]
    assert lab.scapy("52:54:00:fe:00:07", "--arch", "7").get("ack")
    sock_mode = stat.S_IMODE(lab.socket.stat().st_mode)
    assert sock_mode == 0o600


@pytest.fixture(scope="module")
def proxy_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineLab]:
    lab = new_lab(tmp_path_factory.mktemp("pxe-proxy"), router=True)
    try:
        write_tree(lab)
        lab.start_lan_dhcp()
        (lab.tmp / "lab.yaml").write_text(profile_yaml(lab, "proxy"))
        lab.start_engine(lab.tmp / "lab.yaml")
        yield lab
    finally:
        lab.teardown()


def test_proxy_dhcp_client_leases_from_the_lan_and_its_tftp_fetch_is_its_own(
    proxy_lab: EngineLab,
) -> None:
    """PXE-style client (c0's own MAC): LAN lease + our proxy offer; its TFTP fetch is its."""
    lab = proxy_lab
    mac = lab.client("cat", "/sys/class/net/c0/address").strip()
    reply = lab.scapy(mac, "--arch", "0", "--undi", "002001", "--collect")
    assert reply["proxy_offer"] and reply["servers"] == [lab.addr(1), lab.addr(2)], reply
    leased = reply["ack"]
    assert leased.startswith(f"10.254.{lab.octet}.1"), reply
    row = wait_row(lab, mac, lambda r: "offered" in r["phases"], "proxy offer seen")
    assert (row["arch"], row["firmware"]) == ("BIOS", "PXE ROM") and row["ip"] is None
    lab.client("ip", "addr", "add", f"{leased}/24", "dev", "c0")
    assert lab.fetch(f"tftp://{lab.server_ip}/undionly.kpxe") > 0
    row = wait_row(lab, mac, lambda r: r["phase"] == "loader", "loader fetched")
    assert row["ip"] == leased  # behind proxyDHCP: learnt from the fetch, not from DHCP
    assert row["transfers"][-1]["filename"].lstrip("/") == "undionly.kpxe"


def test_proxy_dhcp_answers_a_uefi_discover_without_uuid(proxy_lab: EngineLab) -> None:
    """A scapy arch-7 DISCOVER without option 97 shows up as an offered UEFI x64 client."""
    lab = proxy_lab
    mac = "52:54:00:fe:01:07"
    lab.scapy(mac, "--arch", "7", "--discover-only")
    row = wait_row(lab, mac, lambda r: "offered" in r["phases"], "proxy offer seen")
    assert (row["arch"], row["firmware"]) == ("UEFI x64", "EDK2")
    assert row["phase"] == "offered"


def test_adhoc_serve_with_full_dhcp_leases_and_serves_the_root(tmp_path: Path) -> None:
    """`pxetui serve --root DIR --dhcp full --interface IF --range A,B` runs the engine."""
    lab = new_lab(tmp_path, router=False)
    try:
        write_tree(lab)
        argv = [
            "serve",
            "--root",
            str(lab.tmp / "tftp"),
            "--dhcp",
            "full",
            "--interface",
            lab.bridge,
            "--range",
            f"{lab.addr(100)},{lab.addr(110)}",
            "--http-port",
            "8080",
            "--state-dir",
            str(lab.tmp / "state"),
        ]
        lab.start_engine_argv(argv)
        reply = lab.scapy("52:54:00:fe:02:00", "--arch", "0", "--undi", "002001")
        assert reply.get("ack", "").startswith(f"10.254.{lab.octet}.1"), reply
        assert reply["bootfile"] == "undionly.kpxe"
        lab.client("ip", "addr", "add", f"{reply['ack']}/24", "dev", "c0")
        assert lab.fetch(f"http://{lab.server_ip}:8080/images/initrd.img", reply["ack"]) == 250_000
        state = control(lab, "state")
        assert state["profile"]["dhcp_mode"] == "full" and state["unknown"] == "local"
        row = client_row(lab, "52:54:00:fe:02:00")
        assert row is not None and row["ip"] == reply["ack"]
        assert lab.stop_engine() == 0  # SIGTERM: clean exit
        assert not _our_dnsmasqs(lab)
    finally:
        lab.teardown()
