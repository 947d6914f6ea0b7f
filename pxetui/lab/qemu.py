"""QEMU command lines for the lab's firmware, and a bounded wait on the serial console.

Recipes from REAL-BOOT-TESTS.md: TCG (nested KVM hangs the guest kernel), ``-nographic``
(with ``-display none`` the BIOS/iPXE text never reaches the serial line), serial on stdio
read through a pipe. BIOS uses the NIC's iPXE ROM; UEFI uses OVMF with ``romfile=`` so
EDK2's *own* PXE runs (with the default ROM we would be testing iPXE again); s390x uses the
s390-ccw firmware shipped in qemu-system-misc. Boot time is taken on the host clock from
QEMU's start to the marker: the guest clock under TCG is not to be trusted.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from uuid import UUID

from pxetui.core.mac import MacAddress
from pxetui.lab.netns import netns_command

Firmware = Literal["bios", "uefi", "s390x"]
FIRMWARES: tuple[Firmware, ...] = ("bios", "uefi", "s390x")

OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE_4M.fd")
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS_4M.fd")
OVMF_CODE_SECURE = Path("/usr/share/OVMF/OVMF_CODE_4M.ms.fd")
"""OVMF built with Secure Boot (SMM); with the vars below it is enforcing."""
OVMF_VARS_MS = Path("/usr/share/OVMF/OVMF_VARS_4M.ms.fd")
"""Variables with Microsoft's keys enrolled and Secure Boot on (Debian's ``ovmf``)."""

FAILURES = (
    "No bootable device",
    "Kernel panic",
    "Could not boot",
    "Boot failed",
    "Failed to load OS from network",
    "No more network devices",
    "PXE-E",
)
"""Serial text that means the boot will not reach the marker."""

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>c]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # backspaces of iPXE's spinners …


def strip_ansi(text: str) -> str:
    """Serial text without terminal escapes and control characters (iPXE and EDK2 emit
    colour codes, carriage returns and backspace-animated spinners)."""
    return _CONTROL.sub("", _ANSI.sub("", text))


@dataclass(frozen=True, slots=True)
class VmSpec:
    """One lab VM: which firmware, which NIC address, where its tap is."""

    firmware: Firmware
    mac: MacAddress
    tap: str = "tap0"
    memory_mb: int = 512
    uuid: UUID | None = None
    secure_boot: bool = False
    """UEFI only: OVMF with Microsoft's keys enrolled, so unsigned loaders are refused."""
    http_boot: bool = False
    """UEFI only: OVMF's PXE boot options are switched off (fw_cfg), so its first network
    boot option is UEFI HTTP boot (IPv4)."""
    dead_nic: MacAddress | None = None
    """A first NIC ahead of the booting one, on a link nothing else is on (a QEMU hub port
    of its own: no tap, no traffic leaves QEMU), like a multi-NIC host's unplugged port."""


def qemu_argv(spec: VmSpec, vars_file: Path | None = None) -> list[str]:
    """The QEMU command line for *spec* (UEFI needs a writable copy of OVMF's vars)."""
    netdev = f"tap,id=n0,ifname={spec.tap},script=no,downscript=no"
    common = ["-nographic", "-serial", "stdio", "-monitor", "none", "-no-reboot"]
    uuid = ["-uuid", str(spec.uuid)] if spec.uuid else []
    if spec.firmware != "s390x" and spec.dead_nic is not None:
        # Listed first, so it is the first NIC on the PCI bus (and in iPXE, net0).
        dead = [
            *("-netdev", "hubport,id=n9,hubid=9"),
            *("-device", f"virtio-net-pci,netdev=n9,mac={spec.dead_nic.colon}"),
        ]
    else:
        dead = []
    if spec.firmware == "bios":
        return [
            "qemu-system-x86_64",
            *("-accel", "tcg", "-machine", "pc", "-m", str(spec.memory_mb), "-boot", "n"),
            *dead,
            *("-netdev", netdev),
            *("-device", f"virtio-net-pci,netdev=n0,mac={spec.mac.colon}"),
            *uuid,
            *common,
        ]
    if spec.firmware == "uefi":
        if vars_file is None:
            raise ValueError("UEFI needs a writable OVMF vars file")
        machine = "q35,smm=on" if spec.secure_boot else "q35"
        code = OVMF_CODE_SECURE if spec.secure_boot else OVMF_CODE
        secure = ["-global", "driver=cfi.pflash01,property=secure,value=on"]
        return [
            "qemu-system-x86_64",
            *("-accel", "tcg", "-machine", machine, "-m", str(max(spec.memory_mb, 1024))),
            *(secure if spec.secure_boot else []),
            *(_NO_PXE if spec.http_boot else []),
            *("-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={code}"),
            *("-drive", f"if=pflash,format=raw,unit=1,file={vars_file}"),
            *dead,
            *("-netdev", netdev),
            *("-device", f"virtio-net-pci,netdev=n0,mac={spec.mac.colon},bootindex=1,romfile="),
            *uuid,
            *common,
        ]
    return [
        "qemu-system-s390x",
        *("-machine", "s390-ccw-virtio", "-m", str(spec.memory_mb)),
        *("-netdev", netdev),
        *("-device", f"virtio-net-ccw,netdev=n0,mac={spec.mac.colon},bootindex=1"),
        *uuid,
        *common,
    ]


