"""Boot time per scenario through pxetui vs the same boot served by dnsmasq alone.

Host clock, TCG. Two numbers per boot:

* **boot**: QEMU start -> the guest's marker line (the whole boot, kernel start-up included;
  under TCG on a shared host that part is large and noisy and does not depend on the server);
* **net**: the VM's first DHCP request -> the end of its last download before its kernel
  runs (timed on the tap by :mod:`pxetui.lab.wire`: its last frame that is not a bare TCP
  ACK, or the last new TCP data sent to it; the tiny guests load no NIC driver): DHCP, every
  download and the loaders' own work in between — the window in which the server matters,
  without the firmware's power-on and the kernel's start-up. A second table gives the old
  measure (up to the VM's last frame of any kind), which counted TCP ACKs that EDK2+iPXE
  only emit when the NIC is reset at the hand-over to the kernel (README, "The UEFI network
  phase: what the wire shows").

"dnsmasq alone" is dnsmasq with ``--enable-tftp`` serving the same kernel/initrd/arguments
from its own TFTP (it has no HTTP, so its iPXE scripts use TFTP). Runs are interleaved
(pxetui, dnsmasq, pxetui, …) so host load hits both alike. Run as root:

    python3 bench/boot_timings.py [--runs N] [--only NAME ...] [--capture DIR]

Prints a Markdown table (medians, min-max in brackets) for the README. With ``--capture DIR``
every boot also leaves, under DIR, a pcap of the bridge in the server namespace (tcpdump,
bounded by packet count), the serial console with host-clock offsets from QEMU's start, and
the servers' logs: what "The UEFI network phase: what the wire shows" in README was read from.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pxetui.lab.boot_run import boot_vm, reference_boot_for, start_pxetui_for
from pxetui.lab.lan import start_lan_dhcp
from pxetui.lab.netns import LabNetwork, create_lab_network, netns_command, remove_stale
from pxetui.lab.reference import start_reference
from pxetui.lab.scenarios import SCENARIOS, Scenario
from pxetui.lab.tree import build_guest_files
from pxetui.lab.wire import FrameTimes

PREFIX = "pxg-bt-"


CAPTURE_PACKETS = 20000
"""tcpdump stops by itself after this many packets (a boot sends a few thousand)."""


class Capture:
    """tcpdump on the bridge of *net*'s server namespace, and the serial console, to *dest*."""

    def __init__(self, net: LabNetwork, dest: Path) -> None:
        self.dest = dest
        dest.parent.mkdir(parents=True, exist_ok=True)
        argv = ["tcpdump", "-i", net.bridge, "-U", "-n", "-s", "512", "-c", str(CAPTURE_PACKETS)]
        argv += ["-w", f"{dest}.pcap"]
        self.tcpdump = subprocess.Popen(
            netns_command(net.server_ns, argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        # tcpdump says "listening on br0" once its socket is bound (bounded wait).
        assert self.tcpdump.stderr is not None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "listening" not in self.tcpdump.stderr.readline():
            if self.tcpdump.poll() is not None:
                break
        self.serial = (dest.parent / f"{dest.name}.serial.txt").open("w")
        self.serial.write("# serial console; seconds since QEMU start (host clock)\n")

    def line(self, text: str, at: float) -> None:
        self.serial.write(f"{at:8.3f} {text}\n")

    def stop(self, logs: list[Path], started: float | None) -> None:
        """Stop tcpdump, note QEMU's start on the wall clock (pcap timestamps are wall
        clock, serial offsets are from QEMU's start), keep the servers' logs."""
        if started is not None:
            epoch = started + time.time() - time.monotonic()
            self.serial.write(f"# QEMU started at {epoch:.6f} (epoch seconds, as in the pcap)\n")
        with contextlib.suppress(ProcessLookupError):
            self.tcpdump.terminate()
        try:
            self.tcpdump.wait(10)
        except subprocess.TimeoutExpired:
            self.tcpdump.kill()
            self.tcpdump.wait(5)
        self.serial.close()
        for log in logs:
            if log.is_file():
                shutil.copyfile(log, self.dest.parent / f"{self.dest.name}.{log.name}")


async def _one(
    scenario: Scenario, server: str, workdir: Path, capture: Path | None = None
) -> tuple[float, float | None, float | None] | None:
    """One boot on a fresh network: (boot seconds, net seconds, net seconds as measured
    before bare TCP ACKs were left out), or None if it failed."""
    net = create_lab_network(PREFIX, router=scenario.dhcp == "proxy")
    lan = None
    frames: list[FrameTimes] = []
    cap = Capture(net, capture) if capture is not None else None
    on_line = cap.line if cap is not None else None
    logs: list[Path] = []
    result = None
    try:
        if net.router_ns:
            lan = start_lan_dhcp(net, workdir / "lan")
            logs.append(workdir / "lan" / "lan-dnsmasq.log")
        if server == "pxetui":
            run = start_pxetui_for(scenario, net, workdir / "pxetui")
            logs.append(run.server.log)
            try:
                result = await boot_vm(scenario, net, run.workdir, frames=frames, on_line=on_line)
            finally:
                run.stop()
        else:
            files = build_guest_files(scenario.arch)
            ref_dir = workdir / "reference"
            dnsmasq = start_reference(net, reference_boot_for(scenario, files), ref_dir)
            logs.append(dnsmasq.log)
            try:
                result = await boot_vm(scenario, net, ref_dir, frames=frames, on_line=on_line)
            finally:
                dnsmasq.stop()
    finally:
        if cap is not None:
            cap.stop(logs, result.started if result is not None else None)
        if lan is not None:
            lan.stop()
        net.teardown()
    if result.outcome != "expected" or result.seconds is None:
        print(f"  {scenario.name}/{server}: {result.outcome} {result.matched}", file=sys.stderr)
        print(result.tail(15), file=sys.stderr)
        return None
    times = frames[0] if frames else FrameTimes(None, None, 0)
    # The diskless guest talks again after its kernel starts: no "net" figure for it.
    network = old = None
    if times.first is not None and scenario.name != "diskless":
        network = None if times.last is None else times.last - times.first
        old = None if times.last_sent is None else times.last_sent - times.first
    return result.seconds, network, old


def _fmt(values: list[float]) -> str:
    if not values:
        return "-"
    med = statistics.median(values)
    spread = f" ({min(values):.1f}-{max(values):.1f})" if len(values) > 1 else ""
    return f"{med:.1f} s{spread}"


def _ratio(a: list[float], b: list[float]) -> str:
    if not a or not b:
        return "-"
    return f"{statistics.median(a) / statistics.median(b):.2f}"


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="boots per scenario and server")
    parser.add_argument("--only", nargs="*", choices=sorted(SCENARIOS), help="scenarios to run")
    parser.add_argument(
        "--capture", type=Path, help="keep a pcap, the timed serial log and server logs per boot"
    )
    args = parser.parse_args(argv)
    remove_stale(PREFIX)
    rows: list[tuple[str, ...]] = []
    olds: list[tuple[str, ...]] = []
    for name in args.only or list(SCENARIOS):
        scenario = SCENARIOS[name]
        boot: dict[str, list[float]] = {"pxetui": [], "dnsmasq": []}
        netw: dict[str, list[float]] = {"pxetui": [], "dnsmasq": []}
        old: dict[str, list[float]] = {"pxetui": [], "dnsmasq": []}
        servers = ["pxetui", "dnsmasq"] if scenario.reference else ["pxetui"]
        for i in range(args.runs):
            for server in servers:
                dest = args.capture / f"{name}-{server}-{i + 1}" if args.capture else None
                with tempfile.TemporaryDirectory(prefix="pxetui-bt-") as tmp:
                    got = await _one(scenario, server, Path(tmp), dest)
                if got is not None:
                    boot[server].append(got[0])
                    if got[1] is not None:
                        netw[server].append(got[1])
                    if got[2] is not None:
                        old[server].append(got[2])
                print(f"  {name} {server} run {i + 1}: {got}", file=sys.stderr, flush=True)
        rows.append(
            (
                name,
                _fmt(boot["pxetui"]),
                _fmt(boot["dnsmasq"]) if scenario.reference else "n/a (needs HTTP)",
                _ratio(boot["pxetui"], boot["dnsmasq"]),
                _fmt(netw["pxetui"]),
                _fmt(netw["dnsmasq"]),
                _ratio(netw["pxetui"], netw["dnsmasq"]),
            )
        )
        olds.append(
            (name, _fmt(old["pxetui"]), _fmt(old["dnsmasq"]), _ratio(old["pxetui"], old["dnsmasq"]))
        )
    print(
        "| scenario | boot: pxetui | boot: dnsmasq alone | ratio | net: pxetui "
        "| net: dnsmasq alone | ratio |"
    )
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()
    print("net, old measure (up to the VM's last frame of any kind, stale TCP ACKs included):")
    print()
    print("| scenario | net (old): pxetui | net (old): dnsmasq alone | ratio |")
    print("|---|---|---|---|")
    for old_row in olds:
        print("| " + " | ".join(old_row) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(sys.argv[1:])))
