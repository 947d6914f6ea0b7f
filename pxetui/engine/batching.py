"""Two ways the engine keeps bursts cheap: batched history rows, coalesced client rows.

* :class:`HistoryBatcher` — at ``synchronous=FULL`` each SQLite commit costs an fsync
  (~2 ms here, see bench/engine_bench.py), too slow to pay per TFTP event on the serving
  loop; rows are written together at most ``HISTORY_FLUSH_S`` later (or every
  ``HISTORY_BATCH`` rows), in one transaction.
* :class:`ClientUpdateCoalescer` — a client's state can change dozens of times a second
  during a transfer; UIs get one ``ClientUpdated`` per client per ``CLIENT_UPDATE_INTERVAL_S``,
  carrying the client's summary row (no boot history: the ``client`` op has the whole row).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from pxetui.core.events import (
    AssignmentChanged,
    BootFilesWritten,
    ClientUpdated,
    DhcpEvent,
    EngineMessage,
    Event,
    FileNotFound,
    RequestRefused,
    TransferEvent,
    TransferProgress,
)
from pxetui.core.mac import MacAddress
from pxetui.core.tracker import ClientTracker
from pxetui.engine.store.protocol import STORE_ERRORS, Store

log = logging.getLogger(__name__)

HISTORY_FLUSH_S = 0.25
HISTORY_BATCH = 200
CLIENT_UPDATE_INTERVAL_S = 0.1  # ClientUpdated at most ~10/s per client


class HistoryBatcher:
    def __init__(self, db: Store, publish: Callable[[Event], None]) -> None:
        self._db = db
        self._publish = publish
        self._rows: list[tuple[MacAddress, Event]] = []
        self._timer: asyncio.TimerHandle | None = None

    def record(self, event: Event, tracker: ClientTracker) -> None:
        """Keep *event* in the history of the MAC it names (or was correlated to)."""
        if isinstance(event, TransferProgress):
            return  # progress is state, not history
        mac: MacAddress | None = None
        if isinstance(event, DhcpEvent | AssignmentChanged | BootFilesWritten):
            mac = event.mac
        elif isinstance(event, TransferEvent):
            mac = tracker.mac_for_transfer(event.transfer_id)
        elif isinstance(event, FileNotFound | RequestRefused):
            mac = tracker.mac_for_ip(event.client_ip)
        if mac is not None:
            self.add(mac, event)

    def add(self, mac: MacAddress, event: Event) -> None:
        self._rows.append((mac, event))
        if len(self._rows) >= HISTORY_BATCH:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(HISTORY_FLUSH_S, self.flush)

    def flush(self) -> None:
        """Write the waiting rows in one transaction; an I/O error is reported, not raised."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        rows, self._rows = self._rows, []
        if not rows or not self._db.is_open:
            return
        try:
            self._db.record_many(rows)
        except STORE_ERRORS as exc:  # disk full, I/O error: keep serving, say so
            log.error("history not written: %s", exc)
            self._publish(EngineMessage(level="error", text=f"history not written: {exc}"))


class ClientUpdateCoalescer:
    def __init__(self, tracker: ClientTracker, publish: Callable[[Event], None]) -> None:
        self._tracker = tracker
        self._publish = publish
        self._dirty: set[MacAddress] = set()
        self._timer: asyncio.TimerHandle | None = None

    def mark(self, macs: set[MacAddress]) -> None:
        """Schedule a ``ClientUpdated`` for each of *macs* (one per interval at most)."""
        if not macs:
            return
        self._dirty |= macs
        if self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(CLIENT_UPDATE_INTERVAL_S, self.flush)

    def flush(self) -> None:
        self._timer = None
        dirty, self._dirty = self._dirty, set()
        for mac in sorted(dirty):
            client = self._tracker.get(mac)
            if client is not None:
                self._publish(ClientUpdated(mac=mac, state=client.summary_dict()))

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
