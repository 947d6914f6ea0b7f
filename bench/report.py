"""Fold repeated runs into the table: median, min-max, throughput, ratio to the reference.

Why medians and ratios: the bench machine is shared and noisy; a median of interleaved runs and
a ratio against a reference measured in the same repetitions (tftpd-hpa for TFTP, nginx for
HTTP) are what stays comparable from one run to the next. Each row also says how pxetui
compares with that row's server (``pxetui ÷ this``: >1 = pxetui faster) and the server's CPU
per block sent, which is steadier than time on a busy machine.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from clients import RunResult
from matrix import MIB, TARGETS, Scenario

REFERENCE = {"tftp": "tftpd-hpa", "http": "nginx"}
SUBJECT = "pxetui"


@dataclass
class Cell:
    """All runs of one server in one scenario."""

    runs: list[RunResult] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    wait_seconds: list[float] = field(default_factory=list)  # run-queue wait per run

    @property
    def ok_seconds(self) -> list[float]:
        return sorted(r.seconds for r in self.runs if r.ok)

    @property
    def failures(self) -> int:
        return sum(1 for r in self.runs if not r.ok)

    @property
    def missed_deadline(self) -> bool:
        return any(r.timed_out for r in self.runs)

    def median(self) -> float | None:
        ok = self.ok_seconds
        return statistics.median(ok) if ok else None


def ratio(cell: Cell, reference: Cell | None) -> float | None:
    """How many times faster than the reference (>1 = faster); None if either has no data."""
    mine = cell.median()
    ref = reference.median() if reference else None
    if mine is None or ref is None or mine <= 0:
        return None
    return ref / mine


def units(scenario: Scenario, blksize: int = 0) -> int:
    """Blocks the server sends in one run (TFTP; HTTP: MiB), for CPU per block."""
    if scenario.protocol == "http":
        return max(1, scenario.clients * scenario.size // MIB)
    bs = blksize or scenario.blksize or 512
    return scenario.clients * (scenario.size // bs + 1)


def cpu_per_unit(scenario: Scenario, cell: Cell) -> float | None:
    """Median server CPU microseconds per block sent (HTTP: per MiB)."""
    if not cell.cpu_seconds:
        return None
    granted = next((r.detail for r in cell.runs if r.ok and "blksize=" in r.detail), "")
    fields = dict(f.split("=", 1) for f in granted.split() if "=" in f)
    bs = int(fields["blksize"]) if fields.get("blksize", "").isdigit() else 0
    return statistics.median(cell.cpu_seconds) * 1e6 / units(scenario, bs)


def _negotiated_note(scenario: Scenario, cell: Cell) -> str:
    """Say when the server granted less than asked (e.g. blksize capped at the MTU), since the
    row then compares different block sizes."""
    if scenario.protocol != "tftp":
        return ""
    granted = next((r.detail for r in cell.runs if r.ok and "blksize=" in r.detail), "")
    fields = dict(f.split("=", 1) for f in granted.split() if "=" in f)
    notes = []
    if scenario.blksize and fields.get("blksize", str(scenario.blksize)) != str(scenario.blksize):
        notes.append(f"granted blksize {fields['blksize']}")
    wanted_ws = scenario.windowsize or 1
    if wanted_ws > 1 and fields.get("windowsize", str(wanted_ws)) != str(wanted_ws):
        notes.append(f"granted windowsize {fields['windowsize']}")
    return ", ".join(notes)


def _fmt_row(
    scenario: Scenario, server: str, cell: Cell, reference: Cell | None, subject: Cell | None
) -> list[str]:
    med = cell.median()
    ok = cell.ok_seconds
    total_mib = scenario.clients * scenario.size / MIB
    r = ratio(cell, reference)
    cpu = statistics.median(cell.cpu_seconds) if cell.cpu_seconds else None
    fails = _negotiated_note(scenario, cell)
    if cell.failures:
        bad = next(x for x in cell.runs if not x.ok)
        why = "deadline" if bad.timed_out else bad.detail.split("error=")[-1][:60]
        fails = f"{cell.failures}/{len(cell.runs)} {why}" + (f"; {fails}" if fails else "")
    return [
        scenario.label,
        server,
        f"{med:.3f}" if med is not None else "—",
        f"{total_mib / med:.1f}" if med else "—",
        f"{ok[0]:.3f}-{ok[-1]:.3f}" if ok else "—",
        f"{r:.2f}x" if r is not None else "—",
        f"{cpu:.2f}" if cpu is not None else "—",
        _per_unit(scenario, cell),
        f"{statistics.median(cell.wait_seconds):.2f}" if cell.wait_seconds else "—",
        f"{vs:.2f}x" if (vs := ratio(subject, cell) if subject else None) is not None else "—",
        fails,
    ]


def _per_unit(scenario: Scenario, cell: Cell) -> str:
    per = cpu_per_unit(scenario, cell)
    if per is None:
        return "—"
    return f"{per:.1f}" if scenario.protocol == "tftp" else f"{per / 1000:.1f} ms/MiB"


HEADER = [
    "scenario",
    "server",
    "median s",
    "MiB/s",
    "min-max s",
    "ratio",
    "server CPU s",
    "CPU µs/block",
    "run-queue wait s",
    "pxetui ÷ this",
    "notes",
]


def table(scenarios: list[Scenario], servers: list[str], cells: dict[tuple[str, str], Cell]) -> str:
    """A Markdown table, one row per (scenario, server), the reference first in each block."""
    rows = [HEADER, ["---"] * len(HEADER)]
    for sc in scenarios:
        ref_name = REFERENCE[sc.protocol]
        names = [s for s in servers if (sc.label, s) in cells]
        names.sort(key=lambda s: s != ref_name)
        for name in names:
            rows.append(
                _fmt_row(
                    sc,
                    name,
                    cells[(sc.label, name)],
                    cells.get((sc.label, ref_name)),
                    cells.get((sc.label, SUBJECT)),
                )
            )
    return "\n".join("| " + " | ".join(r) + " |" for r in rows)


def profile_section(profiles: dict[str, list[tuple[str, float]]]) -> str:
    """py-spy's top self-time frames of pxetui per scenario (one extra, unmeasured run each)."""
    if not profiles:
        return ""
    out = ["", "py-spy, pxetui, % of samples by self time (one extra unmeasured run each):", ""]
    for label, frames in profiles.items():
        out.append(f"- {label}: " + "; ".join(f"{pct}% {frame}" for frame, pct in frames[:8]))
    return "\n".join(out)


