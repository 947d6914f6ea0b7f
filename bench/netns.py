"""The bench's private network: two namespaces, a veth pair, a tun pair for the relay.

Why namespaces: the bench must never send a packet outside addresses it owns, and runs next to
other people's tests. Everything lives in two namespaces it creates (``pxb-<hex>-<pid>-c`` for
clients, ``…-s`` for servers) and deletes on exit; deleting a namespace also removes its links.

Why a service address: every server listens on ``SERVICE_IP`` (on the server namespace's
loopback). The client namespace reaches it either straight over the veth pair ("direct") or
over the tun pair through the user-space relay ("relay", for delay and loss). Switching a
scenario is one ``ip route replace``; the servers never restart and never need a wildcard bind.
On the relay path only client->server packets cross the relay; replies come back over the veth,
so the relay is never the bottleneck for a window of DATA.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import subprocess
from collections.abc import Sequence
from typing import Literal

import psutil

PREFIX = "pxb-"
# Pinned runs also raise priority: on a shared machine the pinned core is not ours alone, and
# a single-process server waits in the run queue behind other jobs' tasks (measured: 6 s of
# run-queue wait for 1.8 s of CPU) while a multi-process one gets a share per process.
NICE = "-10"
CLIENT_VETH_IP = "10.253.0.1"
SERVER_VETH_IP = "10.253.0.2"
CLIENT_TUN_IP = "10.253.1.1"
SERVER_TUN_IP = "10.253.1.2"
SERVICE_IP = "10.253.2.1"
_STALE = re.compile(r"^pxb-[0-9a-f]{6}-(\d+)-[cs]$")

Path = Literal["direct", "relay"]


def run_ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run one `ip` command, bounded in time, raising with its stderr on failure."""
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20)
    if check and proc.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {proc.stderr.strip()}")
    return proc


