"""The harness itself boots real firmware: dnsmasq alone serves a BIOS pxelinux boot.

If this passes and a pxetui scenario fails, the fault is pxetui's, not the lab's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pxetui.lab.guest import CMDLINE_PREFIX
from pxetui.lab.netns import LabNetwork
from pxetui.lab.qemu import VmSpec, qemu_argv, run_vm
from pxetui.lab.reference import ReferenceBoot, start_reference
from pxetui.lab.scenarios import BIOS_MAC, X86_ARGS

pytestmark = pytest.mark.e2e


async def test_dnsmasq_alone_boots_bios_pxelinux_to_the_marker(
    proxy_net: LabNetwork, amd64_files: dict[str, Path], tmp_path: Path
) -> None:
    """iPXE ROM -> pxelinux.0 -> 01-<mac> -> kernel + initrd from dnsmasq's own TFTP."""
    boot = ReferenceBoot(
        "pxelinux",
        BIOS_MAC,
        amd64_files["vmlinuz-amd64"],
        amd64_files["initrd-amd64.gz"],
        f"{X86_ARGS} pxetui.reference=1",
    )
    dnsmasq = start_reference(proxy_net, boot, tmp_path)
    try:
        result = await run_vm(
            qemu_argv(VmSpec("bios", BIOS_MAC)),
            proxy_net.server_ns,
            expect=["PXETUI-BOOTED marker=initrd-amd64 "],
            settle="PXETUI-POWEROFF",
            timeout=120,
        )
    finally:
        dnsmasq.stop()
    assert result.outcome == "expected", result.tail()
    cmdline = result.line_starting(CMDLINE_PREFIX)
    assert cmdline is not None and "pxetui.reference=1" in cmdline, result.tail()
    assert "PXELINUX" in result.text
    log = dnsmasq.output()
    assert f"sent {tmp_path}/reference-root/pxelinux.cfg/{BIOS_MAC.pxelinux}" in log
