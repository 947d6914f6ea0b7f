"""Real firmware boots through pxetui: BIOS iPXE ROM, OVMF/EDK2 and s390-ccw under QEMU.

Each test starts ``pxetui serve --profile`` (the lab profile, adjusted per scenario) in a
throwaway namespace, assigns the VM's MAC with ``pxetui assign``, boots QEMU (TCG) and checks
what the guest's own init printed (marker + /proc/cmdline) and what the engine's tracker
recorded (``pxetui status --json``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pxetui.lab.boot_run import PxetuiBoot, boot_vm, start_pxetui_for
from pxetui.lab.guest import CMDLINE_PREFIX, SQUASHFS_PREFIX
from pxetui.lab.netns import LabNetwork
from pxetui.lab.qemu import BootResult
from pxetui.lab.scenarios import SCENARIOS, UNKNOWN_MAC, Scenario
from pxetui.lab.tree import SQUASHFS_MARKER

pytestmark = pytest.mark.e2e


@pytest.fixture
def engine_factory(tmp_path: Path) -> Iterator[Any]:
    """Start pxetui for a scenario; every engine started is stopped, also on failure."""
    started: list[PxetuiBoot] = []

    def start(scenario: Scenario, net: LabNetwork, **kw: Any) -> PxetuiBoot:
        run = start_pxetui_for(scenario, net, tmp_path / scenario.name, **kw)
        started.append(run)
        return run

    yield start
    for run in started:
        run.stop()


def _cmdline(result: BootResult) -> str:
    line = result.line_starting(CMDLINE_PREFIX)
    assert line is not None, f"the guest printed no command line:\n{result.tail()}"
    return line.removeprefix(CMDLINE_PREFIX)


def _assert_booted(result: BootResult, run: PxetuiBoot) -> str:
    """The marker appeared; return the guest's kernel command line."""
    assert result.outcome == "expected", (
        f"{run.scenario.name}: {result.outcome} {result.matched}\n--- serial\n{result.tail()}"
        f"\n--- engine\n{run.server.output()[-2500:]}"
    )
    cmdline = _cmdline(result)
    for piece in run.scenario.expect_args:
        assert piece in cmdline, f"{piece!r} missing from the guest's cmdline: {cmdline}"
    return cmdline


def _assert_phases(run: PxetuiBoot, wanted: set[str]) -> None:
    """The latest boot reached every phase in *wanted*; if not, show every boot's evidence."""
    client = run.client()
    assert client is not None, f"the tracker has no client {run.scenario.mac}"
    phases = client.get("phases", {})
    assert isinstance(phases, dict)
    if not wanted <= set(phases):
        boots = "\n".join(
            f"#{b.get('n')} {b.get('outcome')} ({b.get('end_evidence')})"
            f" {b.get('phases')} dhcp={b.get('dhcp')}"
            for b in client.get("boots", [])
        )
        events = "\n".join(str(e) for e in run.server.events()[-40:])
        raise AssertionError(
            f"latest boot lacks {sorted(wanted - set(phases))}: {phases}\n--- boots\n{boots}"
            f"\n--- last events\n{events}"
        )


def _finished(run: PxetuiBoot, filename: str, proto: str) -> dict[str, Any]:
    for event in run.transfers():
        if event.get("filename", "").lstrip("/") == filename and event.get("proto") == proto:
            return event
    names = [(e.get("proto"), e.get("filename")) for e in run.transfers()]
    raise AssertionError(f"no finished {proto} transfer of {filename}; saw {names}")


