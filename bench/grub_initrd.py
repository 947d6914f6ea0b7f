"""A big initrd under GRUB: over GRUB's TFTP vs over its HTTP (``(http,server:port)/…``).

OVMF (TCG), full DHCP, the lab's 40 MB initrd (``big-initrd``), three ways:

* ``grub-http``: ``loader: grub``, Secure Boot off, the entry's kernel and initrd given as
  ``http://`` URLs of pxetui's own HTTP: GRUB loads ``grub/x86_64-efi/http.mod`` (installed
  by pxetui from grub-efi-amd64-bin) and fetches them with ``(http,server:port)/…``;
* ``grub-tftp``: the same GRUB and files under pxetui's root: ``(tftp,server)/…``;
* ``shim-tftp``: ``loader: shim`` with Secure Boot on: Debian's signed GRUB may not load
  http.mod, so the kernel and initrd come over TFTP — what a Secure Boot site gets.

Per run: the initrd's transfer time as the engine recorded it (first byte to last ACK or
last byte) and the whole boot (QEMU start -> the guest's marker, host clock). Run as root:

    python3 bench/grub_initrd.py [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pxetui.lab.boot_run import boot_vm, start_pxetui_for
from pxetui.lab.netns import create_lab_network, remove_stale
from pxetui.lab.scenarios import SECURE_BOOT_SCENARIOS, Scenario
from pxetui.lab.tree import build_guest_files

PREFIX = "pxsb-bn-"
INITRD = "lab/initrd-amd64-40m.gz"
OURS = "http://10.250.77.1:8080"
BY_URL = {
    "kind": "linux",
    "arch": "x86",
    "kernel": f"{OURS}/lab/vmlinuz-amd64",
    "initrds": [f"{OURS}/{INITRD}"],
    "args": "console=ttyS0,115200 panic=-1 quiet pxetui.entry={entry}",
}


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
        "grub-tftp": replace(
            base, name="grub-tftp", secure_boot=False, overrides={"loader": "grub"}
        ),
        "shim-tftp": replace(base, name="shim-tftp", overrides={"loader": "shim"}),
    }


async def _one(scenario: Scenario, workdir: Path) -> tuple[float, float, str]:
    net = create_lab_network(PREFIX, router=False)
    run = None
    try:
        run = start_pxetui_for(scenario, net, workdir)
        result = await boot_vm(scenario, net, workdir)
        if result.outcome != "expected" or result.seconds is None:
            raise RuntimeError(f"{scenario.name}: {result.outcome}\n{result.tail()}")
        done = [e for e in run.transfers() if e.get("filename", "").lstrip("/") == INITRD]
        if not done:
            raise RuntimeError(f"{scenario.name}: no finished transfer of {INITRD}")
        return float(done[-1]["seconds"]), result.seconds, str(done[-1]["proto"])
    finally:
        if run is not None:
            run.stop()
        net.teardown()


async def main(runs: int) -> None:
    remove_stale(PREFIX)
    build_guest_files("amd64")
    rows: dict[str, list[tuple[float, float, str]]] = {}
    with tempfile.TemporaryDirectory(prefix="pxetui-grub-bench-") as tmp:
        for n in range(runs):
            for name, scenario in _scenarios().items():
                got = await _one(scenario, Path(tmp) / f"{name}-{n}")
                rows.setdefault(name, []).append(got)
                print(
                    f"{name} run {n + 1}: initrd {got[0]:.2f} s over {got[2]}, boot {got[1]:.1f} s"
                )
    print("\n| way | initrd (40 MB) | whole boot |\n|---|---|---|")
    for name, got in rows.items():
        xfer = statistics.median(g[0] for g in got)
        boot = statistics.median(g[1] for g in got)
        print(f"| {name} ({got[0][2]}) | {xfer:.2f} s | {boot:.1f} s |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    asyncio.run(main(parser.parse_args().runs))
