"""A child process of the lab (dnsmasq, pxetui serve, QEMU), with its output in a log file.

The lab starts a few long-running children inside its namespaces. Each one's combined
output goes to a file next to the lab's other state, so a failed test can show what dnsmasq
or the engine said, and :meth:`LabProcess.stop` is bounded in time (TERM, then KILL).
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from pathlib import Path

from pxetui.lab.netns import netns_command


class LabProcess:
    """One child started inside a namespace; stopped by its own pid, never by name."""

    def __init__(self, name: str, argv: list[str], netns: str | None, log: Path) -> None:
        self.name = name
        self.argv = argv
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        cmd = netns_command(netns, argv) if netns else argv
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def running(self) -> bool:
        return self.proc.poll() is None

    def output(self) -> str:
        """Everything the child wrote so far (its log file)."""
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def wait_for_output(self, needle: str, timeout: float) -> bool:
        """Poll the log until *needle* appears, the child exits, or *timeout* passes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.output():
                return True
            if not self.running():
                return needle in self.output()
            time.sleep(0.05)
        return False

    def stop(self, grace: float = 5.0) -> int | None:
        """TERM, wait up to *grace* seconds, then KILL. Returns the exit code."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode
