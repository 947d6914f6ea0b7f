"""UEFI Secure Boot through ``loader: shim``: OVMF with Microsoft's keys enrolled, enforcing.

Debian's signed shim (Microsoft's UEFI CA) -> Debian's signed grubnetx64.efi as
``grubx64.efi`` (Debian's CA, trusted through shim) -> Debian's signed kernel, all handed
out by pxetui; the kernel itself reports Secure Boot on the serial console. The signed
binaries come from Debian packages fetched once into ``/var/cache/pxetui-shim``
(:mod:`pxetui.lab.shim`). The refusal of an unsigned loader (ipxe.efi) under the same
firmware, with its ``loader_refused`` hint, is story 11 of ``test_boot_stories.py``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pxetui.lab.boot_run import PxetuiBoot, boot_vm, start_pxetui_for
from pxetui.lab.dracut import LIVE_MARKER, LiveInitrd, build_live_initrd, build_live_root
from pxetui.lab.lan import start_lan_dhcp
from pxetui.lab.netns import LabNetwork, create_lab_network, remove_stale
from pxetui.lab.process import LabProcess
from pxetui.lab.pxetui_server import PxetuiServer
from pxetui.lab.qemu import FAILURES, BootResult
from pxetui.lab.scenarios import SECURE_BOOT_LINES, SECURE_BOOT_SCENARIOS
from pxetui.lab.shim import fetch_signed_chain
from pxetui.lab.tree import build_guest_files, prepare_lab_dir

pytestmark = pytest.mark.e2e

PREFIX = "pxsb-"
GRUB_GAVE_UP = "you need to load the kernel first"
OWN_SHIM = "own/EFI/BOOT/bootx64.efi"
OWN_GRUB = "own/EFI/BOOT/grubx64.efi"
LIVE_ENTRY = "sb-live"
LIVE_SPEC = {
    "description": "dracut live root through shim (Secure Boot)",
    "arch": "x86",
    "kind": "live",
    "kernel": "live/vmlinuz",
    "initrds": ["live/initrd.img"],
    "image": "live/squashfs.img",
    "args": "console=ttyS0,115200 no_timer_check panic=-1 rd.shell=0 pxetui.entry={entry}",
}
LIVE_TIMEOUT = 240.0
"""TCG on two shared cores: firmware, shim, GRUB's TFTP of a 50 MB initrd, dracut."""
GRUB_WELCOME = "Welcome to GRUB!"
GRUB_LOOKS_S = 20.0
"""How long GRUB is watched after it starts (it reads its config within ~2 s when it can)."""


@pytest.fixture(scope="module")
def signed_lab() -> dict[str, Path]:
    """Guest files and Debian's signed shim chain, fetched into their caches once."""
    if os.geteuid() != 0:
        pytest.skip("real-firmware boots need root (namespaces, tap devices)")
    for tool in ("qemu-system-x86_64", "dnsmasq", "ip"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: run `sudo bash .ci/setup`")
    remove_stale(PREFIX)
    return {**build_guest_files("amd64"), **fetch_signed_chain()}


@pytest.fixture(scope="module")
def live_initrd(signed_lab: dict[str, Path]) -> LiveInitrd:
    """The LIVE area's real dracut 059 initrd for Debian's (signed) kernel, cached."""
    for tool in ("mksquashfs",):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: run `sudo bash .ci/setup-dev`")
    return build_live_initrd()


@pytest.fixture
def sb_net(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LabNetwork]:
    """A namespace of our own; with ``proxy`` in the test's name, a LAN router too."""
    proxy = "proxy" in request.node.name
    net = create_lab_network(PREFIX, router=proxy)
    lan: LabProcess | None = None
    # "next_server" in the name: the LAN's DHCP server names pxetui as next-server.
    ours = "10.250.77.1" if "next_server" in request.node.name else None
    try:
        if proxy:
            lan = start_lan_dhcp(net, tmp_path / "lan", next_server=ours)
        yield net
    finally:
        if lan is not None:
            lan.stop()
        net.teardown()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Any]:
    started: list[PxetuiBoot] = []

    def start(name: str, net: LabNetwork) -> PxetuiBoot:
        scenario = SECURE_BOOT_SCENARIOS[name]
        run = start_pxetui_for(scenario, net, tmp_path / name)
        started.append(run)
        return run

    yield start
    for run in started:
        run.stop()


def _context(result: BootResult, run: PxetuiBoot) -> str:
    return (
        f"{result.outcome} {result.matched!r} after {result.seconds}\n--- serial\n"
        f"{result.tail(60)}\n--- engine\n{run.server.output()[-3000:]}"
    )


def _fetched(run: PxetuiBoot, proto: str) -> list[str]:
    return [
        str(e.get("filename", "")).lstrip("/") for e in run.transfers() if e.get("proto") == proto
    ]


