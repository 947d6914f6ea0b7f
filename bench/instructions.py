"""Instructions per TFTP block, counted by callgrind: the repeatable per-block cost.

Why: on a shared 2-core machine, seconds and even CPU seconds move with the neighbours' load;
the number of instructions a server executes per block does not (callgrind counts them in a
simulated CPU: the same binary and input give the same count whatever else runs). So this is
the number to watch while removing work from the per-block path. It counts **user-space
instructions only**: the kernel's share of a system call is not in it, so batching syscalls
(recvmmsg/sendmmsg) shows here only as fewer Python-level calls — the timed bench
(tftp_bench.py, server pinned) shows the rest.

    python3 bench/instructions.py                       # pxetui and dnsmasq, 1 and 10 clients
    python3 bench/instructions.py --clients 1,10,50 --servers pxetui

Each server runs under ``valgrind --tool=callgrind`` in the bench's server namespace; after
a warm-up transfer the counters are zeroed (``callgrind_control -z``), N clients fetch a
1 MiB file at blksize 1468, and the counters are dumped (``-d``). Instructions / blocks sent
is the figure; the idle cost in between (timers, the event loop) is included and small.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import clients
import servers
import toolchain
from matrix import MIB
from netns import Testbed, remove_stale_namespaces

SIZE = MIB
BLKSIZE = 1468
FILE = "i.bin"


def _under_callgrind(
    spec: servers.ServerSpec, out_dir: Path, tree: Path | None
) -> servers.ServerSpec:
    """*spec* run by callgrind; pxetui from *tree* (another checkout) if given."""
    env = (
        ["env", "PYTHONSAFEPATH=1", f"PYTHONPATH={tree}"] if tree and spec.name == "pxetui" else []
    )

    def argv(root: Path, workdir: Path) -> list[str]:
        command = spec.argv(root, workdir)
        # `env K=V prog …` (pxetui-pure): valgrind runs prog, with K=V set before it
        settings = ["env"] if command[0] == "env" and not env else []
        if command[0] == "env":
            command = command[1:]
            while "=" in command[0]:
                settings.append(command.pop(0))
        return [
            *env, *settings, "valgrind", "--tool=callgrind", "--trace-children=no",
            f"--callgrind-out-file={out_dir / spec.name}.%p.out", *command,
        ]  # fmt: skip

    return dataclasses.replace(spec, argv=argv)


def _control(flag: str, pid: int) -> None:
    subprocess.run(
        ["callgrind_control", flag, str(pid)], capture_output=True, timeout=120, check=False
    )


def _dumped_instructions(out_dir: Path, name: str) -> int:
    """Ir of the newest dump ("parts") of *name*: the counts since the last zeroing."""
    dumps = sorted(out_dir.glob(f"{name}.*.out.*"), key=lambda p: p.stat().st_mtime)
    if not dumps:
        return 0
    text = dumps[-1].read_text(errors="replace")
    m = re.search(r"^summary:\s+(\d+)", text, re.M) or re.search(r"^totals:\s+(\d+)", text, re.M)
    return int(m.group(1)) if m else 0


def measure(
    names: list[str], counts: list[int], tree: Path | None = None, keep: Path | None = None
) -> list[tuple[str, int, int, float]]:
    rows: list[tuple[str, int, int, float]] = []
    workdir = Path(tempfile.mkdtemp(prefix="pxb-ir-"))
    out_dir = keep or workdir / "callgrind"
    out_dir.mkdir(parents=True, exist_ok=True)
    root = workdir / "root"
    root.mkdir()
    for d in (workdir, root):
        d.chmod(0o755)
    clients.write_pattern_file(root / FILE, SIZE)
    toolchain.tftp_client()
    try:
        with Testbed() as bed:
            for name in names:
                spec = _under_callgrind(servers.BY_NAME[name], out_dir, tree)
                assert spec.tftp_port is not None
                srv = servers.start(spec, bed, root, workdir)
                try:
                    deadline = time.monotonic() + 120
                    while not clients.tftp_run(
                        bed, spec.tftp_port, FILE, SIZE, 1, BLKSIZE, 0, 60.0
                    ).ok:
                        if time.monotonic() > deadline or not srv.alive():
                            raise RuntimeError(f"{name} not ready: {srv.log_tail()}")
                        time.sleep(1)
                    pid = srv.pid  # ip netns exec and taskset exec: this is valgrind
                    for n in counts:
                        _control("-z", pid)
                        result = clients.tftp_run(
                            bed, spec.tftp_port, FILE, SIZE, n, BLKSIZE, 0, 300.0
                        )
                        _control("-d", pid)
                        time.sleep(0.5)
                        if not result.ok:
                            raise RuntimeError(f"{name} {n} clients failed: {result.detail}")
                        blocks = n * (SIZE // BLKSIZE + 1)
                        ir = _dumped_instructions(out_dir, name)
                        rows.append((name, n, ir, ir / blocks))
                        print(f"{name:8} {n:3} clients: {ir / blocks:10.0f} Ir/block", flush=True)
                finally:
                    srv.stop(timeout=20)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--servers", default="pxetui,dnsmasq")
    p.add_argument("--clients", default="1,10")
    p.add_argument(
        "--tree", type=Path, help="run pxetui from this checkout (e.g. `git worktree` of a base)"
    )
    p.add_argument("--keep", type=Path, help="keep the callgrind dumps here (callgrind_annotate)")
    args = p.parse_args(argv)
    if not shutil.which("valgrind") or not shutil.which("callgrind_control"):
        print("needs valgrind (apt-get install valgrind)", file=sys.stderr)
        return 2
    remove_stale_namespaces()
    counts = [int(c) for c in args.clients.split(",")]
    rows = measure(args.servers.split(","), counts, args.tree, args.keep)
    print("\n| server | clients | instructions (user space) | per block |")
    print("| --- | --- | --- | --- |")
    for name, n, ir, per in rows:
        print(f"| {name} | {n} | {ir:,} | {per:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
