"""What the engine learns and decides, kept in SQLite so it survives a kill -9.

Operators write profiles; the engine never rewrites them. Runtime decisions — an operator's
``assign``, a one-shot boot that turned into local boot, the default entry for unknown
clients — and each client's recent history live here instead. Every change is one
transaction in WAL mode with ``synchronous=FULL``: a killed engine loses nothing it reported.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pxetui.core.events import Event, event_to_dict
from pxetui.core.mac import MacAddress

HISTORY_PER_MAC = 500
HISTORY_ROWS = 200_000  # in all: ~265 B each, ~50 MB of history at most
HISTORY_AGE_S = 30 * 86400.0
PRUNE_EVERY_ROWS = 1000  # the global bounds are enforced after this many new rows …
PRUNE_EVERY_S = 60.0  # … or this long, whichever comes first
_SCHEMA = """
CREATE TABLE IF NOT EXISTS assignments (
    mac      TEXT PRIMARY KEY,
    entry    TEXT NOT NULL,
    once     INTEGER NOT NULL DEFAULT 0,
    hostname TEXT,
    reason   TEXT NOT NULL DEFAULT 'operator',
    updated  REAL NOT NULL,
    by_user  TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS once_done (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    mac      TEXT NOT NULL,
    entry    TEXT NOT NULL,
    ts       REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS history (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    mac      TEXT NOT NULL,
    ts       REAL NOT NULL,
    kind     TEXT NOT NULL,
    data     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS history_mac ON history (mac, id);
CREATE INDEX IF NOT EXISTS history_ts ON history (ts);
CREATE TABLE IF NOT EXISTS settings (
    key      TEXT PRIMARY KEY,
    value    TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class StoredAssignment:
    """An operator's (or a finished one-shot's) decision for one MAC."""

    mac: MacAddress
    entry: str
    once: bool
    hostname: str | None
    reason: str
    updated: float
    by: str = ""
    """Who made it (the control-socket peer as the kernel named it); empty if unknown."""


class EngineDatabase:
    """The engine's SQLite file: assignments, one-shot records, settings, history."""

    def __init__(
        self,
        path: Path,
        *,
        history_per_mac: int = HISTORY_PER_MAC,
        history_rows: int = HISTORY_ROWS,
        history_age_s: float = HISTORY_AGE_S,
        prune_every_rows: int | None = None,
        on_prune: Callable[[str], None] | None = None,
    ) -> None:
        self.path = path
        self._history_limit = history_per_mac
        self.history_rows = history_rows
        self.history_age_s = history_age_s
        # at most ~10% over the bound between two prunes
        self._prune_every = prune_every_rows or max(10, min(PRUNE_EVERY_ROWS, history_rows // 10))
        self._since_prune = 0
        self._last_prune = 0.0
        self.on_prune = on_prune  # told, in words, what a global bound removed
        self._db: sqlite3.Connection | None = None

    def open(self) -> None:
        """Open (creating if needed); the file is private to the engine's user."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA busy_timeout=5000")
        db.executescript(_SCHEMA)
        columns = {row[1] for row in db.execute("PRAGMA table_info(assignments)")}
        if "by_user" not in columns:  # a database from before who-did-what was kept
            db.execute("ALTER TABLE assignments ADD COLUMN by_user TEXT NOT NULL DEFAULT ''")
        self.path.chmod(0o600)
        self._db = db
        self.prune()  # a restart after a month away starts within the bounds

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def is_open(self) -> bool:
        return self._db is not None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("database not open")
        return self._db

    def _tx(self, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
        """Run *statements* as one transaction: all of them land, or none."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            for sql, params in statements:
                db.execute(sql, params)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # --- assignments ---------------------------------------------------------------------

    def assignments(self) -> dict[MacAddress, StoredAssignment]:
        rows = self.db.execute(
            "SELECT mac, entry, once, hostname, reason, updated, by_user FROM assignments "
            "ORDER BY mac"
        ).fetchall()
        return {
            MacAddress(r[0]): StoredAssignment(
                MacAddress(r[0]), r[1], bool(r[2]), r[3], r[4], r[5], r[6]
            )
            for r in rows
        }

    def assign(
        self,
        mac: MacAddress,
        entry: str,
        *,
        once: bool = False,
        hostname: str | None = None,
        reason: str = "operator",
        by: str = "",
    ) -> StoredAssignment:
        now = time.time()
        self._tx(
            [
                (
                    "INSERT INTO assignments (mac, entry, once, hostname, reason, updated, "
                    "by_user) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(mac) DO UPDATE SET "
                    "entry=excluded.entry, once=excluded.once, "
                    "hostname=COALESCE(excluded.hostname, hostname), reason=excluded.reason, "
                    "updated=excluded.updated, by_user=excluded.by_user",
                    (mac.hex12, entry, int(once), hostname, reason, now, by),
                )
            ]
        )
        return self.assignments()[mac]

    def unassign(self, mac: MacAddress) -> bool:
        """Forget the runtime decision for *mac* (the profile's baseline applies again)."""
        cur = self.db.execute("DELETE FROM assignments WHERE mac = ?", (mac.hex12,))
        return cur.rowcount > 0

    def complete_once(self, mac: MacAddress, entry: str, local: str = "local") -> None:
        """A one-shot boot of *entry* was delivered: from now on *mac* boots *local*.

        The flip and its record are one transaction, so a crash never leaves a one-shot that
        is both done and still armed.
        """
        now = time.time()
        self._tx(
            [
                (
                    "INSERT INTO assignments (mac, entry, once, hostname, reason, updated) "
                    "VALUES (?, ?, 0, NULL, 'once', ?) ON CONFLICT(mac) DO UPDATE SET "
                    "entry=excluded.entry, once=0, reason='once', updated=excluded.updated, "
                    "by_user=''",
                    (mac.hex12, local, now),
                ),
                (
                    "INSERT INTO once_done (mac, entry, ts) VALUES (?, ?, ?)",
                    (mac.hex12, entry, now),
                ),
            ]
        )

    def once_done(self, mac: MacAddress) -> list[tuple[str, float]]:
        """(entry, when) of each one-shot boot *mac* completed, oldest first."""
        rows = self.db.execute(
            "SELECT entry, ts FROM once_done WHERE mac = ? ORDER BY id", (mac.hex12,)
        ).fetchall()
        return [(r[0], r[1]) for r in rows]

    # --- settings ------------------------------------------------------------------------

    def setting(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_setting(self, key: str, value: str | None) -> None:
        if value is None:
            self.db.execute("DELETE FROM settings WHERE key = ?", (key,))
        else:
            self.db.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (key, value),
            )

    # --- history -------------------------------------------------------------------------

    def record(self, mac: MacAddress, event: Event) -> None:
        """Append *event* to *mac*'s history, keeping only the newest ``history_per_mac``."""
        self.record_many([(mac, event)])

    def record_many(self, items: list[tuple[MacAddress, Event]]) -> None:
        """Append many history rows in ONE transaction (one fsync), then trim each MAC.

        The engine batches history this way: at ``synchronous=FULL`` every commit costs an
        fsync (milliseconds), far too slow to pay per TFTP event on the serving loop.
        """
        if not items:
            return
        statements: list[tuple[str, tuple[Any, ...]]] = [
            (
                "INSERT INTO history (mac, ts, kind, data) VALUES (?, ?, ?, ?)",
                (
                    mac.hex12,
                    event.ts,
                    event.kind,
                    json.dumps(event_to_dict(event), separators=(",", ":")),
                ),
            )
            for mac, event in items
        ]
        for hex12 in sorted({mac.hex12 for mac, _ in items}):
            statements.append(
                (
                    "DELETE FROM history WHERE mac = ? AND id <= ("
                    "SELECT id FROM history WHERE mac = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
                    (hex12, hex12, self._history_limit),
                )
            )
        self._tx(statements)
        self._since_prune += len(items)
        if (
            self._since_prune >= self._prune_every
            or time.monotonic() - self._last_prune >= PRUNE_EVERY_S
        ):
            self.prune()

    def prune(self, now: float | None = None) -> int:
        """Enforce the global bounds: rows older than the age go, then the oldest rows over
        the row bound — first those of MACs that never sent DHCP (a made-up per-MAC file
        name, a stranger's 404), then anyone's. The number of rows deleted."""
        self._since_prune, self._last_prune = 0, time.monotonic()
        now = time.time() if now is None else now
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            aged = db.execute(
                "DELETE FROM history WHERE ts < ?", (now - self.history_age_s,)
            ).rowcount
            (count,) = db.execute("SELECT COUNT(*) FROM history").fetchone()
            excess = max(0, int(count) - self.history_rows)
            strangers = 0
            if excess:
                strangers = db.execute(
                    "DELETE FROM history WHERE id IN (SELECT id FROM history WHERE mac NOT IN "
                    "(SELECT DISTINCT mac FROM history WHERE kind = 'dhcp') ORDER BY id LIMIT ?)",
                    (excess,),
                ).rowcount
            oldest = 0
            if excess - strangers > 0:
                oldest = db.execute(
                    "DELETE FROM history WHERE id IN (SELECT id FROM history ORDER BY id LIMIT ?)",
                    (excess - strangers,),
                ).rowcount
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        if (aged or strangers or oldest) and self.on_prune is not None:
            self.on_prune(
                f"{aged} older than {self.history_age_s / 86400:g} days, "
                f"{strangers + oldest} over {self.history_rows} rows "
                f"({strangers} of MACs never seen in DHCP)"
            )
        return aged + strangers + oldest

    def history_count(self) -> int:
        (count,) = self.db.execute("SELECT COUNT(*) FROM history").fetchone()
        return int(count)

    def macs_with_history(self) -> list[MacAddress]:
        """Every MAC that has history, most recently active first."""
        rows = self.db.execute(
            "SELECT mac FROM history GROUP BY mac ORDER BY MAX(id) DESC"
        ).fetchall()
        return [MacAddress(r[0]) for r in rows]

    def history(self, mac: MacAddress, limit: int = 100) -> list[dict[str, Any]]:
        """*mac*'s newest *limit* events as event dicts, oldest first."""
        rows = self.db.execute(
            "SELECT data FROM history WHERE mac = ? ORDER BY id DESC LIMIT ?",
            (mac.hex12, max(0, limit)),
        ).fetchall()
        return [json.loads(r[0]) for r in reversed(rows)]
