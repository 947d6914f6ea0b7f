"""The engine database keeps assignments, one-shot records and bounded history."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from pxetui.core.events import DhcpEvent
from pxetui.core.mac import MacAddress
from pxetui.engine.persist import EngineDatabase

MAC = MacAddress.parse("52:54:00:e2:e0:01")


def open_db(tmp_path: Path, **kw: int) -> EngineDatabase:
    db = EngineDatabase(tmp_path / "state" / "pxetui.db", **kw)
    db.open()
    return db


def test_assignments_round_trip_and_unassign_forgets(tmp_path: Path) -> None:
    """An assignment reads back as written; unassign removes only that MAC."""
    db = open_db(tmp_path)
    other = MacAddress.parse("52:54:00:00:00:02")
    db.assign(MAC, "centos", once=True, hostname="node1")
    db.assign(other, "local")
    got = db.assignments()[MAC]
    assert (got.entry, got.once, got.hostname, got.reason) == ("centos", True, "node1", "operator")
    assert db.unassign(MAC) and not db.unassign(MAC)
    assert list(db.assignments()) == [other]
    assert oct(db.path.stat().st_mode & 0o777) == "0o600"


def test_completing_a_one_shot_flips_to_local_and_records_it(tmp_path: Path) -> None:
    """complete_once disarms the one-shot and remembers which entry was delivered."""
    db = open_db(tmp_path)
    db.assign(MAC, "centos", once=True, hostname="node1")
    db.complete_once(MAC, "centos")
    got = db.assignments()[MAC]
    assert (got.entry, got.once, got.reason, got.hostname) == ("local", False, "once", "node1")
    assert [entry for entry, _ in db.once_done(MAC)] == ["centos"]


def test_history_is_bounded_per_mac_and_oldest_first(tmp_path: Path) -> None:
    """Only the newest N events per MAC are kept; other MACs are untouched."""
    db = open_db(tmp_path, history_per_mac=5)
    other = MacAddress.parse("52:54:00:00:00:02")
    db.record(other, DhcpEvent(ts=1.0, msg_type="DHCPDISCOVER", mac=other))
    for i in range(12):
        db.record(MAC, DhcpEvent(ts=float(i), msg_type="DHCPDISCOVER", mac=MAC))
    assert [e["ts"] for e in db.history(MAC, limit=100)] == [7.0, 8.0, 9.0, 10.0, 11.0]
    assert [e["ts"] for e in db.history(MAC, limit=2)] == [10.0, 11.0]
    assert len(db.history(other)) == 1


def test_settings_set_and_clear(tmp_path: Path) -> None:
    """A runtime default entry is stored and can be cleared."""
    db = open_db(tmp_path)
    db.set_setting("unknown", "menu")
    assert db.setting("unknown") == "menu"
    db.set_setting("unknown", None)
    assert db.setting("unknown") is None


def test_everything_written_survives_a_kill_9(tmp_path: Path) -> None:
    """A process killed with SIGKILL right after writing loses nothing."""
    path = tmp_path / "state" / "pxetui.db"
    code = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from pxetui.engine.persist import EngineDatabase
        from pxetui.core.mac import MacAddress
        db = EngineDatabase(Path({str(path)!r})); db.open()
        for i in range(50):
            db.assign(MacAddress.parse(f"52:54:00:00:01:{{i:02x}}"), "centos", once=i % 2 == 0)
        db.complete_once(MacAddress.parse("52:54:00:00:01:00"), "centos")
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[2], timeout=60)
    assert proc.returncode == -signal.SIGKILL
    db = open_db(tmp_path)
    rows = db.assignments()
    assert len(rows) == 50
    assert rows[MacAddress.parse("52:54:00:00:01:00")].entry == "local"
    assert rows[MacAddress.parse("52:54:00:00:01:02")].once is True


def test_a_batch_lands_in_one_transaction_and_is_trimmed(tmp_path: Path) -> None:
    """record_many writes every row of a batch and keeps the per-MAC ring bound."""
    db = open_db(tmp_path, history_per_mac=3)
    other = MacAddress.parse("52:54:00:00:00:02")
    batch = [(MAC, DhcpEvent(ts=float(i), msg_type="DHCPACK", mac=MAC)) for i in range(5)]
    batch.append((other, DhcpEvent(ts=9.0, msg_type="DHCPACK", mac=other)))
    db.record_many(batch)
    assert [e["ts"] for e in db.history(MAC)] == [2.0, 3.0, 4.0]
    assert [e["ts"] for e in db.history(other)] == [9.0]


def test_a_database_from_before_who_did_what_is_upgraded_in_place(tmp_path: Path) -> None:
    """An older file (no by_user column) keeps its rows and records who from now on."""
    import sqlite3

    path = tmp_path / "pxetui.db"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE assignments (mac TEXT PRIMARY KEY, entry TEXT NOT NULL, once INTEGER NOT "
        "NULL DEFAULT 0, hostname TEXT, reason TEXT NOT NULL DEFAULT 'operator', updated REAL "
        "NOT NULL);"
        "INSERT INTO assignments VALUES ('525400e2e001', 'centos', 0, NULL, 'operator', 1.0);"
    )
    old.commit()
    old.close()
    db = EngineDatabase(path)
    db.open()
    try:
        kept = db.assignments()[MacAddress.parse("52:54:00:e2:e0:01")]
        assert (kept.entry, kept.by) == ("centos", "")
        db.assign(MacAddress.parse("52:54:00:e2:e0:02"), "local", by="alice (uid 1001)")
        assert db.assignments()[MacAddress.parse("52:54:00:e2:e0:02")].by == "alice (uid 1001)"
    finally:
        db.close()
