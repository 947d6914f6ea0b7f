"""The servers under test, each started for real inside the bench's server namespace.

Why each is configured the way it is: every server gets its stock behaviour (retransmit timers,
worker model) plus only what the bench needs to run it unprivileged in a private root — the
point is to compare what an operator would actually run. All listen on ``netns.SERVICE_IP``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import psutil
import toolchain
from netns import SERVICE_IP, Testbed

REPO = Path(__file__).resolve().parent.parent
CPUACCT = Path("/sys/fs/cgroup/cpuacct")


@dataclass(frozen=True)
class ServerSpec:
    """How to start one server: its name, ports, and the argv inside the server namespace."""

    name: str
    argv: Callable[[Path, Path], list[str]]  # (root, workdir) -> argv
    tftp_port: int | None = None
    http_port: int | None = None


def _pxetui(root: Path, workdir: Path) -> list[str]:
    return [
        sys.executable, "-m", "pxetui", "serve", "--root", str(root), "--bind", SERVICE_IP,
        "--tftp-port", "6901", "--http-port", "8001", "--dhcp", "off",
    ]  # fmt: skip


def _pxetui_pure(root: Path, workdir: Path) -> list[str]:
    # The same server on its pure-Python data path (README "TFTP server": the C fast path),
    # on ports of its own: every server of a run listens at once.
    return [
        "env", "PXETUI_TFTP_FASTPATH=0",
        sys.executable, "-m", "pxetui", "serve", "--root", str(root), "--bind", SERVICE_IP,
        "--tftp-port", "6905", "--http-port", "8005", "--dhcp", "off",
    ]  # fmt: skip


def _tftpd_hpa(root: Path, workdir: Path) -> list[str]:
    # --secure chroots into the root, as Debian's default config does.
    return ["in.tftpd", "--foreground", "--listen", "--address", f"{SERVICE_IP}:6902",
            "--secure", str(root)]  # fmt: skip


def _dnsmasq(root: Path, workdir: Path) -> list[str]:
    # DNS off (--port=0), no DHCP range: TFTP only, on its fixed port 69. --tftp-max raised
    # from 50 so the 50-client runs measure throughput, not its admission limit.
    return [
        "dnsmasq", "--keep-in-foreground", "--port=0", "--enable-tftp", f"--tftp-root={root}",
        "--tftp-max=500", "--quiet-tftp", "--log-facility=-", "--user=root", "--group=root",
        f"--pid-file={workdir / 'dnsmasq.pid'}", "--conf-file=/dev/null",
    ]  # fmt: skip


def _atftpd(root: Path, workdir: Path) -> list[str]:
    return [
        str(toolchain.atftpd()), "--daemon", "--no-fork", "--port", "6903",
        "--bind-address", SERVICE_IP, "--maxthread", "500", "--logfile", "/dev/null",
        "--user", "root.root", str(root),
    ]  # fmt: skip


_TFTPY = (
    "import logging, sys, tftpy\n"
    "logging.getLogger('tftpy').setLevel(logging.WARNING)\n"
    "tftpy.TftpServer(sys.argv[1]).listen(sys.argv[2], int(sys.argv[3]))\n"
)


def _tftpy(root: Path, workdir: Path) -> list[str]:
    return [sys.executable, "-c", _TFTPY, str(root), SERVICE_IP, "6904"]


def _nginx(root: Path, workdir: Path) -> list[str]:
    conf = workdir / "nginx.conf"
    conf.write_text(
        f"""daemon off;
