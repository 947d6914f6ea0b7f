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
from pathlib import Path
from typing import Any

import pytest

from pxetui.lab.boot_run import PxetuiBoot, boot_vm, start_pxetui_for
from pxetui.lab.lan import start_lan_dhcp
from pxetui.lab.netns import LabNetwork, create_lab_network, remove_stale
from pxetui.lab.process import LabProcess
from pxetui.lab.qemu import FAILURES, BootResult
from pxetui.lab.scenarios import (
    SECURE_BOOT_LINES,
    SECURE_BOOT_SCENARIOS,
    SECURE_ENTRY,
)
from pxetui.lab.shim import fetch_signed_chain
from pxetui.lab.tree import build_guest_files

pytestmark = pytest.mark.e2e

PREFIX = "pxsb-"
GRUB_GAVE_UP = "you need to load the kernel first"
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


@pytest.fixture
def sb_net(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LabNetwork]:
    """A namespace of our own; with ``proxy`` in the test's name, a LAN router too."""
    proxy = "proxy" in request.node.name
    net = create_lab_network(PREFIX, router=proxy)
    lan: LabProcess | None = None
    try:
        if proxy:
            lan = start_lan_dhcp(net, tmp_path / "lan")
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


async def test_shim_grub_and_kernel_boot_with_secure_boot_enforcing_in_full_dhcp(
    signed_lab: dict[str, Path], sb_net: LabNetwork, engine: Any
) -> None:
    """shim -> grubx64.efi -> grub.cfg-01-<mac> -> signed kernel: Secure Boot stays on."""
    run = engine("shim-full", sb_net)
    result = await boot_vm(
        run.scenario, sb_net, run.workdir, failures=(*FAILURES, GRUB_GAVE_UP, "Access Denied")
    )
    assert result.outcome == "expected", _context(result, run)
    for line in SECURE_BOOT_LINES:
        assert line in result.text, f"no {line!r}\n{_context(result, run)}"
    assert "NBP filename is shimx64.efi" in result.text
    assert "Fetching Netboot Image grubx64.efi" in result.text
    cmdline = result.line_starting("PXETUI-CMDLINE:") or ""
    assert f"pxetui.entry={SECURE_ENTRY}" in cmdline, _context(result, run)
    tftp = _fetched(run, "tftp")
    for name in ("shimx64.efi", "grubx64.efi", "grub/grub.cfg-01-52-54-00-e2-e0-01"):
        assert name in tftp, f"{name} not sent over TFTP: {tftp}"
    assert "ipxe.efi" not in tftp
    # Debian's signed GRUB may not load http.mod under Secure Boot: the kernel came by TFTP.
    assert "lab/vmlinuz-amd64" in tftp, tftp
    client = run.client()
    assert client is not None
    codes = {h.get("code") for h in client.get("hints", [])}
    assert not codes & {"file_missing", "loader_refused", "loader_silent"}, client["hints"]
    assert {"loader", "config", "kernel", "initrd"} <= set(client.get("phases", {}))


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
