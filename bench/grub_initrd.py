"""A big initrd under GRUB: over GRUB's TFTP vs over its HTTP (``(http,server:port)/…``).

OVMF (TCG), full DHCP, the lab's 40 MB initrd (``big-initrd``), three ways:

* ``grub-http``: ``loader: grub``, Secure Boot off, the entry's kernel and initrd given as
  ``http://`` URLs of pxetui's own HTTP: GRUB loads ``grub/x86_64-efi/http.mod`` (installed
  by pxetui from grub-efi-amd64-bin) and fetches them with ``(http,server:port)/…``;
* ``grub-tftp``: the same GRUB and files under pxetui's root, ``grub.files: tftp``:
  ``(tftp,server)/…``;
* ``grub-nginx``: the control: the same GRUB and ``http://`` URLs, but of Debian's nginx
  (stock ``sendfile``/``tcp_nopush``) started on port 8081 inside the lab namespace over the
  same root — if nginx is as slow as pxetui for GRUB, the server is not the problem;
* ``shim-tftp``: ``loader: shim`` with Secure Boot on: Debian's signed GRUB may not load
  http.mod, so the kernel and initrd come over TFTP — what a Secure Boot site gets.

Per run: the initrd's transfer time as the server recorded it (pxetui: first byte to last ACK
or last byte; nginx: its ``$request_time``), the whole boot (QEMU start -> the guest's marker,
host clock), and the frames the guest's tap carried during the boot (both directions, from
the kernel's link counters). Ways run interleaved. Run as root:

    python3 bench/grub_initrd.py [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pxetui.lab.boot_run import boot_vm, start_pxetui_for
from pxetui.lab.netns import TAP, LabNetwork, create_lab_network, remove_stale
from pxetui.lab.scenarios import SECURE_BOOT_SCENARIOS, Scenario
from pxetui.lab.tree import build_guest_files

PREFIX = "pxgh-bn-"
INITRD = "lab/initrd-amd64-40m.gz"
OURS = "http://10.250.77.1:8080"
BY_URL = {
    "kind": "linux",
    "arch": "x86",
    "kernel": f"{OURS}/lab/vmlinuz-amd64",
    "initrds": [f"{OURS}/{INITRD}"],
    "args": "console=ttyS0,115200 panic=-1 quiet pxetui.entry={entry}",
}
NGINX_PORT = 8081
BY_NGINX = {
    **BY_URL,
    "kernel": f"{OURS.replace('8080', str(NGINX_PORT))}/lab/vmlinuz-amd64",
    "initrds": [f"{OURS.replace('8080', str(NGINX_PORT))}/{INITRD}"],
}


def _start_nginx(net: LabNetwork, root: Path, workdir: Path) -> subprocess.Popen[bytes]:
    """Debian's nginx over *root* on NGINX_PORT in the lab namespace (as bench/servers.py)."""
    conf = workdir / "nginx.conf"
    conf.write_text(
        f"""daemon off;
user root;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log warn;
events {{ worker_connections 64; }}
http {{
    log_format t '$request $status $body_bytes_sent $request_time';
    access_log {workdir}/nginx-access.log t;
    sendfile on;
    tcp_nopush on;
    default_type application/octet-stream;
    client_body_temp_path {workdir}/nginx-body;
    server {{
        listen 0.0.0.0:{NGINX_PORT};
        root {root};
    }}
}}
"""
    )
    argv = ["nginx", "-e", str(workdir / "nginx-error.log"), "-p", str(workdir), "-c", str(conf)]
    return subprocess.Popen(["ip", "netns", "exec", net.server_ns, *argv])


def _nginx_seconds(workdir: Path) -> float | None:
    log = workdir / "nginx-access.log"
    for line in reversed(log.read_text().splitlines() if log.exists() else []):
        parts = line.split()
        if INITRD in parts[1] and parts[-3] == "200":
            return float(parts[-1])
    return None


def _tap_frames(net: LabNetwork) -> int:
    out = subprocess.run(
        ["ip", "-n", net.server_ns, "-j", "-s", "link", "show", TAP],
        capture_output=True, text=True, check=True, timeout=10,
    ).stdout  # fmt: skip
    stats = json.loads(out)[0]["stats64"]
    return int(stats["rx"]["packets"]) + int(stats["tx"]["packets"])


