"""pxetui's TFTP and HTTP servers side by side with tftpd-hpa, dnsmasq, atftpd, tftpy and nginx.

Run as root: ``sudo python3 bench/tftp_bench.py --quick`` (see bench/README.md). Builds a
private two-namespace network, starts every server once, then for each repetition runs every
scenario against every server, rotating the server order per repetition so a noisy neighbour
hits all servers alike. Prints a Markdown table (median, MiB/s, min-max, ratio to tftpd-hpa /
nginx, server CPU) and saves it with the raw runs under bench/results/.

Cleanup: namespaces (and everything in them), servers and the relay are removed on normal exit,
on failure, on Ctrl-C and on SIGTERM; a later run also deletes namespaces left by a SIGKILLed
one.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import functools
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import Any

import clients
import matrix
import profiling
import report
import servers
import toolchain
from netns import Testbed, remove_stale_namespaces
from relay import PathSwitch

RESULTS = Path(__file__).resolve().parent / "results"
PROBE = ("probe.bin", 4096)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="the four targets (default)")
    size.add_argument("--full", action="store_true", help="every combination (long)")
    size.add_argument("--smoke", action="store_true", help="tiny runs that prove the harness")
    p.add_argument("--reps", type=int, help="repetitions (default: 3 quick, 5 full, 1 smoke)")
    p.add_argument("--servers", help="comma-separated subset of: " + ",".join(servers.BY_NAME))
    p.add_argument("--only", choices=("tftp", "http"), help="run only one protocol")
    p.add_argument(
        "--match", action="append", default=[], help="keep scenarios whose label has this text"
    )
    p.add_argument(
        "--exclude", action="append", default=[], help="drop scenarios whose label has this text"
    )
    p.add_argument("--deadline", type=float, help="seconds before a run counts as failed")
    p.add_argument("--results-dir", type=Path, default=RESULTS, help="where to save (md+json)")
    p.add_argument("--no-save", action="store_true", help="print the table only")
    p.add_argument("--json", action="store_true", help="also print the raw results as JSON")
    p.add_argument(
        "--pxetui-args",
        default="",
        help="extra arguments for `pxetui serve`, e.g. '--tftp-workers 1' (named in the table)",
    )
    p.add_argument(
        "--no-pin",
        action="store_true",
        help="do not pin the servers to core 0 and the clients to the others",
    )
    p.add_argument(
        "--py-spy",
        action="store_true",
        help="after the reps, one extra (unmeasured) pxetui run per scenario under py-spy",
    )
    args = p.parse_args(argv)
    unknown = set(args.servers.split(",")) - set(servers.BY_NAME) if args.servers else set()
    if unknown:
        p.error(
            f"unknown server(s) {', '.join(sorted(unknown))}; known: {', '.join(servers.BY_NAME)}"
        )
    return args


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds through every `finally`, like Ctrl-C


def _prepare_root(workdir: Path, scenarios: list[matrix.Scenario]) -> Path:
    root = workdir / "root"
    root.mkdir()
    for d in (workdir, root):
        d.chmod(0o755)  # the servers drop to nobody; they must traverse and read
    for name in sorted({s.file for s in scenarios}):
        clients.write_pattern_file(root / name, matrix.FILES[name])
    clients.write_pattern_file(root / PROBE[0], PROBE[1])
    return root


def _probe(bed: Testbed, spec: servers.ServerSpec) -> bool:
    ok = True
    if spec.tftp_port is not None:
        ok = clients.tftp_probe(bed, spec.tftp_port, *PROBE)
    if ok and spec.http_port is not None:
        ok = clients.http_probe(bed, spec.http_port, *PROBE)
    return ok


def _run_one(
    bed: Testbed, spec: servers.ServerSpec, sc: matrix.Scenario, deadline: float
) -> clients.RunResult:
    if sc.protocol == "tftp":
        assert spec.tftp_port is not None
        return clients.tftp_run(
            bed, spec.tftp_port, sc.file, sc.size, sc.clients, sc.blksize, sc.windowsize, deadline
        )
    assert spec.http_port is not None
    return clients.http_run(bed, spec.http_port, sc.file, sc.size, sc.clients, deadline)


def _check_relay(
    sc: matrix.Scenario, result: clients.RunResult, counters: dict[str, Any]
) -> clients.RunResult:
    """Fail a run whose ACKs did not cross the relay: its delay or loss never applied."""
    blocks = sc.size // (sc.blksize or 512) + 1
    # At least one ACK per window of at most 16 blocks, per client (windowsize 1: per block).
    least = sc.clients * blocks // max(sc.windowsize or 1, 1)
    crossed = int(counters.get("forwarded_c2s", 0)) + int(counters.get("dropped_acks", 0))
    if crossed >= 0.9 * least:
        return result
    detail = f"only {crossed} client packets crossed the relay, expected >= {least}"
    return dataclasses.replace(result, ok=False, detail=detail)


def _measure(
    bed: Testbed,
    path: PathSwitch,
    srv: servers.RunningServer,
    sc: matrix.Scenario,
    deadline: float,
    cell: report.Cell,
    tag: str,
) -> None:
    """One run of one server in one scenario, appended to its cell (with its CPU time).

    A server that already missed the deadline in this scenario is not run again: its result
    is "slower than the deadline" either way, and re-running it would only burn minutes.
    """
    if cell.missed_deadline:
        return
    if not srv.alive():
        detail = "server died: " + srv.log_tail(2)
        cell.runs.append(clients.RunResult(False, 0, 0, sc.clients, sc.clients, 0, detail))
        return
    cpu0, wait0 = srv.cpu_seconds(), srv.wait_seconds()
    path.begin_run()
    result = _run_one(bed, srv.spec, sc, deadline)
    cell.cpu_seconds.append(srv.cpu_seconds() - cpu0)
    cell.wait_seconds.append(srv.wait_seconds() - wait0)
    counters = path.end_run(sc.label, srv.spec.name)
    if counters and result.ok:
        result = _check_relay(sc, result, counters)
    cell.runs.append(result)
    status = "ok" if result.ok else f"FAILED {result.detail}"
    print(f"{tag} {result.seconds:8.3f}s {status}", file=sys.stderr, flush=True)


def _profile(
    bed: Testbed,
    srv: servers.RunningServer,
    sc: matrix.Scenario,
    deadline: float,
    workdir: Path,
) -> list[tuple[str, float]]:
    """Where pxetui spends its time in this scenario: py-spy's top self-time functions."""
    out = workdir / "py-spy.txt"
    with profiling.PySpy(srv.pid, out):
        _run_one(bed, srv.spec, sc, deadline)
    return profiling.top_self(out)


