"""The engine's short memory of what just happened, for a console that attaches later.

A UI that subscribes gets the engine's *state* (clients, services), but without this its
all-events log would start empty: what the services said at start, the last assignments,
the last misses. The engine keeps a bounded ring of recent events and puts it in the
``state``/``subscribe`` snapshot as ``recent_events``. Transfer progress and client updates
are left out: progress is per block and a client update is the tracker's derived row (both
already reach a UI as state), so they would push the facts an operator reads out of the ring.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from pxetui.core.events import ClientUpdated, Event, TransferProgress, event_to_dict

RECENT_EVENTS = 500
"""Events kept: a few screens of the all-events log, a bounded snapshot line (~150 KB)."""


_NOT_KEPT = (TransferProgress, ClientUpdated)  # a tuple: no union object built per event


def worth_keeping(event: Event) -> bool:
    """False for the noisy, derived kinds a UI gets as state instead of as log lines."""
    return not isinstance(event, _NOT_KEPT)


class RecentEvents:
    """A bus subscriber holding the newest :data:`RECENT_EVENTS` log-worthy events."""

    def __init__(self, size: int = RECENT_EVENTS) -> None:
        self._ring: deque[Event] = deque(maxlen=size)

    def __len__(self) -> int:
        return len(self._ring)

    def add(self, event: Event) -> None:
        """Called by the bus for every event: an isinstance and an append, nothing more."""
        if worth_keeping(event):
            self._ring.append(event)

    def events(self) -> list[Event]:
        """The ring, oldest first."""
        return list(self._ring)

    def dicts(self) -> list[dict[str, Any]]:
        """The ring as event dicts, oldest first (encoded only when a snapshot asks)."""
        return [event_to_dict(event) for event in self._ring]