def _scenarios() -> dict[str, Scenario]:
    base = replace(
        SECURE_BOOT_SCENARIOS["shim-full"],
        entry="big-initrd",
        initrd="initrd-amd64-40m.gz",
        expect_args=("pxetui.entry=big-initrd",),
        timeout=300.0,
    )
    return {
        "grub-http": replace(
            base,
            name="grub-http",
            secure_boot=False,
            overrides={"loader": "grub", "entries": {"big-initrd": BY_URL}},
        ),
        "grub-nginx": replace(
            base,
            name="grub-nginx",
            secure_boot=False,
            overrides={"loader": "grub", "entries": {"big-initrd": BY_NGINX}},
        ),
        "grub-tftp": replace(
            base,
            name="grub-tftp",
            secure_boot=False,
            overrides={"loader": "grub", "grub": {"files": "tftp"}},
        ),
        "shim-tftp": replace(base, name="shim-tftp", overrides={"loader": "shim"}),
    }


Row = tuple[float, float, str, int, float]


def _cpu(pid: int) -> float:
    """User + system CPU seconds of *pid* and its live children."""
    proc = psutil.Process(pid)
    return sum(sum(p.cpu_times()[:2]) for p in (proc, *proc.children(recursive=True)))


async def _one(scenario: Scenario, workdir: Path) -> Row:
    net = create_lab_network(PREFIX, router=False)
    run = None
    nginx = None
    try:
        run = start_pxetui_for(scenario, net, workdir)
        if scenario.name == "grub-nginx":
            nginx = _start_nginx(net, workdir / "tftp", workdir)
        assert run.server.proc is not None
        server = nginx.pid if nginx is not None else run.server.proc.pid
        before, cpu = _tap_frames(net), _cpu(server)
        result = await boot_vm(scenario, net, workdir)
        frames, cpu = _tap_frames(net) - before, _cpu(server) - cpu
        if result.outcome != "expected" or result.seconds is None:
            raise RuntimeError(f"{scenario.name}: {result.outcome}\n{result.tail()}")
        if nginx is not None:
            took = _nginx_seconds(workdir)
            if took is None:
                raise RuntimeError(f"{scenario.name}: nginx logged no 200 for {INITRD}")
            return took, result.seconds, "http (nginx)", frames, cpu
        done = [e for e in run.transfers() if e.get("filename", "").lstrip("/") == INITRD]
        if not done:
            raise RuntimeError(f"{scenario.name}: no finished transfer of {INITRD}")
        return float(done[-1]["seconds"]), result.seconds, str(done[-1]["proto"]), frames, cpu
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(timeout=10)
        if run is not None:
            run.stop()
        net.teardown()


async def main(runs: int, ways: list[str]) -> None:
    remove_stale(PREFIX)
    build_guest_files("amd64")
    rows: dict[str, list[Row]] = {}
    with tempfile.TemporaryDirectory(prefix="pxetui-grub-bench-") as tmp:
        for n in range(runs):
            for name, scenario in _scenarios().items():
                if ways and name not in ways:
                    continue
                got = await _one(scenario, Path(tmp) / f"{name}-{n}")
                rows.setdefault(name, []).append(got)
                print(
                    f"{name} run {n + 1}: initrd {got[0]:.2f} s over {got[2]}, "
                    f"boot {got[1]:.1f} s, {got[3]} frames, server CPU {got[4]:.2f} s",
                    flush=True,
                )
    print(
        "\n| way | initrd (43 MB), median (each) | whole boot | frames on the tap | server CPU |"
        "\n|---|---|---|---|---|"
    )
    for name, got in rows.items():
        xfer = statistics.median(g[0] for g in got)
        boot = statistics.median(g[1] for g in got)
        frames = statistics.median(g[3] for g in got)
        each = " / ".join(f"{g[0]:.1f}" for g in got)
        cpu = statistics.median(g[4] for g in got)
        print(
            f"| {name} ({got[0][2]}) | {xfer:.2f} s ({each}) | {boot:.1f} s | {frames:.0f} "
            f"| {cpu:.2f} s |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--way", action="append", default=[], help="only these ways")
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.way))
