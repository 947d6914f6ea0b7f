"""Boot time per scenario through pxetui vs the same boot served by dnsmasq alone.

Host clock, TCG. Two numbers per boot:

* **boot**: QEMU start -> the guest's marker line (the whole boot, kernel start-up included;
  under TCG on a shared host that part is large and noisy and does not depend on the server);
* **net**: the VM's first frame (its first DHCPDISCOVER) -> the last frame it sends before its
  kernel runs (timed on the tap by :mod:`pxetui.lab.wire`; the tiny guests load no NIC
  driver): DHCP, every download and the loaders' own work in between — the window in which
  the server matters, without the firmware's power-on and the kernel's start-up.

"dnsmasq alone" is dnsmasq with ``--enable-tftp`` serving the same kernel/initrd/arguments
from its own TFTP (it has no HTTP, so its iPXE scripts use TFTP). Runs are interleaved
(pxetui, dnsmasq, pxetui, …) so host load hits both alike. Run as root:

    python3 bench/boot_timings.py [--runs N] [--only NAME ...]

Prints a Markdown table (medians, min-max in brackets) for the README.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pxetui.lab.boot_run import boot_reference, boot_vm, start_pxetui_for
from pxetui.lab.lan import start_lan_dhcp
from pxetui.lab.netns import create_lab_network, remove_stale
from pxetui.lab.scenarios import SCENARIOS, Scenario
from pxetui.lab.wire import FrameTimes

PREFIX = "pxg-bt-"


async def _one(scenario: Scenario, server: str, workdir: Path) -> tuple[float, float | None] | None:
    """One boot on a fresh network: (boot seconds, net seconds), or None if it failed."""
    net = create_lab_network(PREFIX, router=scenario.dhcp == "proxy")
    lan = None
    frames: list[FrameTimes] = []
    try:
        if net.router_ns:
            lan = start_lan_dhcp(net, workdir / "lan")
        if server == "pxetui":
            run = start_pxetui_for(scenario, net, workdir / "pxetui")
            try:
                result = await boot_vm(scenario, net, run.workdir, frames=frames)
            finally:
                run.stop()
        else:
            result = await boot_reference(scenario, net, workdir / "reference", frames)
    finally:
        if lan is not None:
            lan.stop()
        net.teardown()
    if result.outcome != "expected" or result.seconds is None:
        print(f"  {scenario.name}/{server}: {result.outcome} {result.matched}", file=sys.stderr)
        print(result.tail(15), file=sys.stderr)
        return None
    first, last = (frames[0].first, frames[0].last) if frames else (None, None)
    # The diskless guest talks again after its kernel starts: no "net" figure for it.
    network = None
    if first is not None and last is not None and scenario.name != "diskless":
        network = last - first
    return result.seconds, network


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
    args = parser.parse_args(argv)
    remove_stale(PREFIX)
    rows = []
    for name in args.only or list(SCENARIOS):
        scenario = SCENARIOS[name]
        boot: dict[str, list[float]] = {"pxetui": [], "dnsmasq": []}
        netw: dict[str, list[float]] = {"pxetui": [], "dnsmasq": []}
        servers = ["pxetui", "dnsmasq"] if scenario.reference else ["pxetui"]
        for i in range(args.runs):
            for server in servers:
                with tempfile.TemporaryDirectory(prefix="pxetui-bt-") as tmp:
                    got = await _one(scenario, server, Path(tmp))
                if got is not None:
                    boot[server].append(got[0])
                    if got[1] is not None:
                        netw[server].append(got[1])
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
    print(
        "| scenario | boot: pxetui | boot: dnsmasq alone | ratio | net: pxetui "
        "| net: dnsmasq alone | ratio |"
    )
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(sys.argv[1:])))
