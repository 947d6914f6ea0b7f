"""How the benchmark folds runs into its table and target verdicts (bench/report.py, pure)."""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ is a directory of scripts, not a package: make its modules importable (lowest priority).
sys.path.append(str(Path(__file__).resolve().parents[2] / "bench"))

import report
from clients import RunResult
from matrix import TARGETS, Scenario, quick


def run(seconds: float, ok: bool = True, timed_out: bool = False) -> RunResult:
    return RunResult(ok, seconds, seconds, 10, 0 if ok else 10, 0, "", timed_out)


def cell(*runs: RunResult) -> report.Cell:
    return report.Cell(runs=list(runs))


def test_median_ignores_failed_runs() -> None:
    """A failed run neither counts as fast nor drags the median."""
    c = cell(run(3.0), run(0.1, ok=False), run(1.0), run(2.0))
    assert c.median() == 2.0
    assert c.failures == 1


def test_ratio_is_reference_time_over_server_time() -> None:
    """Twice as fast as the reference reads 2.0; no data on either side reads None."""
    assert report.ratio(cell(run(1.0)), cell(run(2.0))) == 2.0
    assert report.ratio(cell(run(4.0)), cell(run(2.0))) == 0.5
    assert report.ratio(cell(run(1.0, ok=False)), cell(run(2.0))) is None
    assert report.ratio(cell(run(1.0)), None) is None


def test_table_puts_the_reference_first_and_names_deadline_failures() -> None:
    """Within a scenario the reference row comes first; a timed-out server says 'deadline'."""
    sc = Scenario("tftp", 10, "5MiB", 1468, 1)
    cells = {
        (sc.label, "pxetui"): cell(run(1.0)),
        (sc.label, "tftpd-hpa"): cell(run(2.0)),
        (sc.label, "tftpy"): cell(run(15.0, ok=False, timed_out=True)),
    }
    rows = report.table([sc], ["pxetui", "tftpd-hpa", "tftpy"], cells).splitlines()[2:]
    assert [r.split("|")[2].strip() for r in rows] == ["tftpd-hpa", "pxetui", "tftpy"]
    assert "2.00x" in rows[1]
    assert rows[2].rstrip(" |").endswith("1/1 deadline")


def test_table_notes_when_the_server_granted_less_than_asked() -> None:
    """A blksize capped at the MTU or an ignored windowsize is named in the row's notes."""
    sc = Scenario("tftp", 1, "5MiB", 65464, 16)
    granted = RunResult(True, 1.0, 1.0, 1, 0, 5 << 20, "blksize=1468 windowsize=1")
    full = RunResult(True, 1.0, 1.0, 1, 0, 5 << 20, "blksize=65464 windowsize=16")
    cells = {(sc.label, "capped"): cell(granted), (sc.label, "tftpd-hpa"): cell(full)}
    rows = report.table([sc], ["capped", "tftpd-hpa"], cells).splitlines()[2:]
    notes = [r.split("|")[-2].strip() for r in rows]
    assert notes == ["", "granted blksize 1468, granted windowsize 1"]


def test_targets_say_met_or_by_how_much_they_were_missed() -> None:
    """The 10-client target at 0.8x is 20 % short; the 50-client one at 1.25x is met."""
    c10, c50 = "TFTP 10c 5MiB bs1468 ws1", "TFTP 50c 5MiB bs1468 ws1"
    cells = {
        (c10, "dnsmasq"): cell(run(0.8)),
        (c10, "pxetui"): cell(run(1.0)),
        (c50, "dnsmasq"): cell(run(5.0)),
        (c50, "pxetui"): cell(run(4.0)),
    }
    text = report.targets_section(cells)
    assert f"{c10}, pxetui >= 1x dnsmasq: **missed**: 0.80x, 20 % short" in text
    assert f"{c50}, pxetui >= 1x dnsmasq: **met** (1.25x)" in text


def test_rows_compare_with_pxetui_and_give_cpu_per_block() -> None:
    """A peer twice as slow as pxetui reads 2.00x; 1 s of CPU over 10 x 3572 blocks is 28 µs."""
    sc = Scenario("tftp", 10, "5MiB", 1468, 1)
    cells = {
        (sc.label, "pxetui"): cell(run(1.0)),
        (sc.label, "dnsmasq"): report.Cell(runs=[run(2.0)], cpu_seconds=[1.0]),
    }
    rows = report.table([sc], ["pxetui", "dnsmasq"], cells).splitlines()[2:]
    dnsmasq = [c.strip() for c in rows[1].split("|")]
    assert dnsmasq[2] == "dnsmasq"
    assert dnsmasq[8] == f"{1e6 / (10 * (5 * 2**20 // 1468 + 1)):.1f}"
    assert dnsmasq[10] == "2.00x"


def test_every_target_is_a_quick_scenario() -> None:
    """The targets can only be checked if --quick actually runs those scenarios."""
    labels = {s.label for s in quick()}
    assert {label for label, _, _ in TARGETS} <= labels
