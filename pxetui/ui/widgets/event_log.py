"""The all-events log: a bounded ring of one-line events, newest at the bottom."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import RichLog

from pxetui.core.events import Event
from pxetui.ui.event_text import event_line

MAX_LINES = 1_000
"""Ring size of the widget: older lines fall off the top."""
PER_DRAIN = 40
"""Lines written per drain (10 Hz). Above that, a count says how many were skipped:
rendering 500 lines a tick would cost the key press its latency, and nobody reads them."""


class EventLog(RichLog):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            max_lines=MAX_LINES, markup=False, min_width=20, highlight=False, wrap=False, id=id
        )
        self.skipped = 0

    def add_events(self, events: Sequence[Event], dropped: int = 0) -> None:
        shown = events[-PER_DRAIN:]
        hidden = len(events) - len(shown) + dropped
        if hidden:
            self.skipped += hidden
            self.write(Text(f"… {hidden} more events (in the engine's log)", style="dim"))
        for event in shown:
            self.write(event_line(event))
