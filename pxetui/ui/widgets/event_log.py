"""The all-events log: a bounded ring of one-line events, newest at the bottom."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence

from rich.text import Text

from pxetui.core.events import Event
from pxetui.ui.event_text import event_line
from pxetui.ui.widgets.line_log import LineLog

MAX_LINES = 1_000
"""Ring size of the widget: older lines fall off the top."""
PER_WRITE = 12
"""Lines written per write; above that, a count says how many were skipped. Measured at
5,000 events/s: rendering every line cost the key press its latency, and nobody reads
500 lines a second anyway — the engine's JSON log has them all."""
WRITE_INTERVAL = 0.25
"""Seconds between writes: lines arriving in between wait (bounded) for the next one."""


class EventLog(LineLog):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(max_lines=MAX_LINES, id=id)
        self.skipped = 0
        self._pending: deque[Event] = deque(maxlen=PER_WRITE)
        self._hidden = 0
        self._last_write = 0.0
        self._flush_armed = False

    def add_events(self, events: Sequence[Event], dropped: int = 0) -> None:
        """Queue *events*; write the newest of them at most every WRITE_INTERVAL."""
        overflow = max(0, len(self._pending) + len(events) - PER_WRITE)
        self._hidden += overflow + dropped
        self._pending.extend(events[-PER_WRITE:])
        if time.monotonic() - self._last_write >= WRITE_INTERVAL:
            self.flush()
        elif not self._flush_armed:
            self._flush_armed = True
            self.set_timer(WRITE_INTERVAL, self.flush, name="event-log-flush")

    def flush(self) -> None:
        """Write what is queued, as one write."""
        self._flush_armed = False
        if not self._pending and not self._hidden:
            return
        self._last_write = time.monotonic()
        lines: list[Text] = []
        if self._hidden:
            self.skipped += self._hidden
            lines.append(Text(f"… {self._hidden} more events (in the engine's log)", style="dim"))
        lines.extend(event_line(event) for event in self._pending)
        self._pending.clear()
        self._hidden = 0
        self.write_lines(lines)
