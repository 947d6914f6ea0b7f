"""A bounded, coalescing queue per subscriber: a slow UI must never slow the engine.

The bus calls :meth:`SubscriberQueue.put` synchronously for every event. Progress and client
updates are replaced in place when an older one for the same key is still waiting (the UI only
needs the newest), everything else is queued in order. When the queue is full the subscriber
is marked overflowed and gets dropped by its writer, instead of the engine blocking.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Hashable

from pxetui.core.events import ClientUpdated, Event, TransferProgress

DEFAULT_DEPTH = 2000


def coalesce_key(event: Event) -> Hashable | None:
    """Events that may replace an older queued one of the same key (newest state wins)."""
    if isinstance(event, TransferProgress):
        return ("progress", event.transfer_id)
    if isinstance(event, ClientUpdated):
        return ("client", event.mac)
    return None


class SubscriberQueue:
    def __init__(self, depth: int = DEFAULT_DEPTH) -> None:
        self._depth = depth
        self._order: deque[Event | Hashable] = deque()
        self._latest: dict[Hashable, Event] = {}
        self._ready = asyncio.Event()
        self.overflowed = False

    def __len__(self) -> int:
        return len(self._order)

    def put(self, event: Event) -> None:
        """Queue *event* (never blocks); sets :attr:`overflowed` when the subscriber lags."""
        if self.overflowed:
            return
        key = coalesce_key(event)
        if key is not None and key in self._latest:
            self._latest[key] = event
            return
        if len(self._order) >= self._depth:
            self.overflowed = True
            self._order.clear()
            self._latest.clear()
            self._ready.set()
            return
        if key is None:
            self._order.append(event)
        else:
            self._latest[key] = event
            self._order.append(_Key(key))
        self._ready.set()

    def get_nowait(self) -> Event | None:
        """The next event if one is waiting, else ``None`` (check :attr:`overflowed`)."""
        if self.overflowed or not self._order:
            return None
        item = self._order.popleft()
        if isinstance(item, _Key):
            return self._latest.pop(item.key)
        assert isinstance(item, Event)
        return item

    async def get(self) -> Event | None:
        """The next event, or ``None`` once the queue overflowed."""
        while not self._order:
            if self.overflowed:
                return None
            self._ready.clear()
            await self._ready.wait()
        if self.overflowed:
            return None
        item = self._order.popleft()
        if isinstance(item, _Key):
            return self._latest.pop(item.key)
        assert isinstance(item, Event)
        return item


class _Key:
    """A placeholder in the order deque for the newest event of a coalescing key."""

    __slots__ = ("key",)

    def __init__(self, key: Hashable) -> None:
        self.key = key
