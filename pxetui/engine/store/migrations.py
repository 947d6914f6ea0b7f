"""The shared store's schema: plain numbered SQL, applied in order, each exactly once.

Why not alembic: it brings SQLAlchemy for a handful of tables that pxetui reads with plain
SQL; a numbered list is as reviewable, needs nothing, and ``schema_version`` says where a
database is. Engines of different versions may start at once: a transaction-scoped advisory
lock serialises them, and an engine that finds a *newer* schema than it knows refuses to
start instead of writing rows it does not understand.
"""

from __future__ import annotations

from typing import Any

MIGRATIONS: tuple[tuple[int, str], ...] = (
    (
        1,
        """
CREATE TABLE assignments (
    mac      text PRIMARY KEY,
    entry    text NOT NULL,
    once     boolean NOT NULL DEFAULT false,
    hostname text,
    reason   text NOT NULL DEFAULT 'operator',
    updated  double precision NOT NULL,
    by_user  text NOT NULL DEFAULT '',
    engine   text NOT NULL DEFAULT ''
);
CREATE TABLE once_done (
    id     bigserial PRIMARY KEY,
    mac    text NOT NULL,
    entry  text NOT NULL,
    ts     double precision NOT NULL,
    engine text NOT NULL
);
CREATE TABLE settings (
    key   text PRIMARY KEY,
    value text NOT NULL
);
CREATE TABLE history (
    id     bigserial PRIMARY KEY,
    engine text NOT NULL,
    mac    text NOT NULL,
    ts     double precision NOT NULL,
    kind   text NOT NULL,
    data   jsonb NOT NULL
);
CREATE INDEX history_mac ON history (mac, id);
CREATE INDEX history_engine ON history (engine, id);
CREATE INDEX history_ts ON history (ts);
CREATE TABLE engines (
    name     text PRIMARY KEY,
    address  text NOT NULL DEFAULT '',
    services jsonb NOT NULL DEFAULT '{}',
    seen     double precision NOT NULL
);
CREATE TABLE clients (
    engine  text NOT NULL,
    mac     text NOT NULL,
    data    jsonb NOT NULL,
    updated double precision NOT NULL,
    PRIMARY KEY (engine, mac)
);
CREATE INDEX clients_updated ON clients (updated);
""",
    ),
)
LATEST = MIGRATIONS[-1][0]
_LOCK = 0x70787475  # "pxtu": pg_advisory_xact_lock key for migrations


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer pxetui."""


def migrate(conn: Any) -> list[int]:
    """Apply the missing migrations in one transaction; the versions applied, in order.

    *conn* is a psycopg connection (autocommit); typed loosely so this module stays plain.
    """
    applied: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            "version integer PRIMARY KEY, applied double precision NOT NULL)"
        )
        row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
        current = int(row[0])
        if current > LATEST:
            raise SchemaTooNew(
                f"the shared store's schema is version {current}, this pxetui knows up to "
                f"{LATEST}: upgrade pxetui on this engine"
            )
        for version, sql in MIGRATIONS:
            if version <= current:
                continue
            conn.execute(sql)
            conn.execute(
                "INSERT INTO schema_version (version, applied) "
                "VALUES (%s, extract(epoch from now()))",
                (version,),
            )
            applied.append(version)
    return applied
