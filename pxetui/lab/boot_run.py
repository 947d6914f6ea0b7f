"""Boot one scenario through pxetui (or through dnsmasq alone) and collect the evidence.

The e2e tests and the timings script share this: build the lab tree for the scenario,
start the engine with the scenario's profile, assign the MAC through the CLI, boot the VM
once or more, and hand back the serial results, the engine's events and its status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pxetui.core.mac import MacAddress
from pxetui.lab.guest import GuestArch
from pxetui.lab.netns import LabNetwork
from pxetui.lab.process import LabProcess
from pxetui.lab.pxetui_server import PxetuiServer
from pxetui.lab.qemu import (
    FAILURES,
    BootResult,
    LineSink,
    VmSpec,
    fresh_ovmf_vars,
    qemu_argv,
    run_vm,
)
from pxetui.lab.reference import ReferenceBoot, start_reference
from pxetui.lab.scenarios import S390X_ARGS, X86_ARGS, Scenario
from pxetui.lab.tree import build_guest_files, prepare_lab_dir
from pxetui.lab.wire import FrameClock, FrameTimes


@dataclass
class PxetuiBoot:
    """A running engine for one scenario, and the boots made against it."""

    scenario: Scenario
    server: PxetuiServer
    workdir: Path
    helpers: list[LabProcess] = field(default_factory=list)

    def stop(self) -> None:
        """Stop the engine and any helper (the external DHCP server)."""
        self.server.stop()
        for helper in self.helpers:
            helper.stop()

    def client(self, mac: MacAddress | None = None) -> dict[str, Any] | None:
        """The tracker's view of *mac* (default: the scenario's) from ``status --json``."""
        return find_client(self.server.status(), mac or self.scenario.mac)

    def transfers(self, kind: str = "transfer_finished") -> list[dict[str, Any]]:
        return [e for e in self.server.events() if e.get("kind") == kind]


def find_client(status: dict[str, Any], mac: MacAddress) -> dict[str, Any] | None:
    """The client record for *mac* in a status document (a list or a MAC-keyed mapping)."""
    clients = status.get("clients", [])
    items = clients.values() if isinstance(clients, dict) else clients
    for item in items:
        if isinstance(item, dict) and MacAddress.parse(str(item.get("mac", "0" * 12))) == mac:
            return item
    return None


def start_pxetui_for(
    scenario: Scenario, net: LabNetwork, workdir: Path, assign: bool = True, once: bool = False
) -> PxetuiBoot:
    """Lab tree + profile for *scenario*, the engine started, the MAC assigned by the CLI."""
    profile = prepare_lab_dir(workdir, (scenario.arch,), scenario.profile_overrides())
    run = PxetuiBoot(scenario, PxetuiServer(net, profile, workdir), workdir)
    try:
        run.server.start()
        if scenario.external_dhcp:
            files = build_guest_files(scenario.arch)
            boot = reference_boot_for(scenario, files)
            run.helpers.append(start_reference(net, boot, workdir / "dhcp", own_tftp=False))
        if assign:
            run.server.assign(scenario.mac, scenario.entry, once=once)
    except BaseException:
        run.stop()
        raise
    return run


async def boot_vm(
    scenario: Scenario,
    net: LabNetwork,
    workdir: Path,
    mac: MacAddress | None = None,
    expect: list[str] | None = None,
    failures: tuple[str, ...] = FAILURES,
    frames: list[FrameTimes] | None = None,
    on_line: LineSink | None = None,
    linger: float = 0.0,
) -> BootResult:
    """One QEMU boot of *scenario*'s firmware; waits for its marker (or *expect*).

    With *frames*, the VM's frames on the tap are timed too (appended when the boot ends).
    After the match the console is read on until the guest powers off, or with *linger*
    for that many seconds (to see what the firmware does next), or until QEMU exits.
    """
    vars_file = None
    if scenario.firmware == "uefi":
        n = len(list(workdir.glob("ovmf-*")))
        vars_file = fresh_ovmf_vars(workdir / f"ovmf-vars-{n}.fd", scenario.secure_boot)
    spec = VmSpec(
        scenario.firmware,
        mac or scenario.mac,
        secure_boot=scenario.secure_boot,
        http_boot=scenario.http_boot,
        dead_nic=scenario.dead_nic,
    )
    clock = FrameClock(net.server_ns, net.tap, spec.mac) if frames is not None else None
    try:
        return await run_vm(
            qemu_argv(spec, vars_file),
            net.server_ns,
            expect=expect or [scenario.marker],
            failures=failures,
            settle="PXETUI-POWEROFF",
            linger=linger,
            timeout=scenario.timeout,
            on_line=on_line,
        )
    finally:
        if clock is not None and frames is not None:
            frames.append(clock.stop())


def reference_boot_for(scenario: Scenario, files: dict[str, Path]) -> ReferenceBoot:
    """The dnsmasq-alone equivalent of *scenario* (same kernel, initrd and arguments)."""
    if scenario.reference is None:
        raise ValueError(f"{scenario.name} has no dnsmasq-only equivalent")
    arch: GuestArch = scenario.arch
    args = S390X_ARGS if arch == "s390x" else X86_ARGS
    return ReferenceBoot(
        scenario.reference,
        scenario.mac,
        files[f"vmlinuz-{arch}"],
        files[scenario.initrd],
        f"{args} pxetui.entry={scenario.entry}",
    )


async def boot_reference(
    scenario: Scenario, net: LabNetwork, workdir: Path, frames: list[FrameTimes] | None = None
) -> BootResult:
    """Boot *scenario* with dnsmasq alone (its own TFTP) serving the same guest."""
    files = build_guest_files(scenario.arch)
    dnsmasq = start_reference(net, reference_boot_for(scenario, files), workdir)
    try:
        return await boot_vm(scenario, net, workdir, frames=frames)
    finally:
        dnsmasq.stop()
