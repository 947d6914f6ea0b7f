"""Where the engine keeps what it learns and decides: one protocol, two implementations.

* :class:`pxetui.engine.persist.EngineDatabase` — SQLite in the state dir, the embedded
  default: one engine, nothing to run.
* :class:`pxetui.engine.store.postgres.PostgresStore` — ``store: postgresql://…``: several
  engines (racks, rooms) share assignments, one-shot flags, history and client state; a
  change made through any engine reaches the others by LISTEN/NOTIFY
  (:mod:`pxetui.engine.store.follow`).
"""