_NO_PXE = [
    *("-fw_cfg", "name=opt/org.tianocore/IPv4PXESupport,string=n"),
    *("-fw_cfg", "name=opt/org.tianocore/IPv6PXESupport,string=n"),
]


def fresh_ovmf_vars(dest: Path, secure_boot: bool = False) -> Path:
    """A private copy of OVMF's variable store (each VM writes its own); with
    *secure_boot*, the one with Microsoft's keys enrolled and Secure Boot enforcing."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(OVMF_VARS_MS if secure_boot else OVMF_VARS, dest)
    return dest


Outcome = Literal["expected", "failure", "exited", "timeout"]


@dataclass
class BootResult:
    """What the serial console showed, and when (seconds since QEMU started)."""

    outcome: Outcome
    matched: str = ""
    seconds: float | None = None
    lines: list[str] = field(default_factory=list)
    exit_code: int | None = None
    started: float = 0.0
    """``time.monotonic()`` when QEMU was started (to relate other clocks to the boot)."""

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def line_starting(self, prefix: str) -> str | None:
        """The first console line that starts with *prefix* (markers, cmdline …)."""
        for line in self.lines:
            if line.startswith(prefix):
                return line
        return None

    def tail(self, n: int = 40) -> str:
        return "\n".join(self.lines[-n:])


LineSink = Callable[[str, float], None]


async def run_vm(
    argv: list[str],
    netns: str | None,
    expect: Sequence[str],
    failures: Sequence[str] = FAILURES,
    timeout: float = 90.0,
    settle: str | None = None,
    settle_timeout: float = 15.0,
    on_line: LineSink | None = None,
    linger: float = 0.0,
) -> BootResult:
    """Start QEMU, watch its serial output, stop it; always bounded by *timeout*.

    The first line containing one of *expect* ends the wait as ``expected`` (the time is
    recorded), one of *failures* as ``failure``. After an expected match the console is read
    on until *settle* appears or QEMU exits (the guest prints its cmdline, then powers off),
    at most *settle_timeout* seconds more. With *linger*, the console is read for exactly
    that long after the match instead (what the firmware does next: a retry, a fallback),
    unless QEMU exits first. QEMU is always stopped before returning.
    """
    cmd = netns_command(netns, argv) if netns else argv
    start = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        *cmd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert proc.stdout is not None
    result = BootResult("timeout", started=start)
    partial = ""
    deadline = start + timeout
    settling = False

    def scan(line: str) -> bool:
        """Check one line; True when reading can stop."""
        nonlocal settling, deadline
        if not settling:
            for needle in expect:
                if needle in line:
                    result.outcome, result.matched = "expected", needle
                    result.seconds = time.monotonic() - start
                    settling = True
                    if linger > 0:
                        deadline = time.monotonic() + linger
                    else:
                        deadline = min(deadline + settle_timeout, time.monotonic() + settle_timeout)
                    break
            else:
                for needle in failures:
                    if needle in line:
                        result.outcome, result.matched = "failure", needle
                        result.seconds = time.monotonic() - start
                        return True
        if linger > 0:
            return False
        return bool(settling and (settle is None or settle in line))

    try:
        done = False
        while not done:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                chunk = await asyncio.wait_for(proc.stdout.read(4096), remaining)
            except TimeoutError:
                break
            if not chunk:
                if partial:
                    result.lines.append(strip_ansi(partial))
                    done = scan(result.lines[-1])
                if result.outcome == "timeout":
                    result.outcome = "exited"
                break
            partial += chunk.decode("utf-8", "replace")
            *raw_lines, partial = partial.split("\n")
            complete = [strip_ansi(line) for line in raw_lines]
            now = time.monotonic() - start
            for line in complete:
                result.lines.append(line)
                if on_line is not None:
                    on_line(line, now)
                if scan(line):
                    done = True
                    break
            # Prompts without a newline ("No bootable device." …) still count.
            if not done and partial and not settling:
                tail = strip_ansi(partial)
                done = any(f in tail for f in failures) and scan(tail)
    finally:
        await _stop(proc)
        result.exit_code = proc.returncode
    return result


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 5)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
