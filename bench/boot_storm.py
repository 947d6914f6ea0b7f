"""Boot storm: N simulated PXE clients at once against pxetui and the setups people use instead.

What users feel when a rack powers on: the time until the **last** client has its initrd.
A client (bench/storm_client.py) does DHCP DISCOVER/REQUEST through the setup's DHCP server,
then fetches the loader over TFTP, its per-MAC config, a kernel and a 60 MiB initrd over the
protocol that setup's loader would use:

| setup | DHCP | loader | config, kernel, initrd |
| --- | --- | --- | --- |
| pxetui | pxetui's dnsmasq (``pxetui serve --dhcp full``) | pxetui TFTP | pxetui HTTP (iPXE/GRUB) |
| pxetui-tftp | the same | pxetui TFTP | pxetui TFTP (pxelinux) |
| dnsmasq | dnsmasq | dnsmasq TFTP | dnsmasq TFTP (pxelinux) |
| dnsmasq+nginx | dnsmasq | dnsmasq TFTP | nginx HTTP (netboot.xyz's shape) |
| tftpd-hpa+dnsmasq | dnsmasq (DHCP only) | tftpd-hpa | tftpd-hpa TFTP |

Every setup runs full DHCP on the same range with ``--no-ping``, as pxetui's dnsmasq does
(so the DHCP part is the same dnsmasq work: stock dnsmasq pings every address before offering
it and, measured here, then leased 1 of 20 clients in 11 s), stock settings otherwise,
servers pinned to core 0 and the clients (and their curls) to the others. Each run starts the
setup fresh (empty lease file), waits until it serves, then starts all N clients at once.
Setups are interleaved per repetition (order rotated), medians of the repetitions are
reported with min-max and the ratio peer ÷ pxetui (>1 = pxetui faster).
The real-VM boot ratios of bench/boot_timings.py's latest results file are appended.

    python3 bench/boot_storm.py --clients 1,20 --reps 3
    python3 bench/boot_storm.py --clients 100 --reps 1 --setups pxetui,dnsmasq+nginx

Needs root, curl, dnsmasq, nginx, tftpd-hpa (as bench/README.md). Result files:
bench/results/<UTC>-boot-storm.{md,json}.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from netns import CLIENT_VETH_IP, SERVER_VETH_IP, Testbed, remove_stale_namespaces

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
MIB = 1 << 20
FILES = {"loader.efi": 1 * MIB, "vmlinuz": 10 * MIB, "initrd.img": 60 * MIB}
FILE_NAMES = ("loader", "config", "kernel", "initrd")  # what each client fetches, in order
RANGE = ("10.253.0.100", "10.253.0.250")
SERVER = SERVER_VETH_IP


@dataclass(frozen=True)
class Setup:
    name: str
    argvs: Callable[[Path, Path, str], list[list[str]]]  # (root, workdir, iface) -> processes
    later: str  # protocol of config/kernel/initrd: "tftp" or "http"
    cpu_counted: bool = True  # False: its servers' CPU cannot be read from their processes


def _dnsmasq(root: Path, workdir: Path, iface: str, tftp: bool) -> list[str]:
    argv = [
        "dnsmasq", "--keep-in-foreground", "--port=0", "--conf-file=/dev/null",
        f"--interface={iface}", "--bind-interfaces", "--dhcp-authoritative",
        f"--dhcp-range={RANGE[0]},{RANGE[1]},255.255.255.0,1h",
        f"--dhcp-leasefile={workdir / 'leases'}", "--dhcp-boot=loader.efi",
        "--log-facility=-", "--quiet-dhcp", "--user=root", "--group=root",
        f"--pid-file={workdir / 'dnsmasq.pid'}", "--no-ping",
    ]  # fmt: skip
    if tftp:
        argv += ["--enable-tftp", f"--tftp-root={root}", "--tftp-max=500", "--quiet-tftp"]
    return argv


def _pxetui(root: Path, workdir: Path, iface: str) -> list[str]:
    return [
        sys.executable, "-m", "pxetui", "serve", "--root", str(root), "--bind", SERVER,
        "--tftp-port", "69", "--http-port", "80", "--dhcp", "full", "--interface", iface,
        "--range", ",".join(RANGE), "--state-dir", str(workdir / "st"),
    ]  # fmt: skip


def _tftpd_hpa(root: Path) -> list[str]:
    return ["in.tftpd", "--foreground", "--listen", "--address", f"{SERVER}:69", "--secure",
            str(root)]  # fmt: skip


def _nginx(root: Path, workdir: Path) -> list[str]:
    conf = workdir / "nginx.conf"
    conf.write_text(
        f"daemon off;\nworker_processes auto;\npid {workdir}/nginx.pid;\n"
        f"error_log {workdir}/nginx-error.log warn;\nevents {{ worker_connections 1024; }}\n"
        "http {\n access_log off;\n sendfile on;\n tcp_nopush on;\n"
        f" default_type application/octet-stream;\n client_body_temp_path {workdir}/nb;\n"
        f" server {{ listen {SERVER}:80; root {root}; }}\n}}\n"
    )
    return ["nginx", "-e", str(workdir / "nginx-error.log"), "-p", str(workdir), "-c", str(conf)]


SETUPS = {
    "pxetui": Setup("pxetui", lambda root, wd, iface: [_pxetui(root, wd, iface)], "http"),
    "pxetui-tftp": Setup("pxetui-tftp", lambda root, wd, iface: [_pxetui(root, wd, iface)], "tftp"),
    "dnsmasq": Setup(
        "dnsmasq", lambda root, wd, iface: [_dnsmasq(root, wd, iface, tftp=True)], "tftp"
    ),
    "dnsmasq+nginx": Setup(
        "dnsmasq+nginx",
        lambda root, wd, iface: [_dnsmasq(root, wd, iface, tftp=True), _nginx(root, wd)],
        "http",
    ),
    "tftpd-hpa+dnsmasq": Setup(
        "tftpd-hpa+dnsmasq",
        lambda root, wd, iface: [_dnsmasq(root, wd, iface, tftp=False), _tftpd_hpa(root)],
        "tftp",
        cpu_counted=False,  # a child per transfer, reaped without a wait: its time is lost
    ),
}


def _macs(n: int) -> list[str]:
    return [f"02:50:46:00:{i >> 8:02x}:{i & 0xFF:02x}" for i in range(1, n + 1)]


def _prepare_root(workdir: Path, macs: list[str]) -> tuple[Path, int]:
    root = workdir / "root"
    (root / "cfg").mkdir(parents=True)
    for d in (workdir, root, root / "cfg"):
        d.chmod(0o755)
    for name, size in FILES.items():
        with (root / name).open("wb") as out:
            block = os.urandom(MIB)
            for _ in range(size // MIB):
                out.write(block)
        (root / name).chmod(0o644)
    cfg_size = 0
    for mac in macs:
        text = f"# {mac}\nkernel vmlinuz\ninitrd initrd.img\nboot\n".encode()
        path = root / "cfg" / ("01-" + mac.replace(":", "-"))
        path.write_bytes(text)
        path.chmod(0o644)
        cfg_size = len(text)
    return root, cfg_size


def _urls(setup: Setup) -> list[str]:
    later = f"http://{SERVER}:80" if setup.later == "http" else f"tftp://{SERVER}"
    return [
        f"tftp://{SERVER}/loader.efi",
        f"{later}/cfg/{{mac}}",
        f"{later}/vmlinuz",
        f"{later}/initrd.img",
    ]


def _start(bed: Testbed, setup: Setup, root: Path, workdir: Path) -> list[subprocess.Popen[bytes]]:
    procs = []
    for i, argv in enumerate(setup.argvs(root, workdir, bed.server_veth)):
        log = (workdir / f"{setup.name}-{i}.log").open("wb")
        procs.append(
            subprocess.Popen(
                bed.in_ns(bed.server_ns, argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=REPO,
            )
        )
    return procs


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        for sig in (15, 9):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=10)
                break
            except subprocess.TimeoutExpired:
                continue


def _ready(bed: Testbed, setup: Setup, timeout: float = 60.0) -> bool:
    """The setup serves its first and last URL (a small file) from the client side."""
    probe = [u.replace("{mac}", "01-02-50-46-00-00-01") for u in _urls(setup)[:2]]
    argv = ["curl", "-sS", "--fail", "--max-time", "3", "--tftp-blksize", "1468"]
    for url in probe:
        argv += ["-o", "/dev/null", url]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = subprocess.run(bed.in_ns(bed.client_ns, argv), capture_output=True, timeout=30)
        if r.returncode == 0:
            return True
        time.sleep(0.5)
    return False


def _cores() -> dict[str, list[int]]:
    """/proc/stat's per-core jiffies: user nice system idle iowait irq softirq steal."""
    out = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *vals = line.split()
        if name.startswith("cpu") and name != "cpu":
            out[name] = [int(v) for v in vals[:8]]
    return out


