"""``store: postgresql://…``: the store several engines share.

Reads the engine makes on its serving path (assignments, settings) come from an in-memory
copy, refreshed when another engine NOTIFYs a change and after a reconnect, so a slow or
lost database never stalls TFTP/HTTP and an engine that loses it keeps serving its last
known assignments. Writes go straight to the database; while it is unreachable:

* an operator's assign / unassign / set-default is refused with the reason (never half-done);
* a one-shot that finished is applied locally at once and written when the database returns
  (the machine must not loop into its installer);
* history rows wait in memory, at most ``buffer_rows`` (then the oldest go, said once).

Each engine tags what it writes with its name (``history.engine``, ``clients.engine``).
Every call is bounded: connect in 3 s, any statement in 5 s.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from pxetui.core.mac import MacAddress
from pxetui.engine.persist import HISTORY_AGE_S, HISTORY_PER_MAC, HISTORY_ROWS, StoredAssignment
from pxetui.engine.store.migrations import SchemaTooNew, migrate
from pxetui.engine.store.pg_history import BUFFER_ROWS, HistoryRows
from pxetui.engine.store.pg_link import CHANNEL, why
from pxetui.engine.store.protocol import StoreError

log = logging.getLogger(__name__)


class PostgresStore(HistoryRows):
    """The shared store, for the engine named *engine*."""

    def __init__(
        self,
        url: str,
        engine: str,
        *,
        history_per_mac: int = HISTORY_PER_MAC,
        history_rows: int = HISTORY_ROWS,
        history_age_s: float = HISTORY_AGE_S,
        buffer_rows: int = BUFFER_ROWS,
        on_prune: Callable[[str], None] | None = None,
        on_limit: Callable[[str], None] | None = None,
        cache: Path | None = None,
    ) -> None:
        super().__init__(
            url,
            engine,
            history_per_mac=history_per_mac,
            history_rows=history_rows,
            history_age_s=history_age_s,
            buffer_rows=buffer_rows,
            on_prune=on_prune,
            on_limit=on_limit,
        )
        self.cache = cache  # the local copy of assignments and settings (JSON)
        self.started_offline = False
        self._migrated = False
        self._cached = False
        self._opened = False
        self._assignments: dict[MacAddress, StoredAssignment] = {}
        self._settings: dict[str, str] = {}
        self._pending_once: list[tuple[MacAddress, str, str, float]] = []

    # --- connection ------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self._opened

    def open(self) -> None:
        """Connect, migrate, load the assignments.

        Unreachable, but a local copy from an earlier run exists: start from that copy, lost
        (the follower reconnects and catches up). Unreachable without one, or a schema this
        version does not know: :class:`StoreError`.
        """
        try:
            conn = self._connect()
        except psycopg.Error as exc:
            reason = why(exc)
            if self.cache is None or not self._load_cache():
                raise StoreError(f"shared store {self.path} unreachable: {reason}") from exc
            self._opened = True
            self.started_offline = True
            self.lost(f"unreachable at start: {reason}")
            return
        try:
            migrate(conn)
        except (psycopg.Error, SchemaTooNew) as exc:
            conn.close()
            raise StoreError(f"shared store {self.path}: {why(exc)}") from exc
        self._migrated = True
        self._conn = conn
        self._opened = True
        self.refresh()

    def _save_cache(self) -> None:
        """The last known assignments and settings, for a start while the database is away."""
        if self.cache is None:
            return
        data = {
            "assignments": [
                [a.mac.hex12, a.entry, a.once, a.hostname, a.reason, a.updated, a.by]
                for a in self._assignments.values()
            ],
            "settings": self._settings,
        }
        tmp = self.cache.with_name(f".{self.cache.name}.tmp")
        try:
            tmp.write_text(json.dumps(data))
            os.replace(tmp, self.cache)
        except OSError as exc:  # a full disk must not stop serving
            log.warning("local copy of the shared store not written: %s", exc)

    def _load_cache(self) -> bool:
        assert self.cache is not None
        try:
            data = json.loads(self.cache.read_text())
            self._assignments = {
                MacAddress(r[0]): StoredAssignment(
                    MacAddress(r[0]), str(r[1]), bool(r[2]), r[3], str(r[4]), float(r[5]), str(r[6])
                )
                for r in data["assignments"]
            }
            self._settings = {str(k): str(v) for k, v in data["settings"].items()}
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            return False
        return True

    def close(self) -> None:
        self._hang_up()
        self._opened = False

    def reconnect(self) -> tuple[set[MacAddress], int]:
        """Back online: write what waited, re-read the rest. (MACs whose decision changed,
        history rows written.) Raises :class:`StoreError` if still unreachable."""
        if not self.online:
            try:
                self._conn = self._connect()
                if not self._migrated:  # started from the local copy
                    migrate(self._conn)
                    self._migrated = True
            except (psycopg.Error, SchemaTooNew) as exc:
                raise StoreError(f"shared store {self.path} still unreachable: {why(exc)}") from exc
        once, self._pending_once = self._pending_once, []
        for index, (mac, entry, local, ts) in enumerate(once):
            try:
                self._run(self._once_writer(mac, entry, local, ts))
            except StoreError:
                self._pending_once = once[index:] + self._pending_once
                raise
        written = self._flush_pending()
        self.lost_since = None
        self.lost_reason = ""
        return self.refresh(), written

    # --- assignments and settings ----------------------------------------------------------

    def refresh(self) -> set[MacAddress]:
        """Re-read assignments and settings; the MACs whose assignment changed (and
        ``DEFAULTS`` in the set's place when a setting changed is reported by the caller)."""

        def read(conn: psycopg.Connection[Any]) -> tuple[list[Any], list[Any]]:
            rows = conn.execute(
                "SELECT mac, entry, once, hostname, reason, updated, by_user FROM assignments"
            ).fetchall()
            settings = conn.execute("SELECT key, value FROM settings").fetchall()
            return rows, settings

        rows, settings = self._run(read)
        fresh = {
            MacAddress(r[0]): StoredAssignment(
                MacAddress(r[0]), r[1], bool(r[2]), r[3], r[4], float(r[5]), r[6]
            )
            for r in rows
        }
        changed = {
            mac
            for mac in set(fresh) | set(self._assignments)
            if fresh.get(mac) != self._assignments.get(mac)
        }
        fresh_settings = {str(k): str(v) for k, v in settings}
        if changed or fresh_settings != self._settings or not self._cached:
            self._assignments = fresh
            self._settings = fresh_settings
            self._save_cache()
            self._cached = True
        return changed

    def assignments(self) -> dict[MacAddress, StoredAssignment]:
        return dict(sorted(self._assignments.items()))

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

        def tx(conn: psycopg.Connection[Any]) -> Any:
            with conn.transaction():
                row = conn.execute(
                    "INSERT INTO assignments (mac, entry, once, hostname, reason, updated, "
                    "by_user, engine) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (mac) DO UPDATE SET entry=excluded.entry, once=excluded.once, "
                    "hostname=COALESCE(excluded.hostname, assignments.hostname), "
                    "reason=excluded.reason, updated=excluded.updated, "
                    "by_user=excluded.by_user, engine=excluded.engine RETURNING hostname",
                    (mac.hex12, entry, once, hostname, reason, now, by, self.engine),
                ).fetchone()
                conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"a:{mac.hex12}"))
                return None if row is None else row[0]

        stored_hostname = self._run(tx)
        stored = StoredAssignment(mac, entry, once, stored_hostname, reason, now, by)
        self._assignments[mac] = stored
        self._save_cache()
        return stored

    def unassign(self, mac: MacAddress) -> bool:
        def tx(conn: psycopg.Connection[Any]) -> bool:
            with conn.transaction():
                cur = conn.execute("DELETE FROM assignments WHERE mac = %s", (mac.hex12,))
                conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"a:{mac.hex12}"))
                return cur.rowcount > 0

        removed: bool = self._run(tx)
        self._assignments.pop(mac, None)
        self._save_cache()
        return removed

    def _once_tx(
        self, conn: psycopg.Connection[Any], mac: MacAddress, entry: str, local: str, ts: float
    ) -> None:
        with conn.transaction():
            conn.execute(
                "INSERT INTO assignments (mac, entry, once, hostname, reason, updated, engine) "
                "VALUES (%s, %s, false, NULL, 'once', %s, %s) ON CONFLICT (mac) DO UPDATE SET "
                "entry=excluded.entry, once=false, reason='once', updated=excluded.updated, "
                "by_user='', engine=excluded.engine",
                (mac.hex12, local, ts, self.engine),
            )
            conn.execute(
                "INSERT INTO once_done (mac, entry, ts, engine) VALUES (%s, %s, %s, %s)",
                (mac.hex12, entry, ts, self.engine),
            )
            conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"a:{mac.hex12}"))

    def _once_writer(
        self, mac: MacAddress, entry: str, local: str, ts: float
    ) -> Callable[[psycopg.Connection[Any]], None]:
        return lambda conn: self._once_tx(conn, mac, entry, local, ts)

    def complete_once(self, mac: MacAddress, entry: str, local: str = "local") -> None:
        """Flip *mac* to *local*: in the database, or (while it is away) here and later."""
        now = time.time()
        old = self._assignments.get(mac)
        hostname = old.hostname if old is not None else None
        self._assignments[mac] = StoredAssignment(mac, local, False, hostname, "once", now)
        self._save_cache()
        if not self.online:
            self._pending_once.append((mac, entry, local, now))
            return
        try:
            self._run(self._once_writer(mac, entry, local, now))
        except StoreError:
            self._pending_once.append((mac, entry, local, now))

    def once_done(self, mac: MacAddress) -> list[tuple[str, float]]:
        rows = self._run(
            lambda c: c.execute(
                "SELECT entry, ts FROM once_done WHERE mac = %s ORDER BY id", (mac.hex12,)
            ).fetchall()
        )
        return [(str(r[0]), float(r[1])) for r in rows]

    def setting(self, key: str) -> str | None:
        return self._settings.get(key)

    def set_setting(self, key: str, value: str | None) -> None:
        def tx(conn: psycopg.Connection[Any]) -> None:
            with conn.transaction():
                if value is None:
                    conn.execute("DELETE FROM settings WHERE key = %s", (key,))
                else:
                    conn.execute(
                        "INSERT INTO settings (key, value) VALUES (%s, %s) "
                        "ON CONFLICT (key) DO UPDATE SET value=excluded.value",
                        (key, value),
                    )
                conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"s:{key}"))

        self._run(tx)
        if value is None:
            self._settings.pop(key, None)
        else:
            self._settings[key] = value
        self._save_cache()

    # --- the fleet: engines and their clients ----------------------------------------------

    def heartbeat(self, address: str, services: dict[str, Any]) -> None:
        self._run(
            lambda c: c.execute(
                "INSERT INTO engines (name, address, services, seen) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (name) DO UPDATE SET address=excluded.address, "
                "services=excluded.services, seen=excluded.seen",
                (self.engine, address, Jsonb(services), time.time()),
            )
        )

    def put_clients(self, rows: dict[MacAddress, dict[str, Any]]) -> None:
        """Upsert this engine's client rows (the tracker's JSON view)."""
        if not rows:
            return
        now = time.time()
        params = [(self.engine, mac.hex12, Jsonb(data), now) for mac, data in rows.items()]

        def tx(conn: psycopg.Connection[Any]) -> None:
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO clients (engine, mac, data, updated) VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT (engine, mac) DO UPDATE SET data=excluded.data, "
                    "updated=excluded.updated",
                    params,
                )

        self._run(tx)

    def engines(self) -> list[dict[str, Any]]:
        rows = self._run(
            lambda c: c.execute(
                "SELECT name, address, services, seen FROM engines ORDER BY name"
            ).fetchall()
        )
        return [{"name": r[0], "address": r[1], "services": r[2], "seen": r[3]} for r in rows]

    def other_clients(self, since: float = 0.0) -> list[tuple[str, dict[str, Any], float]]:
        """(engine, client row, updated) of every other engine's clients updated after *since*."""
        rows = self._run(
            lambda c: c.execute(
                "SELECT engine, data, updated FROM clients WHERE engine <> %s AND updated > %s "
                "ORDER BY updated",
                (self.engine, since),
            ).fetchall()
        )
        return [(str(r[0]), dict(r[1]), float(r[2])) for r in rows]
