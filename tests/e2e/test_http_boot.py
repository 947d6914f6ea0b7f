"""UEFI HTTP boot: OVMF asks DHCP as ``HTTPClient`` (option 93 = 16) and pxetui answers
with a URL on its own HTTP server, from which the firmware fetches the loader.

OVMF's PXE boot options are switched off through fw_cfg so its first network boot option
is HTTPv4 (:class:`pxetui.lab.qemu.VmSpec` ``http_boot``). Full DHCP only: dnsmasq's
proxyDHCP answers ``PXEClient`` alone (README "UEFI HTTP boot").
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pxetui.lab.boot_run import PxetuiBoot, boot_vm, start_pxetui_for
from pxetui.lab.netns import LabNetwork, create_lab_network, remove_stale
from pxetui.lab.scenarios import HTTP_BOOT_SCENARIOS
from pxetui.lab.tree import build_guest_files

pytestmark = pytest.mark.e2e

PREFIX = "pxsb-"


@pytest.fixture
def http_net() -> Iterator[LabNetwork]:
    if os.geteuid() != 0:
        pytest.skip("real-firmware boots need root (namespaces, tap devices)")
    for tool in ("qemu-system-x86_64", "dnsmasq", "ip"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: run `sudo bash .ci/setup`")
    remove_stale(PREFIX)
    build_guest_files("amd64")
    net = create_lab_network(PREFIX, router=False)
    try:
        yield net
    finally:
        net.teardown()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Any]:
    started: list[PxetuiBoot] = []

    def start(name: str, net: LabNetwork) -> PxetuiBoot:
        run = start_pxetui_for(HTTP_BOOT_SCENARIOS[name], net, tmp_path / name)
        started.append(run)
        return run

    yield start
    for run in started:
        run.stop()


async def test_ovmf_http_boot_fetches_ipxe_efi_from_pxetuis_http_and_boots(
    http_net: LabNetwork, engine: Any
) -> None:
    """HTTPClient DISCOVER -> URL boot file -> ipxe.efi over HTTP -> the assigned kernel."""
    run = engine("http-boot-ipxe", http_net)
    result = await boot_vm(run.scenario, http_net, run.workdir)
    context = f"{result.outcome} {result.matched}\n{result.tail(40)}\n{run.server.output()[-3000:]}"
    assert result.outcome == "expected", context
    assert "Start HTTP Boot over IPv4" in result.text, context
    assert "URI: http://10.250.77.1:8080/ipxe.efi" in result.text, context
    finished = [e for e in run.transfers() if e.get("proto") == "http"]
    names = [str(e.get("filename", "")).lstrip("/") for e in finished]
    assert "ipxe.efi" in names, names
    loader = finished[names.index("ipxe.efi")]
    assert loader["bytes_sent"] == Path("/usr/lib/ipxe/ipxe.efi").stat().st_size
    client = run.client()
    assert client is not None, context
    (boot,) = client["boots"]
    assert boot["firmwares"][0] == "EDK2 HTTP", boot["firmwares"]
    assert boot["outcome"] == "handed_over", boot
    assert boot["transfers"][0]["proto"] == "http", boot["transfers"]
    assert {"loader", "config", "kernel", "initrd"} <= set(client.get("phases", {})), client
    codes = {h.get("code") for h in client.get("hints", [])}
    assert not codes & {"no_loader_fetch", "loader_refused", "file_missing"}, client["hints"]
