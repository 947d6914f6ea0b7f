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
BEFORE_ATTACH = "— before this console attached —"
LIVE = "— live —"
REATTACHED = "— re-attached —"
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
        self._newest_ts: float | None = None  # of the newest event line written

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

    def show_past(self, past: Sequence[Event]) -> None:
        """Write the engine's recent events (from an attach or re-attach snapshot).

        First attach: the whole ring under "before this console attached", the way the
        client log marks its stored history. Re-attach (engine restarted or the link was
        lost): only what is newer than the last line shown, so nothing is doubled and the
        gap while detached is filled. Lines still queued from the old connection are in
        the engine's ring, so they are dropped here rather than written twice."""
        self._pending.clear()
        self._hidden = 0
        if self._newest_ts is None:
            older = list(past)
            head = BEFORE_ATTACH
        else:
            newest = self._newest_ts
            older = [event for event in past if event.ts > newest]
            count = f"{len(older)} event{'' if len(older) == 1 else 's'}"
            head = f"— re-attached; meanwhile: {count} —" if older else REATTACHED
        lines = [Text(head, style="dim")]
        lines.extend(event_line(event) for event in older[-MAX_LINES:])
        if older:
            lines.append(Text(LIVE, style="dim"))
            self._newest_ts = max(self._newest_ts or 0.0, older[-1].ts)
        self.write_lines(lines)

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
        if self._pending:
            self._newest_ts = max(self._newest_ts or 0.0, self._pending[-1].ts)
        self._pending.clear()
        self._hidden = 0
        self.write_lines(lines)