worker_processes auto;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    default_type application/octet-stream;
    client_body_temp_path {workdir}/nginx-body;
    server {{
        listen {SERVICE_IP}:8002;
        root {root};
    }}
}}
"""
    )
    return ["nginx", "-e", str(workdir / "nginx-error.log"), "-p", str(workdir), "-c", str(conf)]


PXETUI = ServerSpec("pxetui", _pxetui, tftp_port=6901, http_port=8001)
PXETUI_PURE = ServerSpec("pxetui-pure", _pxetui_pure, tftp_port=6905)
TFTPD_HPA = ServerSpec("tftpd-hpa", _tftpd_hpa, tftp_port=6902)
DNSMASQ = ServerSpec("dnsmasq", _dnsmasq, tftp_port=69)
ATFTPD = ServerSpec("atftpd", _atftpd, tftp_port=6903)
TFTPY = ServerSpec("tftpy", _tftpy, tftp_port=6904)
NGINX = ServerSpec("nginx", _nginx, http_port=8002)
ALL = (PXETUI, PXETUI_PURE, TFTPD_HPA, DNSMASQ, ATFTPD, TFTPY, NGINX)
BY_NAME = {s.name: s for s in ALL}


def with_extra_args(spec: ServerSpec, extra: list[str]) -> ServerSpec:
    """The same server with more arguments (e.g. pxetui's ``--tftp-workers 1``) and a new name."""
    if not extra:
        return spec

    def argv(root: Path, workdir: Path) -> list[str]:
        return [*spec.argv(root, workdir), *extra]

    return dataclasses.replace(spec, name=f"{spec.name}[{' '.join(extra)}]", argv=argv)


def pxetui_serve_available() -> bool:
    """Whether this tree already has `pxetui serve` (it is being written in parallel)."""
    proc = subprocess.run(
        [sys.executable, "-m", "pxetui", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    return proc.returncode == 0 and "--tftp-port" in proc.stdout


@dataclass
class RunningServer:
    """A started server process (its own session, so the whole group can be signalled)."""

    spec: ServerSpec
    proc: subprocess.Popen[bytes]
    log_path: Path
    _log: IO[bytes] = field(repr=False)
    cgroup: Path | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def cpu_seconds(self) -> float:
        """CPU used so far by the server and every child it ever had.

        Why a cgroup: tftpd-hpa forks a child per transfer and ignores SIGCHLD, so the kernel
        never adds the children's time to the parent; a cpuacct cgroup counts them anyway.
        Without one, fall back to the live process tree (undercounts forking servers).
        """
        if self.cgroup is not None:
            try:
                return int((self.cgroup / "cpuacct.usage").read_text()) / 1e9
            except (OSError, ValueError):
                pass
        try:
            proc = psutil.Process(self.pid)
            t = proc.cpu_times()
            total = t.user + t.system + t.children_user + t.children_system
            for child in proc.children(recursive=True):
                ct = child.cpu_times()
                total += ct.user + ct.system
            return total
        except psutil.Error:
            return 0.0

    def wait_seconds(self) -> float:
        """Run-queue wait so far of every thread of the server's processes (schedstat).

        Why: on a shared machine the pinned core is not the server's alone; time spent
        runnable but not running is the neighbours' doing, not the server's, and a large
        value means that run's time says little about the server.
        """
        pids: list[int] = []
        if self.cgroup is not None:
            with contextlib.suppress(OSError, ValueError):
                pids = [int(x) for x in (self.cgroup / "cgroup.procs").read_text().split()]
        if not pids:
            with contextlib.suppress(psutil.Error):
                proc = psutil.Process(self.pid)
                pids = [proc.pid, *(c.pid for c in proc.children(recursive=True))]
        total = 0
        for pid in pids:
            for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
                with contextlib.suppress(OSError, ValueError, IndexError):
                    total += int(stat.read_text().split()[1])
        return total / 1e9

    def log_tail(self, lines: int = 8) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM the group, SIGKILL after ``timeout`` seconds; remove the cgroup."""
        if self.alive():
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(timeout=timeout)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self._log.close()
        if self.cgroup is not None:
            _remove_cgroup(self.cgroup)


def _file_safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _cgroup_for(pid: int, name: str) -> Path | None:
    """A fresh cpuacct cgroup holding ``pid`` (children inherit it), or None if unavailable."""
    if not (CPUACCT / "cgroup.procs").exists():
        return None
    group = CPUACCT / f"pxb-{os.getpid()}-{_file_safe(name)}"
    try:
        group.mkdir(exist_ok=True)
        (group / "cgroup.procs").write_text(str(pid))
    except OSError:
        _remove_cgroup(group)
        return None
    return group


def remove_stale_cgroups() -> list[str]:
    """Remove empty cgroups left by a bench run that was SIGKILLed (named pxb-<pid>-<server>)."""
    removed = []
    for group in CPUACCT.glob("pxb-*-*") if CPUACCT.exists() else ():
        pid = group.name.split("-")[1]
        if pid.isdigit() and not psutil.pid_exists(int(pid)):
            try:
                group.rmdir()
                removed.append(group.name)
            except OSError:
                pass
    return removed


def _remove_cgroup(group: Path) -> None:
    """rmdir the cgroup once its processes are gone (bounded wait; the kernel reaps async)."""
    for _ in range(50):
        try:
            group.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.1)


def start(spec: ServerSpec, bed: Testbed, root: Path, workdir: Path) -> RunningServer:
    """Start ``spec`` in the server namespace; readiness is checked by the caller's probe."""
    log_path = workdir / f"{_file_safe(spec.name)}.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        bed.in_ns(bed.server_ns, spec.argv(root, workdir)),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=REPO,
    )
    return RunningServer(spec, proc, log_path, log, _cgroup_for(proc.pid, spec.name))


def wait_ready(server: RunningServer, probe: Callable[[], bool], timeout: float = 20.0) -> None:
    """Poll ``probe`` (a real transfer) until it succeeds; raise if the server died or hung."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.alive():
            raise RuntimeError(f"{server.spec.name} exited:\n{server.log_tail()}")
        if probe():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{server.spec.name} not ready after {timeout:.0f}s:\n{server.log_tail()}")
