"""How long the profile → boot files path takes for a big lab (no network, no root).

Measures, for a generated profile with N hosts: loading and validating the YAML, rendering
every host and the defaults, and writing everything through the atomic store (each file
fsynced, as the engine does). Run: ``python3 bench/render_bench.py [--hosts 500]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from ipaddress import IPv4Address
from pathlib import Path

from pxetui.core.profile import load_profile_text
from pxetui.core.render import RenderContext, render_defaults, render_host
from pxetui.engine.bootfiles import BootFileStore

ENTRIES = """\
entries:
  centos8: {kind: centos, kernel: c8/vmlinuz, initrds: [c8/initrd.img], repo: c8/os,
            kickstart: "ks/{hostname}.cfg"}
  live: {kind: live, kernel: live/vmlinuz, initrds: [live/initrd.img], image: live/sq.img}
  s390: {kind: linux, arch: s390x, kernel: s/vmlinuz, initrds: [s/initrd.gz]}
  menu: {kind: menu, items: [centos8, live, local], default: live, timeout: 5}
unknown: menu
"""


def _profile_text(hosts: int) -> str:
    lines = [ENTRIES, "hosts:"]
    kinds = ["centos8", "live", "menu"]
    for i in range(hosts):
        mac = f"52:54:00:{(i >> 16) & 255:02x}:{(i >> 8) & 255:02x}:{i & 255:02x}"
        if i % 10 == 9:
            lines.append(f"  {mac}: {{entry: s390, arch: s390x}}")
        else:
            lines.append(f"  {mac}: {{entry: {kinds[i % 3]}, hostname: node{i}}}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, default=500)
    args = parser.parse_args()
    text = _profile_text(args.hosts)
    t0 = time.perf_counter()
    profile = load_profile_text(text, "bench.yaml", base_dir=Path("/srv"))
    t1 = time.perf_counter()
    ctx = RenderContext(server=IPv4Address("10.250.77.1"), http_base="http://10.250.77.1:8080")
    sets = {mac: render_host(profile, ctx, mac) for mac in profile.hosts}
    defaults = render_defaults(profile, ctx)
    t2 = time.perf_counter()
    with tempfile.TemporaryDirectory() as root:
        store = BootFileStore(Path(root))
        store.write_defaults(defaults)
        for mac, files in sets.items():
            store.apply(mac, files)
        t3 = time.perf_counter()
        for mac, files in sets.items():  # an engine restart: the same sets again
            store.apply(mac, files)
        t4 = time.perf_counter()
    count = sum(len(f) for f in sets.values()) + len(defaults)
    print(f"hosts={args.hosts} files={count}")
    print(f"load+validate  {1000 * (t1 - t0):8.1f} ms")
    print(
        f"render all     {1000 * (t2 - t1):8.1f} ms  ({1e6 * (t2 - t1) / args.hosts:.0f} us/host)"
    )
    print(f"store (fsync)  {1000 * (t3 - t2):8.1f} ms  ({1e3 * (t3 - t2) / count:.2f} ms/file)")
    print(f"store again    {1000 * (t4 - t3):8.1f} ms  (unchanged files are not rewritten)")


if __name__ == "__main__":
    main()
