"""Which store a profile asks for: SQLite in its state dir, or ``store: postgresql://…``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pxetui.core.events import Event
from pxetui.core.profile.model import Profile
from pxetui.engine.limits import LimitNotice
from pxetui.engine.persist import EngineDatabase
from pxetui.engine.store.protocol import Store


def open_store(profile: Profile, state_dir: Path, publish: Callable[[Event], None]) -> Store:
    """The store for *profile* (not opened yet). The profile's name names the engine."""
    limits = profile.limits
    on_prune = LimitNotice(publish, "history pruned (limits.history_rows, limits.history_days)").hit
    if profile.store is None:
        return EngineDatabase(
            state_dir / "pxetui.db",
            history_rows=limits.history_rows,
            history_age_s=limits.history_days * 86400,
            on_prune=on_prune,
        )
    # Imported here: psycopg is only needed by engines that share a store.
    from pxetui.engine.store.postgres import PostgresStore

    return PostgresStore(
        profile.store,
        profile.name,
        history_rows=limits.history_rows,
        history_age_s=limits.history_days * 86400,
        on_prune=on_prune,
        on_limit=LimitNotice(publish, "history buffer while the shared store is away").hit,
        cache=state_dir / "store-copy.json",
    )
