"""The store's contract, as the engine, the history batcher and the control API use it."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Protocol

from pxetui.core.events import Event
from pxetui.core.mac import MacAddress
from pxetui.engine.persist import StoredAssignment


class StoreError(RuntimeError):
    """The store refused or could not be reached; the message says which and why."""


STORE_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, StoreError)
"""What a store call may raise for a failed read or write (not a programming error)."""


class Store(Protocol):
    """Assignments, one-shot records, settings and per-client history."""

    @property
    def path(self) -> Path | str:
        """Where it is, for messages (a URL without its password)."""
        ...

    @property
    def is_open(self) -> bool: ...
    def open(self) -> None: ...
    def close(self) -> None: ...
    def assignments(self) -> dict[MacAddress, StoredAssignment]: ...
    def assign(
        self,
        mac: MacAddress,
        entry: str,
        *,
        once: bool = False,
        hostname: str | None = None,
        reason: str = "operator",
        by: str = "",
    ) -> StoredAssignment: ...
    def unassign(self, mac: MacAddress) -> bool: ...
    def complete_once(self, mac: MacAddress, entry: str, local: str = "local") -> None: ...
    def setting(self, key: str) -> str | None: ...
    def set_setting(self, key: str, value: str | None) -> None: ...
    def record_many(self, items: list[tuple[MacAddress, Event]]) -> None: ...
    def macs_with_history(self) -> list[MacAddress]: ...
    def history(self, mac: MacAddress, limit: int = 100) -> list[dict[str, Any]]: ...