async def test_bios_pxelinux_boots_per_mac_config_over_tftp_behind_proxy_dhcp(
    proxy_net: LabNetwork, amd64_files: dict[str, Path], engine_factory: Any
) -> None:
    """iPXE ROM -> pxelinux.0 -> pxelinux.cfg/01-<mac> -> kernel + initrd, all TFTP."""
    scenario = SCENARIOS["bios-pxelinux"]
    run = engine_factory(scenario, proxy_net)
    result = await boot_vm(scenario, proxy_net, run.workdir)
    _assert_booted(result, run)
    assert "PXELINUX" in result.text
    _finished(run, f"pxelinux.cfg/{scenario.mac.pxelinux}", "tftp")
    _finished(run, "lab/vmlinuz-amd64", "tftp")
    _assert_phases(run, {"loader", "config", "kernel", "initrd"})


async def test_ipxe_script_loads_kernel_and_40mb_initrd_over_http(
    proxy_net: LabNetwork, amd64_files: dict[str, Path], engine_factory: Any
) -> None:
    """The ROM gets the per-MAC iPXE script; kernel and the 40 MB initrd come over HTTP."""
    scenario = SCENARIOS["ipxe-http-40m"]
    run = engine_factory(scenario, proxy_net)
    result = await boot_vm(scenario, proxy_net, run.workdir)
    _assert_booted(result, run)
    big = _finished(run, "lab/initrd-amd64-40m.gz", "http")
    assert big["bytes_sent"] == amd64_files["initrd-amd64-40m.gz"].stat().st_size
    _finished(run, "lab/vmlinuz-amd64", "http")
    _assert_phases(run, {"config", "kernel", "initrd"})


async def test_serial_centos_entry_hands_console_and_inst_args_to_the_kernel(
    proxy_net: LabNetwork, amd64_files: dict[str, Path], engine_factory: Any
) -> None:
    """console=ttyS0,115200, inst.repo= and inst.text reach /proc/cmdline."""
    scenario = SCENARIOS["centos-serial"]
    run = engine_factory(scenario, proxy_net)
    result = await boot_vm(scenario, proxy_net, run.workdir)
    cmdline = _assert_booted(result, run)
    assert "inst.repo=http://mirror.example.invalid/centos/8-stream/BaseOS/x86_64/os" in cmdline


async def test_diskless_initrd_fetches_and_mounts_squashfs_from_pxetui_http(
    proxy_net: LabNetwork, amd64_files: dict[str, Path], engine_factory: Any
) -> None:
    """root=live:<our URL>: the initrd downloads the squashfs over HTTP and mounts it."""
    scenario = SCENARIOS["diskless"]
    run = engine_factory(scenario, proxy_net)
    result = await boot_vm(scenario, proxy_net, run.workdir)
    _assert_booted(result, run)
    mounted = result.line_starting(f"{SQUASHFS_PREFIX} mounted")
    assert mounted is not None and SQUASHFS_MARKER in mounted, result.tail()
    image = _finished(run, "lab/root.squashfs", "http")
    assert image["bytes_sent"] == amd64_files["root.squashfs"].stat().st_size


async def test_uefi_edk2_pxe_chains_ipxe_efi_behind_proxy_dhcp(
    proxy_net: LabNetwork, amd64_files: dict[str, Path], engine_factory: Any
) -> None:
    """OVMF's own PXE (no iPXE ROM) gets ipxe.efi from the proxy, then the kernel."""
    scenario = SCENARIOS["uefi-ipxe"]
    run = engine_factory(scenario, proxy_net)
    result = await boot_vm(scenario, proxy_net, run.workdir)
    _assert_booted(result, run)
    assert "Start PXE over IPv4" in result.text
    _finished(run, "ipxe.efi", "tftp")
    _assert_phases(run, {"loader", "kernel", "initrd"})


async def test_s390x_boots_pxelinux_file_form_with_full_dhcp(
    isolated_net: LabNetwork, s390x_files: dict[str, Path], engine_factory: Any
) -> None:
    """s390-ccw firmware: full DHCP, boot file s390x/01-<mac> starting '# pxelinux'."""
    scenario = SCENARIOS["s390x-file"]
    run = engine_factory(scenario, isolated_net)
    result = await boot_vm(scenario, isolated_net, run.workdir)
    _assert_booted(result, run)
    assert f"s390x/{scenario.mac.pxelinux}" in result.text
    _finished(run, f"s390x/{scenario.mac.pxelinux}", "tftp")
    _assert_phases(run, {"config", "kernel", "initrd"})


