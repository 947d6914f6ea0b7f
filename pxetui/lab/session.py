"""One lab run: network, engine, assignment, a VM booting through pxetui, and cleanup.

Shared by ``pxetui lab --no-tui`` (lines to stdout) and the lab console (a Textual screen):
both hand in callbacks for the VM's serial lines and the engine's events, and both get the
same guarantee — whatever happens (Ctrl-C, an exception, the VM hanging), :meth:`close`
stops QEMU, the engine and the LAN's dnsmasq and deletes the namespaces.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pxetui.core.mac import MacAddress
from pxetui.core.profile.loader import load_profile
from pxetui.lab.boot_run import find_client
from pxetui.lab.guest import MARKER_PREFIX, GuestArch, Say
from pxetui.lab.lan import start_lan_dhcp
from pxetui.lab.netns import LabNetwork, create_lab_network, remove_stale
from pxetui.lab.process import LabProcess
from pxetui.lab.pxetui_server import PxetuiServer, PxetuiServerError, control_socket
from pxetui.lab.qemu import BootResult, Firmware, VmSpec, fresh_ovmf_vars, qemu_argv, run_vm
from pxetui.lab.scenarios import BIOS_MAC, S390X_MAC
from pxetui.lab.tree import LAB_PROFILE, prepare_lab_dir


def lab_prefix() -> str:
    """Namespace name prefix, ``pxlab-`` unless ``$PXETUI_LAB_PREFIX`` says otherwise (the
    e2e suite sets ``pxg-lab-`` so its runs stay in its own range). Read per lab, not at
    import, so a test can set it after the module is loaded."""
    return os.environ.get("PXETUI_LAB_PREFIX", "pxlab-")


WORKDIR_PREFIX = "pxetui-lab-"
OWNER_FILE = ".owner"
EventSink = Callable[[dict[str, Any]], None]
SerialSink = Callable[[str, float], None]


@dataclass(frozen=True, slots=True)
class LabOptions:
    """What ``pxetui lab`` was asked for."""

    firmware: Firmware = "bios"
    entry: str | None = None
    dhcp: Literal["proxy", "full"] | None = None
    timeout: float = 180.0

    @property
    def mac(self) -> MacAddress:
        return S390X_MAC if self.firmware == "s390x" else BIOS_MAC

    @property
    def arch(self) -> GuestArch:
        return "s390x" if self.firmware == "s390x" else "amd64"

    @property
    def entry_name(self) -> str:
        return self.entry or ("s390x-tiny" if self.firmware == "s390x" else "tiny")

    @property
    def dhcp_mode(self) -> Literal["proxy", "full"]:
        # The s390-ccw firmware takes the first DHCP offer and ignores proxy answers.
        return self.dhcp or ("full" if self.firmware == "s390x" else "proxy")


def _say_nothing(_: str) -> None:
    return None


class LabSession:
    """Build the lab, boot once, tear down. Use as ``async with`` or call :meth:`close`."""

    def __init__(self, options: LabOptions, say: Say = _say_nothing) -> None:
        self.options = options
        self.say = say
        self.workdir = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX))
        (self.workdir / OWNER_FILE).write_text(f"{os.getpid()}\n")
        self.prefix = lab_prefix()
        self.net: LabNetwork | None = None
        self.lan: LabProcess | None = None
        self.server: PxetuiServer | None = None

    def profile_overrides(self) -> dict[str, Any]:
        o = self.options
        hosts: dict[str, Any] = {}
        if o.firmware == "s390x":
            hosts[o.mac.colon] = {"entry": o.entry_name, "arch": "s390x"}
        out: dict[str, Any] = {"hosts": hosts}
        if o.dhcp_mode == "full":
            out["network"] = {
                "dhcp": {
                    "mode": "full",
                    "subnet": None,
                    "range": ["10.250.77.100", "10.250.77.150"],
                }
            }
        return out

    def setup(self) -> None:
        """Guest files, namespaces, the LAN router (proxy mode), the engine, the assignment."""
        o = self.options
        known = {*load_profile(LAB_PROFILE).entries, "local"}
        if o.entry_name not in known:
            names = ", ".join(sorted(known))
            raise ValueError(f"no entry {o.entry_name!r} in {LAB_PROFILE.name}; entries: {names}")
        remove_stale_workdirs()
        stale = remove_stale(self.prefix)
        if stale:
            self.say(f"removed namespaces left by an earlier lab: {', '.join(stale)}")
        self.say(f"preparing the lab tree in {self.workdir} (guest files cached)")
        profile = prepare_lab_dir(self.workdir, (o.arch,), self.profile_overrides(), say=self.say)
        self.net = create_lab_network(self.prefix, router=o.dhcp_mode == "proxy")
        self.say(f"namespaces: {', '.join(self.net.namespaces)} (br0 {self.net.server_ip}/24)")
        if o.dhcp_mode == "proxy":
            self.lan = start_lan_dhcp(self.net, self.workdir / "lan")
            self.say(f"LAN DHCP server (router namespace) at {self.net.router_ip}")
        self.server = PxetuiServer(self.net, profile, self.workdir)
        self.server.start()
        self.say(f"pxetui serve running ({o.dhcp_mode} DHCP), control socket {self.server.socket}")
        self.server.assign(o.mac, o.entry_name)
        self.say(f"assigned {o.mac} -> {o.entry_name}")

    @property
    def socket(self) -> Path:
        """The engine's control socket (known before the engine runs: the console attaches
        to it once :meth:`setup` is done)."""
        return control_socket(self.workdir)

    async def run_vm(self, on_serial: SerialSink, firmware: Firmware | None = None) -> BootResult:
        """Power the VM on once (default: the lab's firmware) until it powers off, fails or
        times out; QEMU is stopped on the way out, also when the caller is cancelled.

        BIOS and UEFI share the VM's MAC and guest files, so the console can switch between
        them; a UEFI boot starts from a fresh copy of OVMF's variables."""
        if self.net is None or self.server is None:
            raise RuntimeError("setup() first")
        o = self.options
        firmware = firmware or o.firmware
        if (firmware == "s390x") != (o.firmware == "s390x"):
            raise ValueError(f"this lab was built for {o.firmware}; it cannot boot {firmware}")
        vars_file = fresh_ovmf_vars(self.workdir / "ovmf-vars.fd") if firmware == "uefi" else None
        argv = qemu_argv(VmSpec(firmware, o.mac), vars_file)
        self.say(f"booting a {firmware} VM ({o.mac}): {' '.join(argv[:1])} …")
        return await run_vm(
            argv,
            self.net.server_ns,
            expect=[MARKER_PREFIX],
            settle="PXETUI-POWEROFF",
            timeout=o.timeout,
            on_line=on_serial,
        )

    async def boot(self, on_serial: SerialSink, on_event: EventSink) -> BootResult:
        """Boot the VM once; stream serial lines and engine events until it powers off."""
        if self.net is None or self.server is None:
            raise RuntimeError("setup() first")
        tail = asyncio.create_task(self._follow_events(on_event))
        poll = asyncio.create_task(self._follow_client(on_event))
        try:
            return await self.run_vm(on_serial)
        finally:
            await asyncio.sleep(0.6)  # let the last events land
            for task in (tail, poll):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _follow_client(self, on_event: EventSink) -> None:
        """Poll ``status`` for the tracker's view of our VM; report it when it changes.

        The JSON log leaves the high-rate ``client`` events out, so the lab asks the control
        API, as any other client of the engine would (twice a second, until cancelled).
        """
        assert self.server is not None
        last: object = None
        while True:
            try:
                status = await asyncio.to_thread(self.server.status)
            except PxetuiServerError:
                status = {}
            client = find_client(status, self.options.mac)
            view = None if client is None else (client.get("phase"), client.get("ip"))
            if client is not None and view != last:
                last = view
                on_event({"kind": "client", "mac": self.options.mac.colon, "state": client})
            await asyncio.sleep(0.5)

    async def _follow_events(self, on_event: EventSink) -> None:
        """Tail the engine's JSON-lines log (the same events its control API streams)."""
        assert self.server is not None
        log = self.server.log
        offset = 0
        while True:
            try:
                with log.open("rb") as fh:
                    fh.seek(offset)
                    chunk = fh.read()
            except OSError:
                chunk = b""
            if chunk:
                complete, _, _rest = chunk.rpartition(b"\n")
                if complete:
                    offset += len(complete) + 1
                    for raw in complete.split(b"\n"):
                        event = _json_line(raw)
                        if event is not None:
                            on_event(event)
            await asyncio.sleep(0.1)

    def close(self) -> None:
        """Stop everything and delete the namespaces; safe to call twice."""
        if self.server is not None:
            self.server.stop()
        if self.lan is not None:
            self.lan.stop()
        if self.net is not None:
            self.net.teardown()
        shutil.rmtree(self.workdir, ignore_errors=True)


def remove_stale_workdirs() -> list[Path]:
    """Delete lab directories (in the temp dir) whose owning process is gone (kill -9)."""
    removed: list[Path] = []
    for path in Path(tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}*"):
        try:
            owner = int((path / OWNER_FILE).read_text().strip())
        except (OSError, ValueError):
            continue  # not ours, or still being created
        if owner == os.getpid() or Path(f"/proc/{owner}").exists():
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _json_line(raw: bytes) -> dict[str, Any] | None:
    if not raw.startswith(b"{"):
        return None
    try:
        item = json.loads(raw)
    except ValueError:
        return None
    return item if isinstance(item, dict) else None
