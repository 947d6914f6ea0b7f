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
import sys
from typing import Any

import toolchain
from netns import NICE, SERVICE_IP, Testbed

ECHO_PORT = 7007
_ECHO_SERVER = f"""
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("{SERVICE_IP}", {ECHO_PORT}))
s.settimeout(10)
print("ready", flush=True)
try:
    for _ in range(1000):
        data, peer = s.recvfrom(64)
        if data == b"stop":
            break
        s.sendto(data, peer)
except TimeoutError:
    pass
"""
_ECHO_CLIENT = f"""
import json, socket, statistics, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
rtts = []
for i in range(60):
    t = time.perf_counter()
    s.sendto(str(i).encode(), ("{SERVICE_IP}", {ECHO_PORT}))
    try:
        while s.recv(64) != str(i).encode():
            pass
    except TimeoutError:
        continue
    rtts.append((time.perf_counter() - t) * 1000)
    time.sleep(0.002)
s.sendto(b"stop", ("{SERVICE_IP}", {ECHO_PORT}))
rtts = rtts[10:]  # the first few include route and cache warm-up
print(json.dumps({{"rtt_ms_min": min(rtts), "rtt_ms_median": statistics.median(rtts),
                  "rtt_ms_max": max(rtts), "samples": len(rtts)}}))
"""


def measure_rtt(bed: Testbed) -> dict[str, Any]:
    """Median UDP round trip client->service address over the current path (proves the delay)."""
    server = subprocess.Popen(
        bed.in_ns(bed.server_ns, [sys.executable, "-c", _ECHO_SERVER]),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        assert server.stdout is not None
        server.stdout.readline()
        proc = subprocess.run(
            bed.in_ns(bed.client_ns, [sys.executable, "-c", _ECHO_CLIENT]),
            capture_output=True,
            text=True,
            timeout=30,
        )
        result: dict[str, Any] = json.loads(proc.stdout) if proc.returncode == 0 else {}
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=5)


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
        if bed.pinned:  # the relay is the network: on the clients' side, off the server core
            argv = ["nice", "-n", NICE, "taskset", "-c", bed.client_cpus, *argv]
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


class PathSwitch:
    """Puts the testbed into the condition a scenario asks for: direct, or relay(delay, loss).

    On the relay path a fresh relay runs for each measured run, so its counters belong to that
    one run: the bench checks that the run's ACKs really crossed the relay (a server answering
    from an unexpected address could otherwise bypass the delay and loss unnoticed). One RTT
    is measured per setting, for the report.
    """

    def __init__(self, bed: Testbed) -> None:
        self.bed = bed
        self.relay: Relay | None = None
        self._want: tuple[int, int] | None = None
        self.counters: list[dict[str, Any]] = []
        self.rtts: list[dict[str, Any]] = [{"scenario": "direct veth", **measure_rtt(bed)}]
        self._measured: set[tuple[int, int]] = set()

    def apply(self, label: str, delay_us: int, drop_every: int) -> None:
        """Route the clients directly (0, 0) or through a relay with this delay and loss."""
        self.stop()
        self._want = (delay_us, drop_every) if (delay_us or drop_every) else None
        self.bed.route_via("relay" if self._want else "direct")
        if self._want and self._want not in self._measured:
            self._measured.add(self._want)
            self.begin_run()
            self.rtts.append({"scenario": label, **measure_rtt(self.bed)})
            self.stop()

    def begin_run(self) -> None:
        """Start a fresh relay for the next run (no-op on the direct path)."""
        if self._want and self.relay is None:
            self.relay = Relay(self.bed, *self._want)

    def end_run(self, label: str, server: str) -> dict[str, Any]:
        """Stop this run's relay and return (and keep) its counters; {} on the direct path."""
        if self.relay is None:
            return {}
        counters = {"scenario": label, "server": server, **self.relay.stop()}
        self.relay = None
        self.counters.append(counters)
        return counters

    def stop(self) -> None:
        """Stop a relay still running (after a failure), counters discarded."""
        if self.relay is not None:
            self.relay.stop()
            self.relay = None

    def close(self) -> None:
        """Stop any relay and route directly again."""
        self.stop()
        self._want = None
        self.bed.route_via("direct")