async def test_shim_grub_signed_kernel_and_dracut_reach_the_live_root_under_secure_boot(
    signed_lab: dict[str, Path], live_initrd: LiveInitrd, sb_net: LabNetwork, tmp_path: Path
) -> None:
    """shim -> grubx64.efi -> grub.cfg-01-<mac> -> signed kernel + dracut over GRUB's TFTP
    -> livenet fetches the squashfs over our HTTP -> the live root's init; Secure Boot on."""
    workdir = tmp_path / "shim-live"
    root = workdir / "tftp" / "live"
    root.mkdir(parents=True)
    for src, name in ((live_initrd.kernel, "vmlinuz"), (live_initrd.initrd, "initrd.img")):
        os.link(src, root / name)
    build_live_root("squashfs-tree", root / "squashfs.img")
    scenario = replace(
        SECURE_BOOT_SCENARIOS["shim-full"],
        entry=LIVE_ENTRY,
        overrides={"loader": "shim", "entries": {LIVE_ENTRY: LIVE_SPEC}},
        timeout=LIVE_TIMEOUT,
    )
    run = start_pxetui_for(scenario, sb_net, workdir)
    try:
        result = await boot_vm(
            scenario,
            sb_net,
            workdir,
            expect=[f"{LIVE_MARKER} layout=squashfs-tree"],
            failures=(*FAILURES, GRUB_GAVE_UP, "Access Denied", "dracut: FATAL", "bad shim"),
        )
        context = _context(result, run)
        assert result.outcome == "expected", context
        for line in SECURE_BOOT_LINES:
            assert line in result.text, f"no {line!r}\n{context}"
        assert "NBP filename is shimx64.efi" in result.text, context
        assert "Fetching Netboot Image grubx64.efi" in result.text, context
        assert "root=live:http://10.250.77.1:8080/live/squashfs.img" in result.text, context
        tftp = _fetched(run, "tftp")
        for name in ("shimx64.efi", "grubx64.efi", "grub/grub.cfg-01-52-54-00-e2-e0-01"):
            assert name in tftp, f"{name} not sent over TFTP: {tftp}"
        assert "ipxe.efi" not in tftp
        # Debian's signed GRUB may not load http.mod under Secure Boot: kernel and initrd
        # came by TFTP; dracut's livenet took the image over HTTP.
        assert {"live/vmlinuz", "live/initrd.img"} <= set(tftp), tftp
        assert "live/squashfs.img" in _fetched(run, "http")
        initrd = next(
            e for e in run.transfers() if str(e.get("filename", "")).endswith("initrd.img")
        )
        print(
            f"\nshim live boot: live root after {result.seconds:.1f} s; GRUB TFTP moved the "
            f"{initrd['bytes_sent'] / 1e6:.0f} MB initrd in {initrd['seconds']:.1f} s"
        )
        client = run.client()
        assert client is not None
        codes = {h.get("code") for h in client.get("hints", [])}
        assert not codes & {"file_missing", "loader_refused", "loader_silent"}, client["hints"]
        boot = client["boots"][-1]
        assert boot["outcome"] == "handed_over", boot
    finally:
        run.stop()


async def test_shim_behind_proxy_dhcp_loads_grub_which_then_finds_no_config(
    signed_lab: dict[str, Path], sb_net: LabNetwork, engine: Any
) -> None:
    """Behind proxyDHCP OVMF takes shim from pxetui and shim fetches grubx64.efi from us,
    but GRUB 2.06 asks the DHCPACK's server (the LAN router) for its config: the prompt."""
    run = engine("shim-proxy", sb_net)
    result = await boot_vm(
        run.scenario,
        sb_net,
        run.workdir,
        expect=[GRUB_WELCOME],
        failures=(*FAILURES, "Access Denied"),
        linger=GRUB_LOOKS_S,
    )
    assert result.outcome == "expected", _context(result, run)
    assert "Server IP address is 10.250.77.1" in result.text
    assert "Fetching Netboot Image grubx64.efi" in result.text
    tftp = _fetched(run, "tftp")
    assert "shimx64.efi" in tftp and "grubx64.efi" in tftp, tftp
    assert "PXETUI-BOOTED" not in result.text
    assert not [n for n in tftp if n.startswith("grub/")], (
        f"GRUB found pxetui behind proxyDHCP after all: {tftp}"
    )


async def test_own_shim_behind_proxy_dhcp_boots_when_the_lans_next_server_is_pxetui(
    signed_lab: dict[str, Path], sb_net: LabNetwork, tmp_path: Path
) -> None:
    """The same proxyDHCP LAN, its DHCP server naming pxetui as next-server (siaddr, no boot
    file), and the operator's own shim in a directory (``shim.file``, grubx64.efi beside it,
    as on an ISO): shim finds GRUB through the BOOTP file field, GRUB reads its config from
    pxetui and the signed kernel boots, Secure Boot on."""
    scenario = SECURE_BOOT_SCENARIOS["shim-proxy"]
    scenario = replace(scenario, overrides={**scenario.overrides, "shim": {"file": OWN_SHIM}})
    workdir = tmp_path / "own-shim"
    profile = prepare_lab_dir(workdir, ("amd64",), scenario.profile_overrides())
    root = workdir / "tftp"
    (root / OWN_SHIM).parent.mkdir(parents=True)
    os.replace(root / "shimx64.efi", root / OWN_SHIM)  # nothing of shim's left at the root
    os.replace(root / "grubx64.efi", root / OWN_GRUB)
    run = PxetuiBoot(scenario, PxetuiServer(sb_net, profile, workdir), workdir)
    try:
        run.server.start()
        run.server.assign(scenario.mac, scenario.entry)
        result = await boot_vm(
            scenario, sb_net, workdir, failures=(*FAILURES, GRUB_GAVE_UP, "Access Denied")
        )
        assert result.outcome == "expected", _context(result, run)
        for line in SECURE_BOOT_LINES:
            assert line in result.text, f"no {line!r}\n{_context(result, run)}"
        assert f"NBP filename is {OWN_SHIM}" in result.text, _context(result, run)
        tftp = _fetched(run, "tftp")
        for name in (OWN_SHIM, OWN_GRUB, "grub/grub.cfg-01-52-54-00-e2-e0-01"):
            assert name in tftp, f"{name} not sent over TFTP: {tftp}"
        assert "ipxe.efi" not in tftp
        client = run.client()
        assert client is not None
        assert not {h.get("code") for h in client.get("hints", [])} & {"file_missing"}
    finally:
        run.stop()
