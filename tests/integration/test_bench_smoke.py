"""The benchmark harness, run for real at its smallest size (bench/tftp_bench.py --smoke).

Why a test: the bench is run rarely and by hand, so a broken harness would only be found when
the numbers are needed. This runs the real thing — namespaces, the C client, the tun relay,
tftpd-hpa and nginx — and checks the table, the raw results and the cleanup.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.netns,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for network namespaces"),
    pytest.mark.skipif(
        not all(shutil.which(t) for t in ("gcc", "in.tftpd", "nginx", "curl", "ip")),
        reason="needs gcc, tftpd-hpa, nginx, curl, iproute2",
    ),
]


def _bench_namespaces() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10)
    return {ln.split()[0] for ln in out.stdout.splitlines() if ln.startswith("pxb-")}


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any], set[str]]:
    """One smoke run against tftpd-hpa and nginx; returns (table, raw results, namespaces)."""
    out_dir = tmp_path_factory.mktemp("bench-results")
    before = _bench_namespaces()
    proc = subprocess.run(
        [sys.executable, "bench/tftp_bench.py", "--smoke", "--servers", "tftpd-hpa,nginx",
         "--results-dir", str(out_dir)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    mds = list(out_dir.glob("*-smoke.md"))
    jsons = list(out_dir.glob("*-smoke.json"))
    assert len(mds) == 1 and len(jsons) == 1
    return mds[0].read_text(), json.loads(jsons[0].read_text()), _bench_namespaces() - before


def test_smoke_table_has_a_clean_reference_row_per_scenario(
    smoke_run: tuple[str, dict[str, Any], set[str]],
) -> None:
    """Every smoke scenario yields a tftpd-hpa/nginx row with ratio 1.00x and no failures."""
    table, _, _ = smoke_run
    rows = [r for r in table.splitlines() if r.startswith("| TFTP") or r.startswith("| HTTP")]
    assert len(rows) == 4
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[1] in ("tftpd-hpa", "nginx")
        assert float(cells[2]) > 0
        assert cells[5] == "1.00x"
        # No failures; tftpd-hpa ignores windowsize, which the notes must say.
        expected_note = "granted windowsize 1" if "ws16" in cells[0] else ""
        assert cells[-1] == expected_note  # notes are the last column


def test_smoke_transfers_move_every_byte(
    smoke_run: tuple[str, dict[str, Any], set[str]],
) -> None:
    """Each run reports all transfers complete with clients x file size bytes."""
    _, raw, _ = smoke_run
    cells = raw["cells"]
    assert isinstance(cells, list) and cells
    for cell in cells:
        for run in cell["runs"]:
            assert run["ok"], run
            assert run["failed"] == 0
            assert run["bytes"] == run["transfers"] * (1 << 20)


def test_relay_really_adds_delay_and_drops_acks(
    smoke_run: tuple[str, dict[str, Any], set[str]],
) -> None:
    """The +1ms path measures >= 1 ms RTT, and the loss relay dropped some ACKs."""
    _, raw, _ = smoke_run
    rtts = {r["scenario"]: r for r in raw["rtt"]}
    delayed = next(v for k, v in rtts.items() if "+1ms" in k)
    assert delayed["rtt_ms_median"] >= 1.0
    assert rtts["direct veth"]["rtt_ms_median"] < delayed["rtt_ms_median"] - 0.5
    lossy = next(r for r in raw["relay"] if "ackloss" in r["scenario"])
    assert lossy["dropped_acks"] >= 1
    assert lossy["acks_seen"] >= 300 * lossy["dropped_acks"]


def test_bench_leaves_no_namespace_behind(
    smoke_run: tuple[str, dict[str, Any], set[str]],
) -> None:
    """The run deletes the namespaces it created."""
    _, _, leftover = smoke_run
    assert leftover == set()