def _pid_alive(pid: int) -> bool:
    """Whether the run that owns a namespace still exists (a zombie counts as gone)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def delete_namespace(name: str) -> None:
    """Kill whatever still runs inside a namespace of ours, then delete it."""
    pids = run_ip("netns", "pids", name, check=False).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)
    run_ip("netns", "delete", name, check=False)


def remove_stale_namespaces() -> list[str]:
    """Delete bench namespaces left by a run whose process is gone (e.g. after SIGKILL)."""
    removed = []
    for line in run_ip("netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        m = _STALE.match(name)
        if m and not _pid_alive(int(m.group(1))):
            delete_namespace(name)
            removed.append(name)
    return removed


class Testbed:
    """Two namespaces joined by veth (direct) and by tun devices (through the relay)."""

    def __init__(self, pin: bool = True) -> None:
        tag = f"{secrets.token_hex(3)}-{os.getpid()}"
        # A real boot server has a core of its own: with pinning the servers run on core 0
        # and every client (and the relay) on the others, so N client processes cannot
        # starve a single-process server (issue 14: unpinned ratios swung 0.53x..1.28x).
        cores = sorted(os.sched_getaffinity(0))
        self.pinned = pin and len(cores) >= 2
        self.server_cpus = str(cores[0])
        self.client_cpus = ",".join(str(c) for c in cores[1:])
        self.client_ns = f"{PREFIX}{tag}-c"
        self.server_ns = f"{PREFIX}{tag}-s"
        # Interface names live inside our namespaces, so short fixed names cannot collide.
        self.client_veth, self.server_veth = "pxbv-c", "pxbv-s"
        self.client_tun, self.server_tun = "pxbt-c", "pxbt-s"
        self.path: Path | None = None
        self._created: list[str] = []

    def __enter__(self) -> Testbed:
        self.create()
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()

    def create(self) -> None:
        """Build both namespaces and links; on any failure, undo what was made."""
        try:
            for ns in (self.client_ns, self.server_ns):
                run_ip("netns", "add", ns)
                self._created.append(ns)
                run_ip("-n", ns, "link", "set", "lo", "up")
                # Relay paths are asymmetric (requests via tun, replies via veth): no
                # reverse-path filtering, set before the links exist so they inherit it.
                sysctls = ["net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0"]
                subprocess.run(
                    self.in_ns(ns, ["sysctl", "-q", "-w", *sysctls]), check=True, timeout=20
                )
            run_ip(
                *("link", "add", self.client_veth, "netns", self.client_ns, "type", "veth"),
                *("peer", "name", self.server_veth, "netns", self.server_ns),
            )
            run_ip(
                "-n", self.client_ns, "addr", "add", f"{CLIENT_VETH_IP}/24", "dev", self.client_veth
            )
            run_ip(
                "-n", self.server_ns, "addr", "add", f"{SERVER_VETH_IP}/24", "dev", self.server_veth
            )
            for ns, tun, local in (
                (self.client_ns, self.client_tun, CLIENT_TUN_IP),
                (self.server_ns, self.server_tun, SERVER_TUN_IP),
            ):
                run_ip("-n", ns, "tuntap", "add", "dev", tun, "mode", "tun")
                run_ip("-n", ns, "addr", "add", f"{local}/32", "dev", tun)
                run_ip("-n", ns, "link", "set", tun, "mtu", "1500", "up")
            for ns, veth in (
                (self.client_ns, self.client_veth),
                (self.server_ns, self.server_veth),
            ):
                run_ip("-n", ns, "link", "set", veth, "up")
            run_ip("-n", self.server_ns, "addr", "add", f"{SERVICE_IP}/32", "dev", "lo")
            # Replies to the client's tun address always go straight back over the veth: only
            # client->server packets cross the relay, which is where delay and ACK loss apply.
            via = ["via", CLIENT_VETH_IP, "dev", self.server_veth]
            run_ip("-n", self.server_ns, "route", "add", f"{CLIENT_TUN_IP}/32", *via)
            self.route_via("direct")
        except BaseException:
            self.destroy()
            raise

    def route_via(self, path: Path) -> None:
        """Send client traffic for the service address over the veth or through the relay."""
        if path == self.path:
            return
        if path == "direct":
            route = ["via", SERVER_VETH_IP, "dev", self.client_veth]
            run_ip("-n", self.client_ns, "route", "del", f"{SERVER_VETH_IP}/32", check=False)
        else:
            route = ["dev", self.client_tun, "src", CLIENT_TUN_IP]
            # A server whose transfer socket is unbound (tftpy) answers from its veth address;
            # the client then ACKs that address, which must cross the relay too.
            run_ip("-n", self.client_ns, "route", "replace", f"{SERVER_VETH_IP}/32", *route)
        run_ip("-n", self.client_ns, "route", "replace", f"{SERVICE_IP}/32", *route)
        self.path = path

    def netns_path(self, ns: str) -> str:
        """The bind-mounted namespace file `setns()` needs (used by the relay)."""
        return f"/run/netns/{ns}"

    def in_ns(self, ns: str, argv: Sequence[str]) -> list[str]:
        """The argv that runs ``argv`` inside namespace ``ns`` (pinned to its side's cores)."""
        if not self.pinned:
            return ["ip", "netns", "exec", ns, *argv]
        cpus = self.server_cpus if ns == self.server_ns else self.client_cpus
        return ["ip", "netns", "exec", ns, "nice", "-n", NICE, "taskset", "-c", cpus, *argv]

    def pinning(self) -> str:
        """How processes are placed, for the report."""
        if not self.pinned:
            return "not pinned: servers and clients share every core"
        return (
            f"servers pinned to core {self.server_cpus} (taskset), clients and relay on "
            f"core(s) {self.client_cpus}, all at nice {NICE} so other jobs on the machine "
            "cannot starve them (each peer alike)"
        )

    def destroy(self) -> None:
        """Remove both namespaces (and every process still inside). Safe to call twice."""
        for ns in reversed(self._created):
            delete_namespace(ns)
        self._created.clear()
