"""The bench's clients: one process per run that drives all N concurrent transfers.

Why one process: spawning 50 client processes would put fork/exec and interpreter start-up into
the measurement. The C TFTP client multiplexes N transfers in one epoll loop; for HTTP, curl's
``--parallel`` does the same. Wall-clock is taken on the host clock (CLOCK_MONOTONIC is not
namespaced) from the first request sent to the last byte received, and cross-checked against
the time around the whole process.
"""

from __future__ import annotations

import array
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import toolchain
from netns import SERVICE_IP, Testbed

PATTERN_WORD = 8


def write_pattern_file(path: Path, size: int) -> None:
    """A file whose u64 at every aligned offset o is o, so clients verify blocks in place."""
    if sys.byteorder != "little":
        raise RuntimeError("the pattern is little-endian; this bench runs on x86/arm64 only")
    chunk = 1 << 20
    with path.open("wb") as out:
        for start in range(0, size, chunk):
            end = min(size, start + chunk)
            words = array.array("Q", range(start, end + PATTERN_WORD, PATTERN_WORD))
            out.write(words.tobytes()[: end - start])
    path.chmod(0o644)


@dataclass(frozen=True)
class RunResult:
    """One measured run: all transfers OK or not, seconds, and what the server negotiated."""

    ok: bool
    seconds: float
    outer_seconds: float
    transfers: int
    failed: int
    bytes: int
    detail: str
    timed_out: bool = False
    client_cpu_seconds: float | None = None  # TFTP only: proves the client is not the limit


def tftp_run(
    bed: Testbed,
    port: int,
    file_name: str,
    size: int,
    clients: int,
    blksize: int,
    windowsize: int,
    deadline: float,
    client_timeout_ms: int = 5000,
) -> RunResult:
    """N concurrent TFTP reads of one file; ``blksize``/``windowsize`` 0 = do not ask."""
    argv = [
        str(toolchain.tftp_client()), "-H", SERVICE_IP, "-p", str(port), "-f", file_name,
        "-n", str(clients), "-s", str(size), "-b", str(blksize), "-w", str(windowsize), "-z",
        "-t", str(client_timeout_ms), "-d", str(deadline),
    ]  # fmt: skip
    start = time.monotonic()
    try:
        proc = subprocess.run(
            bed.in_ns(bed.client_ns, argv), capture_output=True, text=True, timeout=deadline + 30
        )
    except subprocess.TimeoutExpired:
        return RunResult(False, deadline, deadline, clients, clients, 0, "client hung", True)
    outer = time.monotonic() - start
    try:
        out = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return RunResult(False, outer, outer, clients, clients, 0, f"client: {proc.stderr[-300:]}")
    detail = f"blksize={out['blksize']} windowsize={out['windowsize']}"
    if out["error"]:
        detail += f" error={out['error']}"
    return RunResult(
        ok=proc.returncode == 0,
        seconds=float(out["seconds"]),
        outer_seconds=outer,
        transfers=int(out["transfers"]),
        failed=int(out["failed"]),
        bytes=int(out["bytes"]),
        detail=detail,
        timed_out=out["error"] == "deadline",
        client_cpu_seconds=float(out.get("cpu_seconds", 0.0)),
    )


def tftp_probe(bed: Testbed, port: int, file_name: str, size: int) -> bool:
    """One small transfer with short timers: is the server answering yet?"""
    result = tftp_run(bed, port, file_name, size, 1, 512, 0, 2.0, client_timeout_ms=300)
    return result.ok


def http_run(
    bed: Testbed, port: int, file_name: str, size: int, clients: int, deadline: float
) -> RunResult:
    """N concurrent HTTP GETs with one curl process (--parallel), bodies to /dev/null."""
    url = f"http://{SERVICE_IP}:{port}/{file_name}"
    argv = ["curl", "--silent", "--show-error", "--fail", "--max-time", str(deadline)]
    argv += ["--parallel", "--parallel-immediate", "--parallel-max", str(clients)]
    argv += ["--write-out", "%{http_code} %{size_download} %{time_total}\\n"]
    for _ in range(clients):
        argv += ["--output", "/dev/null", url]
    start = time.monotonic()
    try:
        proc = subprocess.run(
            bed.in_ns(bed.client_ns, argv), capture_output=True, text=True, timeout=deadline + 30
        )
    except subprocess.TimeoutExpired:
        return RunResult(False, deadline, deadline, clients, clients, 0, "curl hung", True)
    outer = time.monotonic() - start
    lines = [ln.split() for ln in proc.stdout.splitlines() if ln.strip()]
    good = [ln for ln in lines if len(ln) == 3 and ln[0] == "200" and int(ln[1]) == size]
    failed = clients - len(good)
    detail = "" if not failed else f"curl rc={proc.returncode} {proc.stderr.strip()[-200:]}"
    return RunResult(
        ok=failed == 0 and proc.returncode == 0,
        # curl's own per-transfer clock: excludes `ip netns exec` and curl start-up, which
        # would otherwise dominate a single 41 MiB transfer.
        seconds=max((float(ln[2]) for ln in good), default=outer),
        outer_seconds=outer,
        transfers=clients,
        failed=failed,
        bytes=sum(int(ln[1]) for ln in good),
        detail=detail,
        timed_out=proc.returncode == 28,  # curl: operation timed out
    )


def http_probe(bed: Testbed, port: int, file_name: str, size: int) -> bool:
    """One small GET: is the server answering yet?"""
    return http_run(bed, port, file_name, size, 1, 2.0).ok