async def test_s390x_boots_pxelinux_cfg_directory_form(
    isolated_net: LabNetwork, s390x_files: dict[str, Path], engine_factory: Any
) -> None:
    """Boot file '/': the firmware searches pxelinux.cfg/ and finds pxetui's 01-<mac>.

    pxetui runs with dhcp off here (its own dnsmasq always names the file form); a plain
    DHCP server hands out the address and the directory boot file, as a site's might.
    """
    scenario = SCENARIOS["s390x-dir"]
    run = engine_factory(scenario, isolated_net)
    result = await boot_vm(scenario, isolated_net, run.workdir)
    _assert_booted(result, run)
    _finished(run, f"pxelinux.cfg/{scenario.mac.pxelinux}", "tftp")


async def test_once_assignment_boots_then_the_same_vm_goes_local(
    proxy_net: LabNetwork, amd64_files: dict[str, Path], engine_factory: Any
) -> None:
    """assign --once: first boot runs the entry, the second gets iPXE `exit` (local boot)."""
    scenario = SCENARIOS["centos-serial"]
    run = engine_factory(scenario, proxy_net, once=True)
    first = await boot_vm(scenario, proxy_net, run.workdir)
    _assert_booted(first, run)
    assert run.server.status()["assignments"][scenario.mac.colon]["entry"] == "local"
    once_done = [
        e
        for e in run.server.events()
        if e.get("kind") == "assignment" and e.get("reason") == "once"
    ]
    assert once_done and once_done[-1]["entry"] == "local"
    second = await boot_vm(
        scenario, proxy_net, run.workdir, expect=["No bootable device"], failures=("PXETUI-",)
    )
    assert second.outcome == "expected", f"second boot did not go local:\n{second.tail()}"
    assert second.line_starting("PXETUI-BOOTED") is None


async def test_once_on_s390x_serves_an_empty_config_the_second_time(
    isolated_net: LabNetwork, s390x_files: dict[str, Path], engine_factory: Any
) -> None:
    """s390-ccw has no LOCALBOOT: after the once-boot it gets an empty '# pxelinux' file."""
    scenario = SCENARIOS["s390x-file"]
    run = engine_factory(scenario, isolated_net, once=True)
    first = await boot_vm(scenario, isolated_net, run.workdir)
    _assert_booted(first, run)
    second = await boot_vm(
        scenario,
        isolated_net,
        run.workdir,
        expect=["Failed to load OS from network", "No bootable"],
        failures=("PXETUI-",),
    )
    assert second.outcome == "expected", f"second boot did not go local:\n{second.tail()}"
    config = run.workdir / "tftp" / "s390x" / scenario.mac.pxelinux
    assert config.read_text().strip() == "# pxelinux"


async def test_unknown_mac_gets_the_default_menu_and_its_default_item(
    proxy_net: LabNetwork, amd64_files: dict[str, Path], engine_factory: Any
) -> None:
    """A MAC nobody assigned sees the profile's menu; its default (tiny) boots."""
    scenario = SCENARIOS["bios-pxelinux"]
    known = Scenario(**{**_fields(scenario), "overrides": {}})
    run = engine_factory(known, proxy_net, assign=False)
    result = await boot_vm(known, proxy_net, run.workdir, mac=UNKNOWN_MAC)
    assert result.outcome == "expected", f"{result.outcome}\n{result.tail()}"
    assert "pxetui lab menu" in result.text
    assert "pxetui.entry=tiny" in _cmdline(result)


def _fields(s: Scenario) -> dict[str, Any]:
    return {f: getattr(s, f) for f in s.__dataclass_fields__}
