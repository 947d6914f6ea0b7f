"""``pxetui serve --profile`` inside the lab's server namespace, driven through its CLI.

The lab and the e2e suite use pxetui the way an operator does: the headless engine in one
process (JSON-lines event log to a file), and one-shot ``pxetui assign`` / ``status``
commands talking to its control socket. Nothing here imports the engine: if the CLI
works, the lab works.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pxetui.core.mac import MacAddress
from pxetui.lab.netns import LabNetwork
from pxetui.lab.process import LabProcess


def control_socket(workdir: Path) -> Path:
    """Where the lab's engine listens for control requests."""
    return workdir / "control.sock"


class PxetuiServerError(RuntimeError):
    """The engine did not come up, or a CLI command failed; the text carries its output."""


def pxetui_argv(*args: str) -> list[str]:
    """``python -m pxetui ARGS`` with this interpreter (no reliance on PATH)."""
    return [sys.executable, "-m", "pxetui", *args]


class PxetuiServer:
    """One ``pxetui serve --profile`` child and the CLI commands that talk to it."""

    def __init__(self, net: LabNetwork, profile: Path, workdir: Path) -> None:
        self.net = net
        self.profile = profile
        self.socket = control_socket(workdir)
        self.log = workdir / "pxetui-serve.log"
        self.proc: LabProcess | None = None

    def start(self, timeout: float = 30.0) -> None:
        """Start the engine and wait until its control socket answers ``status``."""
        argv = pxetui_argv(
            "serve",
            "--profile",
            str(self.profile),
            "--socket",
            str(self.socket),
            "--log-format",
            "json",
        )
        self.proc = LabProcess("pxetui-serve", argv, self.net.server_ns, self.log)
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if not self.proc.running():
                raise PxetuiServerError(f"pxetui serve exited:\n{self.proc.output()[-3000:]}")
            if self.socket.exists():
                try:
                    self.status()
                    if self._dhcp_ready():
                        return
                except PxetuiServerError as exc:
                    last = str(exc)
            time.sleep(0.2)
        self.stop()
        raise PxetuiServerError(f"pxetui serve not ready in {timeout}s: {last}\n{self.output()}")

    def _dhcp_ready(self) -> bool:
        """dnsmasq answers only once it runs: wait for its ``running`` service event."""
        return any(
            e.get("kind") == "service"
            and e.get("service") == "dhcp"
            and e.get("state") in ("running", "disabled")
            for e in self.events()
        )

    def dnsmasq_pid(self) -> int | None:
        """The pid of the engine's dnsmasq (from its latest ``running`` service event)."""
        pid = None
        for e in self.events():
            service = e.get("kind") == "service" and e.get("service") == "dhcp"
            if service and e.get("state") == "running" and isinstance(e.get("pid"), int):
                pid = e["pid"]
        return pid

    def stop(self) -> int | None:
        return self.proc.stop() if self.proc else None

    def output(self) -> str:
        return self.proc.output()[-4000:] if self.proc else ""

    def cli(self, *args: str, timeout: float = 20.0) -> str:
        """Run ``pxetui ARGS --socket S`` and return its stdout; raise on failure."""
        cmd = pxetui_argv(*args, "--socket", str(self.socket))
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        if proc.returncode != 0:
            raise PxetuiServerError(
                f"{' '.join(args)} exited {proc.returncode}: {proc.stderr.strip()[-1500:]}"
            )
        return proc.stdout

    def assign(self, mac: MacAddress, entry: str, once: bool = False) -> None:
        self.cli("assign", mac.colon, entry, *(["--once"] if once else []))

    def unassign(self, mac: MacAddress) -> None:
        self.cli("unassign", mac.colon)

    def status(self) -> dict[str, Any]:
        """``pxetui status --json``: the engine's state (services, clients, assignments)."""
        data = json.loads(self.cli("status", "--json"))
        if not isinstance(data, dict):
            raise PxetuiServerError(f"status --json gave {type(data).__name__}, not an object")
        return data

    def events(self) -> list[dict[str, Any]]:
        """Every event the engine logged so far (its JSON-lines output)."""
        out: list[dict[str, Any]] = []
        text = self.proc.output() if self.proc else ""
        for line in text.splitlines():
            if line.startswith("{"):
                try:
                    item = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(item, dict):
                    out.append(item)
        return out

    def __enter__(self) -> PxetuiServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