def _serves(spec: servers.ServerSpec, sc: matrix.Scenario) -> bool:
    return (spec.tftp_port if sc.protocol == "tftp" else spec.http_port) is not None


def run_bench(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """Build the net, start the servers, run the matrix; always tear everything down."""
    if args.full:
        mode, scenarios, reps, deadline = "full", matrix.full(), 5, 180.0
    elif args.smoke:
        mode, scenarios, reps, deadline = "smoke", matrix.smoke(), 1, 20.0
    else:
        mode, scenarios, reps, deadline = "quick", matrix.quick(), 3, 15.0
    reps = args.reps or reps
    deadline = args.deadline or deadline
    if args.only:
        scenarios = [s for s in scenarios if s.protocol == args.only]
    scenarios = [s for s in scenarios if all(m in s.label for m in args.match)]
    scenarios = [s for s in scenarios if not any(x in s.label for x in args.exclude)]
    names = args.servers.split(",") if args.servers else list(servers.BY_NAME)
    notes: list[str] = []
    if "pxetui" in names and not servers.pxetui_serve_available():
        names.remove("pxetui")
        notes.append("pxetui skipped: `python -m pxetui serve --help` is not available yet")
    specs = [servers.BY_NAME[n] for n in names]
    extra = shlex.split(args.pxetui_args)
    specs = [servers.with_extra_args(s, extra) if s is servers.PXETUI else s for s in specs]
    scenarios = [s for s in scenarios if any(_serves(sp, s) for sp in specs)]
    for stale in remove_stale_namespaces() + servers.remove_stale_cgroups():
        notes.append(f"removed stale namespace/cgroup {stale}")
    toolchain.tftp_client()
    toolchain.relay()
    workdir = Path(tempfile.mkdtemp(prefix="pxb-"))
    running: dict[str, servers.RunningServer] = {}
    cells: dict[tuple[str, str], report.Cell] = {}
    profiles: dict[str, list[tuple[str, float]]] = {}
    path: PathSwitch | None = None
    started = time.monotonic()
    load_before = os.getloadavg()
    try:
        root = _prepare_root(workdir, scenarios)
        with Testbed(pin=not args.no_pin) as bed:
            notes.append(bed.pinning())
            try:
                for spec in specs:
                    running[spec.name] = srv = servers.start(spec, bed, root, workdir)
                    try:
                        servers.wait_ready(srv, functools.partial(_probe, bed, spec))
                    except RuntimeError as exc:  # one broken server must not sink the run
                        notes.append(f"{spec.name} skipped: {exc}".replace("\n", " / "))
                        running.pop(spec.name).stop()
                specs = [sp for sp in specs if sp.name in running]
                path = PathSwitch(bed)
                for rep in range(reps):
                    for sc in scenarios:
                        path.apply(sc.label, sc.delay_us, sc.drop_every)
                        order = [sp for sp in specs if _serves(sp, sc)]
                        shift = rep % len(order)
                        for spec in order[shift:] + order[:shift]:
                            cell = cells.setdefault((sc.label, spec.name), report.Cell())
                            tag = f"rep {rep + 1}/{reps} {sc.label:38} {spec.name:10}"
                            _measure(bed, path, running[spec.name], sc, deadline, cell, tag)
                pxetui = next((s for n, s in running.items() if n.startswith("pxetui")), None)
                if args.py_spy and pxetui is not None:
                    for sc in scenarios:
                        path.apply(sc.label, sc.delay_us, sc.drop_every)
                        path.begin_run()
                        profiles[sc.label] = _profile(bed, pxetui, sc, deadline, workdir)
                        path.stop()
                path.close()
            finally:
                if path is not None:
                    path.stop()
                for srv in running.values():
                    srv.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.monotonic() - started
    server_names = [sp.name for sp in specs]
    md = (
        report.table(scenarios, server_names, cells)
        + "\n"
        + report.targets_section(cells, scenarios)
    )
    raw = {
        "mode": mode,
        "reps": reps,
        "deadline_s": deadline,
        "elapsed_s": round(elapsed, 1),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "notes": notes,
        "relay": path.counters if path else [],
        "rtt": path.rtts if path else [],
        "py_spy": profiles,
        "scenarios": [dataclasses.asdict(s) | {"label": s.label} for s in scenarios],
        "cells": [
            {
                "scenario": lab,
                "server": srv_name,
                "cpu_seconds": c.cpu_seconds,
                "wait_seconds": c.wait_seconds,
                "runs": [dataclasses.asdict(r) for r in c.runs],
            }
            for (lab, srv_name), c in cells.items()
        ],
    }
    return md, raw


def _header(argv: list[str], raw: dict[str, Any]) -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent,
        timeout=10,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "pxetui"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        timeout=10,
    ).stdout.strip()
    if dirty:
        commit += " + uncommitted changes in pxetui/ (measured as on disk)"
    cmd = "sudo python3 bench/tftp_bench.py " + " ".join(shlex.quote(a) for a in argv)
    lines = [
        f"- command: `{cmd.strip()}`",
        f"- date: {now}, commit {commit or '?'}, {raw['mode']} matrix, {raw['reps']} reps "
        f"(servers interleaved, order rotated per rep), {raw['elapsed_s']} s in total",
        f"- machine: {os.cpu_count()} cores, Linux {platform.release()}, **shared with other "
        "jobs and noisy**: compare medians and ratios, not absolute numbers; load average "
        f"(1/5/15 min) {raw['loadavg_before']} before, {raw['loadavg_after']} after",
        "- ratio = reference median / server median (>1 = faster than tftpd-hpa / nginx); "
        "pxetui ÷ this = this server's median / pxetui's (>1 = pxetui faster); "
        "MiB/s = clients x file size / median; server CPU = median user+sys seconds per run, "
        "CPU µs/block = that over the blocks sent (HTTP: per MiB); run-queue wait = seconds "
        "the server's threads were runnable but not running (schedstat): the neighbours' share",
    ]
    lines += [f"- note: {n}" for n in raw["notes"]]
    for rtt in raw["rtt"]:
        lines.append(
            f"- UDP RTT client->server, {rtt['scenario']}: median {rtt.get('rtt_ms_median')} ms "
            f"(min {rtt.get('rtt_ms_min')}, max {rtt.get('rtt_ms_max')})"
        )
    seen: dict[str, list[int]] = {}
    for c in raw["relay"]:
        total = seen.setdefault(c["scenario"], [0, 0, 0])
        total[0] += 1
        total[1] += int(c.get("acks_seen", 0)) or int(c.get("forwarded_c2s", 0))
        total[2] += int(c.get("dropped_acks", 0))
    for label, (runs, packets, dropped) in seen.items():
        lines.append(
            f"- relay, {label}: {runs} runs, {packets} client packets through it, "
            f"{dropped} ACKs dropped (per-run counters in the JSON)"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if os.geteuid() != 0:
        print("the bench needs root (network namespaces): sudo python3 bench/tftp_bench.py")
        return 2
    signal.signal(signal.SIGTERM, _on_sigterm)
    # Also when started from a script as a background job, where SIGINT is inherited ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        md, raw = run_bench(args)
    except KeyboardInterrupt:
        print("interrupted; namespaces and processes removed", file=sys.stderr)
        return 130
    text = _header(argv, raw) + "\n\n" + md + "\n" + report.profile_section(raw["py_spy"]) + "\n"
    print(text)
    if args.json:
        print(json.dumps(raw, indent=1))
    if not args.no_save:
        args.results_dir.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")  # two runs a minute apart
        base = args.results_dir / f"{stamp}-{raw['mode']}"
        base.with_suffix(".md").write_text(text)
        base.with_suffix(".json").write_text(json.dumps(raw, indent=1) + "\n")
        print(f"saved {base}.md and .json", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
