"""Boot time per scenario through pxetui vs the same boot served by dnsmasq alone.

Host clock, QEMU start -> the guest's marker line, TCG. "dnsmasq alone" is dnsmasq with
``--enable-tftp`` serving the same kernel/initrd from its own TFTP (it has no HTTP, so its
iPXE scripts use TFTP: that difference is the point of the HTTP scenarios). Run as root:

    python3 bench/boot_timings.py [--runs N] [--only NAME ...]

Prints a Markdown table (median of N runs each) for the README.
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

PREFIX = "pxg-bt-"


async def _one(scenario: Scenario, server: str, workdir: Path) -> float | None:
    """One boot on a fresh network; seconds to the marker, or None if it did not boot."""
    net = create_lab_network(PREFIX, router=scenario.dhcp == "proxy")
    lan = None
    try:
        if net.router_ns:
            lan = start_lan_dhcp(net, workdir / "lan")
        if server == "pxetui":
            run = start_pxetui_for(scenario, net, workdir / "pxetui")
            try:
                result = await boot_vm(scenario, net, run.workdir)
            finally:
                run.stop()
        else:
            result = await boot_reference(scenario, net, workdir / "reference")
    finally:
        if lan is not None:
            lan.stop()
        net.teardown()
    if result.outcome != "expected":
        print(f"  {scenario.name}/{server}: {result.outcome} {result.matched}", file=sys.stderr)
        print(result.tail(15), file=sys.stderr)
        return None
    return result.seconds


def _fmt(values: list[float]) -> str:
    if not values:
        return "failed"
    med = statistics.median(values)
    spread = f" ({min(values):.1f}-{max(values):.1f})" if len(values) > 1 else ""
    return f"{med:.1f} s{spread}"


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="boots per scenario and server")
    parser.add_argument("--only", nargs="*", choices=sorted(SCENARIOS), help="scenarios to run")
    args = parser.parse_args(argv)
    remove_stale(PREFIX)
    names = args.only or list(SCENARIOS)
    rows = []
    for name in names:
        scenario = SCENARIOS[name]
        times: dict[str, list[float]] = {"pxetui": [], "dnsmasq": []}
        servers = ["pxetui", "dnsmasq"] if scenario.reference else ["pxetui"]
        for i in range(args.runs):
            for server in servers:
                with tempfile.TemporaryDirectory(prefix="pxetui-bt-") as tmp:
                    seconds = await _one(scenario, server, Path(tmp))
                if seconds is not None:
                    times[server].append(seconds)
                print(f"  {name} {server} run {i + 1}: {seconds}", file=sys.stderr)
        px, dm = times["pxetui"], times["dnsmasq"]
        if px and dm:
            ratio = f"{statistics.median(px) / statistics.median(dm):.2f}"
        else:
            ratio = "n/a" if not scenario.reference else "-"
        ref = _fmt(dm) if scenario.reference else "n/a (needs HTTP)"
        rows.append((name, _fmt(px), ref, ratio))
    print("| scenario | pxetui | dnsmasq alone | ratio (pxetui / dnsmasq) |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(sys.argv[1:])))
