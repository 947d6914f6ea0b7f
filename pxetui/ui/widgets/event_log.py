"""The all-events log: a bounded ring of one-line events, newest at the bottom.

It can be narrowed to one kind of event (:data:`pxetui.ui.event_text.EVENT_KINDS`): the
filter applies to what arrives (so under a flood of transfers every error still gets its
line) and re-filters the lines already kept; lines that arrived while another filter was
on were never kept, the engine's log has them."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence

from rich.text import Text

from pxetui.core.events import Event
from pxetui.ui.event_text import EVENT_KINDS, event_kinds, event_line
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
EVERY_KIND: frozenset[str] = frozenset(EVENT_KINDS)
"""The kinds of a line that shows under every filter (dividers, counts)."""
TITLE = "all events"


class EventLog(LineLog):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(max_lines=MAX_LINES, id=id)
        self.skipped = 0
        self._pending: deque[Event] = deque(maxlen=PER_WRITE)
        self._hidden = 0
        self._last_write = 0.0
        self._flush_armed = False
        self._newest_ts: float | None = None  # of the newest event line written
        self.kind: str | None = None  # None: every kind
        self._kept: deque[tuple[frozenset[str], Text]] = deque(maxlen=MAX_LINES)

    def on_mount(self) -> None:
        self.border_title = TITLE

    # --- the kind filter ------------------------------------------------------------------

    def set_kind(self, kind: str | None) -> None:
        """Show only events of *kind* (one of EVENT_KINDS), or every kind with None."""
        if kind is not None and kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {kind!r} (one of {', '.join(EVENT_KINDS)})")
        self.kind = kind
        self.border_title = TITLE if kind is None else f"events: {kind} only"
        self.flush()
        super().clear()
        super().write_lines(line for kinds, line in self._kept if self._shows(kinds))

    def next_kind(self) -> str | None:
        """The filter after the current one: every kind, then each kind in turn."""
        order: list[str | None] = [None, *EVENT_KINDS]
        return order[(order.index(self.kind) + 1) % len(order)]

    def _shows(self, kinds: frozenset[str]) -> bool:
        return self.kind is None or self.kind in kinds

    def _write(self, lines: list[tuple[frozenset[str], Text]]) -> None:
        self._kept.extend(lines)
        super().write_lines(line for kinds, line in lines if self._shows(kinds))

    def add_events(self, events: Sequence[Event], dropped: int = 0) -> None:
        """Queue *events* (those of the filter's kind); write the newest of them at most
        every WRITE_INTERVAL."""
        if self.kind is not None:
            kind = self.kind
            events = [event for event in events if kind in event_kinds(event)]
            dropped = 0  # of unknown kinds: not counted under a filter
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
        lines = [(EVERY_KIND, Text(head, style="dim"))]
        lines.extend((event_kinds(event), event_line(event)) for event in older[-MAX_LINES:])
        if older:
            lines.append((EVERY_KIND, Text(LIVE, style="dim")))
            self._newest_ts = max(self._newest_ts or 0.0, older[-1].ts)
        self._write(lines)

    def flush(self) -> None:
        """Write what is queued, as one write."""
        self._flush_armed = False
        if not self._pending and not self._hidden:
            return
        self._last_write = time.monotonic()
        lines: list[tuple[frozenset[str], Text]] = []
        if self._hidden:
            self.skipped += self._hidden
            what = "events" if self.kind is None else f"{self.kind} events"
            more = Text(f"… {self._hidden} more {what} (in the engine's log)", style="dim")
            lines.append((EVERY_KIND if self.kind is None else frozenset({self.kind}), more))
        lines.extend((event_kinds(event), event_line(event)) for event in self._pending)
        if self._pending:
            self._newest_ts = max(self._newest_ts or 0.0, self._pending[-1].ts)
        self._pending.clear()
        self._hidden = 0
        self._write(lines)
