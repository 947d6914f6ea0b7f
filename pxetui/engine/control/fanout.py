"""A bounded, coalescing queue per subscriber: a slow UI must never slow the engine.

The bus calls :meth:`SubscriberQueue.put` synchronously for every event; the subscriber's
writer takes what waits (at most :data:`EVENTS_PER_TICK`) in one :meth:`SubscriberQueue.take`
per *tick* (a few times a second, and only once the previous tick was written), so its work
is bounded by what a console can show, not by the event rate. Three classes of event:

* **Newest wins** — client rows (``ClientUpdated``) and transfer progress: an older one
  still waiting for the same client or transfer is replaced in place. Bounded by the
  clients and transfers the engine tracks; a slow subscriber gets fewer, bigger ticks with
  the latest rows, never a growing queue.
* **Log lines** — DHCP, transfer starts/ends, misses, raw log lines: at most
  :data:`LOG_LINES_PER_TICK` wait; more are counted as *skipped* and the count goes out
  with the tick (the console says "… N more events"). The engine's own log has them all.
  Failures (a transfer failed, a request refused) have a budget of their own of the same
  size, so a flood of routine lines never hides one.
* **Everything else** (services, assignments, engine messages, boot files) is kept in
  order, up to the queue's depth; past it the subscriber is marked overflowed and its
  writer drops it with ``{"error": "too slow"}`` — the last resort, with its log line.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass, field

from pxetui.core.events import (
    ClientUpdated,
    DhcpEvent,
    Event,
    FileNotFound,
    RawLogEvent,
    RequestRefused,
    TransferEvent,
    TransferFailed,
    TransferProgress,
)

DEFAULT_DEPTH = 2000
"""Kept (never-skipped) events waiting for one subscriber before it is dropped."""
LOG_LINES_PER_TICK = 250
"""Log lines waiting for one subscriber's next tick; more are counted, not sent."""
EVENTS_PER_TICK = 300
"""Events in one tick: client rows grow with a client's boots (8 KiB measured), so 1,000
changed rows at once were a 9 MiB write; the rest wait for the next tick, coalescing."""

_LOG_KINDS = (TransferEvent, FileNotFound, RequestRefused, DhcpEvent, RawLogEvent)
_FAILURE_KINDS = (TransferFailed, RequestRefused)


def coalesce_key(event: Event) -> Hashable | None:
    """Events that may replace an older queued one of the same key (newest state wins)."""
    if isinstance(event, TransferProgress):
        return ("progress", event.transfer_id)
    if isinstance(event, ClientUpdated):
        return ("client", event.mac)
    return None


def is_log_line(event: Event) -> bool:
    """Events a console only shows as lines, which may be skipped under a flood."""
    return isinstance(event, _LOG_KINDS)


def is_failure(event: Event) -> bool:
    """Log lines that say something went wrong: budgeted apart from routine ones."""
    return isinstance(event, _FAILURE_KINDS)


@dataclass
class Tick:
    """What one subscriber gets at once: events in order, plus what it will not get."""

    events: list[Event] = field(default_factory=list)
    coalesced: int = 0
    """Events replaced by a newer one of the same client or transfer before being sent."""
    skipped: int = 0
    """Log lines not sent (over :data:`LOG_LINES_PER_TICK` between two ticks)."""

    def __bool__(self) -> bool:
        return bool(self.events or self.coalesced or self.skipped)


class SubscriberQueue:
    def __init__(self, depth: int = DEFAULT_DEPTH, log_lines: int = LOG_LINES_PER_TICK) -> None:
        self._depth = depth
        self._log_lines = log_lines
        self._order: deque[Event | _Key] = deque()
        self._latest: dict[Hashable, Event] = {}
        self._kept = 0  # kept events in _order (bounded by depth)
        self._logs = 0  # routine log lines in _order (bounded by log_lines)
        self._failures = 0  # failure lines in _order (bounded by log_lines too)
        self._coalesced = 0
        self._skipped = 0
        self._ready = asyncio.Event()
        self.overflowed = False

    def __len__(self) -> int:
        return len(self._order)

    def put(self, event: Event) -> None:
        """Queue *event* (never blocks); sets :attr:`overflowed` when the subscriber lags."""
        if self.overflowed:
            return
        key = coalesce_key(event)
        if key is not None:
            if key in self._latest:
                self._latest[key] = event
                self._coalesced += 1
                return
            self._latest[key] = event
            self._order.append(_Key(key))
        elif is_failure(event):
            if self._failures >= self._log_lines:
                self._skipped += 1
                return
            self._failures += 1
            self._order.append(event)
        elif is_log_line(event):
            if self._logs >= self._log_lines:
                self._skipped += 1
                return
            self._logs += 1
            self._order.append(event)
        else:
            if self._kept >= self._depth:
                self.overflowed = True
                self._order.clear()
                self._latest.clear()
                self._ready.set()
                return
            self._kept += 1
            self._order.append(event)
        self._ready.set()

    def take(self, most: int | None = None) -> Tick:
        """What waits, in order (at most *most* events: the rest wait for the next tick,
        still coalescing), with the counts of what was coalesced or skipped."""
        tick = Tick(coalesced=self._coalesced, skipped=self._skipped)
        self._coalesced = self._skipped = 0
        if self.overflowed:
            return tick
        if most is None or most >= len(self._order):
            order, self._order = self._order, deque()
            latest, self._latest = self._latest, {}
            self._kept = self._logs = self._failures = 0
            tick.events = [latest[item.key] if isinstance(item, _Key) else item for item in order]
            self._ready.clear()
            return tick
        while len(tick.events) < most:
            event = self.get_nowait()
            if event is None:
                break
            tick.events.append(event)
        return tick

    def get_nowait(self) -> Event | None:
        """The next event if one is waiting, else ``None`` (check :attr:`overflowed`)."""
        if self.overflowed or not self._order:
            return None
        item = self._order.popleft()
        if isinstance(item, _Key):
            return self._latest.pop(item.key)
        if is_failure(item):
            self._failures -= 1
        elif is_log_line(item):
            self._logs -= 1
        else:
            self._kept -= 1
        return item

    async def wait(self) -> None:
        """Until something waits to be taken (or the queue overflowed)."""
        while not (self._order or self._coalesced or self._skipped or self.overflowed):
            self._ready.clear()
            await self._ready.wait()

    async def get(self) -> Event | None:
        """The next event, or ``None`` once the queue overflowed."""
        while True:
            await self.wait()
            if self.overflowed:
                return None
            event = self.get_nowait()
            if event is not None:
                return event
            self._coalesced = self._skipped = 0  # counts only: nothing to hand out


class _Key:
    """A placeholder in the order deque for the newest event of a coalescing key."""

    __slots__ = ("key",)

    def __init__(self, key: Hashable) -> None:
        self.key = key