def targets_section(
    cells: dict[tuple[str, str], Cell], scenarios: list[Scenario] | None = None
) -> str:
    """Issue 14's targets: pxetui's ratio to the named peer, met or missed (and by how much);
    with *scenarios*, also pxetui's CPU per block against that peer's."""
    by_label = {s.label: s for s in scenarios or []}
    lines = []
    for label, peer, want in TARGETS:
        ref = cells.get((label, peer))
        for (lab, server), cell in cells.items():
            if lab != label or not server.startswith(SUBJECT):
                continue
            r = ratio(cell, ref)
            if r is None:
                verdict = "no data (failed runs)"
            elif r >= want:
                verdict = f"**met** ({r:.2f}x)"
            else:
                verdict = f"**missed**: {r:.2f}x, {100 * (1 - r / want):.0f} % short"
            sc = by_label.get(label)
            if sc is not None and ref is not None and sc.protocol == "tftp":
                mine, theirs = cpu_per_unit(sc, cell), cpu_per_unit(sc, ref)
                if mine is not None and theirs is not None:
                    verdict += f"; CPU/block {mine:.1f} µs vs {theirs:.1f} µs"
            lines.append(f"- {label}, {server} >= {want:g}x {peer}: {verdict}")
    return "\n".join(["", "Targets (issue 14):", "", *lines]) if lines else ""
