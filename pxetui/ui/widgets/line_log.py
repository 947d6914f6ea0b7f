"""A bounded, scrollable log of one-line Text entries that never asks for a layout pass.

Why not ``RichLog``: every write grows its virtual size, and a virtual-size change is a
layout of the whole screen. Measured with 5,000 events/s, those layouts were most of the
frame time, and frames were what a key press waited behind. This log has a fixed size in
CSS, keeps its lines in a ring, draws only the visible ones (each line rendered once per
width, then cached), and scrolls with its own offset: ↑ ↓ PgUp PgDn, End to follow again,
the mouse wheel.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget


class LineLog(Widget, can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "scroll_lines(1)", "Older", show=False),
        Binding("down", "scroll_lines(-1)", "Newer", show=False),
        Binding("pageup", "scroll_pages(1)", "Page up", show=False),
        Binding("pagedown", "scroll_pages(-1)", "Page down", show=False),
        Binding("end", "follow", "Follow", show=False),
    ]

    def __init__(self, max_lines: int = 1_000, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._lines: deque[Text] = deque(maxlen=max_lines)
        self._strips: dict[int, Strip] = {}  # id(Text) -> rendered at self._strip_width
        self._strip_width = -1
        self.back = 0  # lines scrolled back from the newest (0: following)
        self._base: Style | None = None

    # --- content --------------------------------------------------------------------------

    def write_lines(self, lines: Iterable[Text]) -> None:
        """Append lines (oldest fall off the ring) and repaint; no layout."""
        added = 0
        for line in lines:
            if len(self._lines) == self._lines.maxlen:
                self._strips.pop(id(self._lines[0]), None)
            self._lines.append(line)
            added += 1
        if added:
            if self.back:
                self.back = min(self.back + added, self._max_back())
            self.refresh()

    def clear(self) -> None:
        self._lines.clear()
        self._strips.clear()
        self.back = 0
        self.refresh()

    @property
    def plain_lines(self) -> list[str]:
        """The text of every line kept, oldest first (for tests and copy-out)."""
        return [line.plain for line in self._lines]

    # --- scrolling ------------------------------------------------------------------------

    def _max_back(self) -> int:
        return max(0, len(self._lines) - self.size.height)

    def action_scroll_lines(self, delta: int) -> None:
        self.back = max(0, min(self.back + delta, self._max_back()))
        self.refresh()

    def action_scroll_pages(self, delta: int) -> None:
        self.action_scroll_lines(delta * max(1, self.size.height - 1))

    def action_follow(self) -> None:
        self.back = 0
        self.refresh()

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self.action_scroll_lines(3)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self.action_scroll_lines(-3)

    # --- drawing --------------------------------------------------------------------------

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._lines)

    def render_lines(self, crop: Region) -> list[Strip]:
        self._base = self.rich_style  # once per repaint (resolving it walks the DOM)
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width, height = self.size
        base = self._base if self._base is not None else self.rich_style
        if width != self._strip_width:
            self._strips.clear()
            self._strip_width = width
        if self.back and y == height - 1:
            marker = Text(f"^ {self.back} newer lines below (End follows)", style="reverse")
            return Strip(list(marker.render(self.app.console, end=""))).crop_extend(0, width, base)
        index = max(0, len(self._lines) - height - self.back) + y
        if not 0 <= index < len(self._lines):
            return Strip.blank(width, base)
        line = self._lines[index]
        strip = self._strips.get(id(line))
        if strip is None:
            segments = list(line.render(self.app.console, end=""))
            strip = self._strips[id(line)] = Strip(segments).crop_extend(0, width, None)
        return strip.apply_style(base)