def _busy(before: dict[str, list[int]], after: dict[str, list[int]]) -> dict[str, list[float]]:
    """Per core over the interval: [busy, of it softirq] as fractions of the core's time."""
    out = {}
    for name, b in before.items():
        d = [x - y for x, y in zip(after[name], b, strict=True)]
        total = sum(d) or 1
        out[name] = [round(1 - (d[3] + d[4]) / total, 3), round(d[6] / total, 3)]
    return out


def _server_cpu(procs: list[subprocess.Popen[bytes]]) -> float:
    """User + system CPU seconds of the setup's servers (each process tree, reaped children
    included) so far."""
    total = 0.0
    for proc in procs:
        try:
            root = psutil.Process(proc.pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for p in tree:
            try:
                t = p.cpu_times()
            except psutil.NoSuchProcess:
                continue
            # a child that exited was reaped by its parent: its time is the parent's
            # children_* (tftpd-hpa forks a child per transfer)
            total += t.user + t.system + t.children_user + t.children_system
    return total


def _run_storm(
    bed: Testbed,
    setup: Setup,
    macs: list[str],
    cfg_size: int,
    deadline: float,
    procs: list[subprocess.Popen[bytes]],
) -> dict[str, Any]:
    sizes = [FILES["loader.efi"], cfg_size, FILES["vmlinuz"], FILES["initrd.img"]]
    argv = [
        sys.executable, str(HERE / "storm_client.py"), "--iface", bed.client_veth,
        "--macs", ",".join(macs), "--urls", ",".join(_urls(setup)),
        "--sizes", ",".join(map(str, sizes)), "--deadline", str(deadline),
    ]  # fmt: skip
    cpu0, cores0 = _server_cpu(procs), _cores()
    r = subprocess.run(
        bed.in_ns(bed.client_ns, argv), capture_output=True, text=True, timeout=deadline + 60
    )
    cpu1, cores1 = _server_cpu(procs), _cores()
    try:
        out: dict[str, Any] = json.loads(r.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"ok": False, "detail": f"client: {r.stderr[-300:]}", "clients": []}
    done = [c for c in out["clients"] if c["ok"]]
    out["ok"] = len(done) == len(macs)
    if setup.cpu_counted:
        out["server_cpu_s"] = round(cpu1 - cpu0, 3)
    out["cores"] = _busy(cores0, cores1)
    out["last_s"] = max((c["done_s"] for c in done), default=0.0)
    out["median_s"] = statistics.median(c["done_s"] for c in done) if done else 0.0
    out["lease_last_s"] = max((c["leased_s"] for c in done), default=0.0)
    # The file-serving part alone: from each client's lease to its initrd.
    out["after_lease_last_s"] = max((c["done_s"] - c["leased_s"] for c in done), default=0.0)
    # Where the time went: per file, the median client's time and the slowest client's.
    out["files"] = {
        name: (statistics.median(ts), max(ts))
        for i, name in enumerate(FILE_NAMES)
        if (ts := [c["files_s"][i] for c in done if len(c.get("files_s", ())) > i])
    }
    bad = [c for c in out["clients"] if not c["ok"]]
    out["detail"] = f"{len(bad)} failed: {bad[0]['detail']}" if bad else ""
    # Leased addresses were added to the client side; remove them for the next setup.
    flush = ["ip", "addr", "flush", "dev", bed.client_veth, "scope", "global"]
    subprocess.run(bed.in_ns(bed.client_ns, flush), capture_output=True, timeout=30)
    subprocess.run(
        bed.in_ns(
            bed.client_ns,
            ["ip", "addr", "add", f"{CLIENT_VETH_IP}/24", "dev", bed.client_veth],
        ),
        capture_output=True,
        timeout=30,
    )
    return out


def _fmt(xs: list[float]) -> str:
    return f"{statistics.median(xs):.2f} s ({min(xs):.2f}-{max(xs):.2f})" if xs else "—"


def report(results: dict[tuple[int, str], list[dict[str, Any]]], setups: list[str]) -> str:
    lines = [
        "| clients | setup | last client has its initrd | median client | last lease | "
        "slowest lease → initrd | peer ÷ pxetui (last) | peer ÷ pxetui (lease → initrd) | "
        "peer ÷ pxetui, same protocols (last) | failed runs |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for n in sorted({k[0] for k in results}):
        ref = [r for r in results.get((n, "pxetui"), []) if r["ok"]]
        ref_last = statistics.median(r["last_s"] for r in ref) if ref else None
        ref_after = statistics.median(r["after_lease_last_s"] for r in ref) if ref else None
        same_ref: dict[str, float | None] = {}
        for proto, ref_name in (("http", "pxetui"), ("tftp", "pxetui-tftp")):
            ok_ref = [r for r in results.get((n, ref_name), []) if r["ok"]]
            same_ref[proto] = statistics.median(r["last_s"] for r in ok_ref) if ok_ref else None
        for name in setups:
            runs = results.get((n, name), [])
            ok = [r for r in runs if r["ok"]]
            last = [r["last_s"] for r in ok]
            med = [r["median_s"] for r in ok]
            lease = [r["lease_last_s"] for r in ok]
            after = [r["after_lease_last_s"] for r in ok]
            r1 = f"{statistics.median(last) / ref_last:.2f}x" if ok and ref_last else "—"
            r2 = f"{statistics.median(after) / ref_after:.2f}x" if ok and ref_after else "—"
            ref_same = same_ref[SETUPS[name].later]
            r3 = f"{statistics.median(last) / ref_same:.2f}x" if ok and ref_same else "—"
            fails = len(runs) - len(ok)
            why = next((r["detail"] for r in runs if not r["ok"]), "")
            lines.append(
                f"| {n} | {name} | {_fmt(last)} | {_fmt(med)} | {_fmt(lease)} | {_fmt(after)} | "
                f"{r1} | {r2} | {r3} | "
                f"{fails}/{len(runs)}{' ' + why[:80] if why else ''} |"
            )
    return "\n".join(lines)


def file_report(results: dict[tuple[int, str], list[dict[str, Any]]], setups: list[str]) -> str:
    """Per file, the median over runs of the median and the slowest client's time; the
    servers' CPU seconds and how busy each core was (of it softirq) during the storm."""
    lines = [
        "| clients | setup | "
        + " | ".join(f"{f}: median / slowest" for f in FILE_NAMES)
        + " | server CPU | cores busy (softirq) |",
        "| --- | --- |" + " --- |" * (len(FILE_NAMES) + 2),
    ]
    for n in sorted({k[0] for k in results}):
        for name in setups:
            ok = [r for r in results.get((n, name), []) if r["ok"] and r.get("files")]
            if not ok:
                continue
            cells = []
            for f in FILE_NAMES:
                med = [r["files"][f][0] for r in ok if f in r["files"]]
                worst = [r["files"][f][1] for r in ok if f in r["files"]]
                cells.append(
                    f"{statistics.median(med):.3f} / {statistics.median(worst):.3f} s"
                    if med
                    else "—"
                )
            cpu = [r["server_cpu_s"] for r in ok if "server_cpu_s" in r]
            cells.append(f"{statistics.median(cpu):.2f} s" if cpu else "—")
            cores = sorted({c for r in ok for c in r.get("cores", {})})
            cells.append(
                ", ".join(
                    f"{c} {statistics.median(r['cores'][c][0] for r in ok) * 100:.0f}% "
                    f"({statistics.median(r['cores'][c][1] for r in ok) * 100:.0f}%)"
                    for c in cores
                )
                or "—"
            )
            lines.append(f"| {n} | {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def vm_boot_ratios() -> str:
    """The newest bench/boot_timings.py result table (real QEMU firmware boots)."""
    files = sorted(RESULTS.glob("*-boot-timings.md"))
    if not files:
        return "(no bench/boot_timings.py results file yet)"
    text = files[-1].read_text()
    first: list[str] = []  # the file's first table: boot and net, pxetui vs dnsmasq alone
    for ln in text.splitlines():
        if ln.startswith("|"):
            first.append(ln)
        elif first:
            break
    return f"From `{files[-1].relative_to(REPO)}` (ratio = pxetui ÷ dnsmasq alone, <1 = pxetui " + (
        "faster):\n\n" + "\n".join(first)
    )


def _on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # unwinds through every `finally`: servers and namespaces go


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _on_sigterm)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--clients", default="1,20", help="comma-separated client counts")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--setups", default=",".join(SETUPS))
    p.add_argument("--deadline", type=float, default=240.0, help="seconds per storm")
    p.add_argument("--no-save", action="store_true")
    p.add_argument("--rerender", type=Path, help="print the table again from a saved .json")
    args = p.parse_args(argv)
    if args.rerender:
        raw = json.loads(args.rerender.read_text())
        loaded = {(int(k.split()[0]), k.split()[1]): v for k, v in raw.items()}
        shown = [s for s in SETUPS if any(k[1] == s for k in loaded)]
        print(report(loaded, shown) + "\n\n" + file_report(loaded, shown))
        return 0
    if os.geteuid() != 0:
        print("needs root (network namespaces)", file=sys.stderr)
        return 2
    missing = [t for t in ("curl", "dnsmasq", "nginx", "in.tftpd") if not shutil.which(t)]
    if missing:
        print(f"missing: {', '.join(missing)}", file=sys.stderr)
        return 2
    names = args.setups.split(",")
    counts = [int(c) for c in args.clients.split(",")]
    remove_stale_namespaces()
    workdir = Path(tempfile.mkdtemp(prefix="pxb-storm-"))
    results: dict[tuple[int, str], list[dict[str, Any]]] = {}
    started = time.monotonic()
    load = os.getloadavg()
    try:
        macs_all = _macs(max(counts))
        root, cfg_size = _prepare_root(workdir, macs_all)
        with Testbed() as bed:
            pinning = bed.pinning()
            for n in counts:
                macs = macs_all[:n]
                for rep in range(args.reps):
                    order = names[rep % len(names) :] + names[: rep % len(names)]
                    for name in order:
                        setup = SETUPS[name]
                        run_dir = workdir / f"{name}-{n}-{rep}"
                        run_dir.mkdir()
                        procs = _start(bed, setup, root, run_dir)
                        try:
                            if not _ready(bed, setup):
                                logs = " / ".join(
                                    f.read_text(errors="replace")[-200:]
                                    for f in run_dir.glob("*.log")
                                )
                                out: dict[str, Any] = {"ok": False, "detail": "not ready: " + logs}
                            else:
                                out = _run_storm(bed, setup, macs, cfg_size, args.deadline, procs)
                        finally:
                            _stop(procs)
                        results.setdefault((n, name), []).append(out)
                        status = "ok" if out["ok"] else f"FAILED {out.get('detail', '')[:200]}"
                        print(
                            f"{n:3} clients rep {rep + 1}/{args.reps} {name:18} "
                            f"last {out.get('last_s', 0):7.2f} s  {status}",
                            file=sys.stderr,
                            flush=True,
                        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO
    ).stdout.strip()
    cmd = "python3 bench/boot_storm.py " + " ".join(argv if argv is not None else sys.argv[1:])
    now = dt.datetime.now(dt.UTC)
    md = "\n".join(
        [
            "# Boot storm",
            "",
            f"- command: `{cmd.strip()}`",
            f"- date: {now:%Y-%m-%d %H:%M} UTC, commit {commit}, {args.reps} reps per setup "
            f"(setups interleaved, order rotated), {time.monotonic() - started:.0f} s in total",
            f"- machine: {os.cpu_count()} cores, shared and noisy (load {load[0]:.1f} before, "
            f"{os.getloadavg()[0]:.1f} after); {pinning}",
            "- a client: DHCP DISCOVER/REQUEST, loader 1 MiB over TFTP, per-MAC config, "
            "kernel 10 MiB, initrd 60 MiB (TFTP blksize 1468, or HTTP per the setup)",
            "- peer ÷ pxetui: the peer's median over pxetui's (>1 = pxetui faster); 'same "
            "protocols' compares with pxetui-tftp for the all-TFTP setups; "
            "'lease → initrd' leaves DHCP out; every dnsmasq runs with --no-ping, as pxetui's "
            "(stock dnsmasq pings each address first: 1 of 20 clients leased in 11 s)",
            "",
            report(results, names),
            "",
            "Where the time went — each file's transfer time as curl measured it (the median "
            "client's and the slowest client's), the servers' CPU seconds (every process of "
            "the setup) and each core's busy share during the storm; medians over the runs:",
            "",
            file_report(results, names),
            "",
            "## Real VM boots (bench/boot_timings.py)",
            "",
            vm_boot_ratios(),
            "",
        ]
    )
    print(md)
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        base = RESULTS / f"{now:%Y%m%dT%H%M%SZ}-boot-storm"  # seconds: two runs a minute apart
        base.with_suffix(".md").write_text(md)
        raw = {f"{n} {name}": runs for (n, name), runs in results.items()}
        base.with_suffix(".json").write_text(json.dumps(raw, indent=1) + "\n")
        print(f"saved {base}.md and .json", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
