"""Start and stop the tun relay (bench/relay.c) that adds delay and ACK loss.

Why a process per setting: the relay is tiny and starts in milliseconds, so changing delay or
loss between scenarios is a restart, and its counters (forwarded, dropped ACKs) come back on
exit as proof the scenario really had the loss it claims.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from typing import Any

import toolchain
from netns import Testbed


class Relay:
    """One running relay between the client and server tun devices."""

    def __init__(self, bed: Testbed, delay_us: int, drop_every: int) -> None:
        self.delay_us = delay_us
        self.drop_every = drop_every
        argv = [
            str(toolchain.relay()),
            bed.netns_path(bed.client_ns),
            bed.client_tun,
            bed.netns_path(bed.server_ns),
            bed.server_tun,
            str(delay_us),
            str(drop_every),
        ]
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert self.proc.stderr is not None
        first = self.proc.stderr.readline()  # "ready", or EOF if it failed to start
        if '"ready"' not in first:
            self.proc.wait(timeout=5)
            raise RuntimeError(f"relay failed to start: {first}{self.proc.stderr.read()[-400:]}")

    def stop(self) -> dict[str, Any]:
        """SIGTERM the relay and return its counters (empty if it could not say)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            _, err = self.proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            _, err = self.proc.communicate(timeout=5)
        for line in reversed(err.splitlines()):
            try:
                stats: dict[str, Any] = json.loads(line)
                return stats
            except json.JSONDecodeError:
                continue
        return {}
