"""The client table: one row per MAC, sortable, filterable, cheap at 1,000 busy clients.

Why not ``DataTable``: measured with 1,000 clients and 5,000 events/s, a DataTable tick
re-rendered every visible cell as Rich Text (its row cache is invalidated by any cell
update), and the screen managed about one frame a second. This widget draws each visible
row as one pre-formatted line (Line API: one ``Strip`` per row), formats a row only when it
is drawn after its client changed, and repaints only when a changed client is on screen
or the order changed. A batch (one drain, ≤10 per second) is then a few dict updates.
How a row or the header becomes segments is :mod:`pxetui.ui.widgets.table_lines`.

Keys: ↑ ↓ PgUp PgDn Home End move, Enter opens the client, ``s``/``S`` sort; the mouse
can click a row, a header (sort, again to reverse) and scroll.
"""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from pxetui.core.mac import MacAddress
from pxetui.core.wire import ClientRow
from pxetui.ui.client_rows import COLUMNS, Layout, layout, matches, row_cells, sort_key
from pxetui.ui.event_text import TONES
from pxetui.ui.widgets.table_lines import (
    SEPARATE,
    header_segments,
    header_text,
    row_parts,
    row_segments,
)

MIN_ROWS = 3
"""Client rows the table keeps on screen when it has fewer (or none)."""
EMPTY = "no clients yet: they appear with their first DHCP request"


class ClientTable(Widget, can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "cursor_to(0)", "First", show=False),
        Binding("end", "cursor_to(-1)", "Last", show=False),
        Binding("enter", "select", "Detail", show=False),
        Binding("s", "cycle_sort", "Sort", show=False),
        Binding("S", "reverse_sort", "Reverse", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "client-table--header",
        "client-table--cursor",
        "client-table--odd",
    }
    # Styles: console.tcss (ClientTable > .client-table--header / --cursor / --odd).

    cursor_row: reactive[int] = reactive(0, layout=False, repaint=False, always_update=False)

    class ClientHighlighted(Message):
        """The cursor moved to a client (or to none: an empty table)."""

        def __init__(self, mac: MacAddress | None) -> None:
            super().__init__()
            self.mac = mac

    class ClientSelected(Message):
        """Enter (or a click on the cursor row): open this client."""

        def __init__(self, mac: MacAddress) -> None:
            super().__init__()
            self.mac = mac

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.states: dict[MacAddress, ClientRow] = {}
        self._cells: dict[MacAddress, tuple[str, ...]] = {}  # formatted, all columns
        self._order: list[MacAddress] = []  # the filtered, sorted view
        self._index: dict[MacAddress, int] = {}
        self._order_dirty = False
        self.filter_text = ""
        self.sort_column: str | None = None
        self.sort_reverse = False
        self.top = 0  # first row on screen
        self._layout: Layout = layout(80)
        self._highlighted: MacAddress | None = None
        self._style_cache: tuple[Style, Style, Style, Style] | None = None
        self._tone_cache: dict[tuple[Style, str], Style] = {}
        self._capped = False  # the last layout gave fewer lines than the rows want

    # --- geometry -------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self._order)

    @property
    def page(self) -> int:
        """Rows on screen (the header takes one line)."""
        return max(1, self.size.height - 1)

    def on_resize(self) -> None:
        fitted = layout(self.size.width)
        if fitted.short_phase != self._layout.short_phase:
            self._cells.clear()  # the Phase words change with the column's width
        self._layout = fitted
        self._capped = self.size.height < max(len(self._order), MIN_ROWS) + 1
        self._scroll_to_cursor()
        self.refresh()

    def _fit_height(self) -> None:
        """Ask for a layout when the number of rows changes what the table wants: it takes
        the height it needs (CSS caps it); with few clients the logs get the rest."""
        want = max(len(self._order), MIN_ROWS) + 1
        height = self.size.height
        if want < height or (want > height and not self._capped):
            self.refresh(layout=True)

    # --- data -----------------------------------------------------------------------------

    def apply(self, clients: dict[MacAddress, ClientRow]) -> None:
        """Fold a batch of client states in; repaint only if something visible changed."""
        if not clients:
            return
        visible = False
        first, last = self.top, self.top + self.page
        filtering = bool(self.filter_text.strip())
        for mac, state in clients.items():
            self.states[mac] = state
            self._cells.pop(mac, None)
            index = self._index.get(mac)
            if filtering and not matches(state, self.filter_text):
                if index is not None:
                    self._order_dirty = True  # it leaves the view
                continue
            if index is None:
                self._order.append(mac)
                self._index[mac] = len(self._order) - 1
                if self.sort_column is not None:
                    self._order_dirty = True
                visible = visible or len(self._order) - 1 <= last
            else:
                visible = visible or first <= index <= last
                if self.sort_column is not None:
                    self._order_dirty = True
        if self._order_dirty:
            self._rebuild_order()
            visible = True
        self._fit_height()
        if visible:
            self.refresh()
        self._announce()

    def set_filter(self, text: str) -> None:
        """Show only rows where every word of *text* appears."""
        self.filter_text = text
        self._rebuild_order()
        self.refresh()
        self._announce()

    def sort_by(self, column: str | None, reverse: bool = False) -> None:
        self.sort_column = column
        self.sort_reverse = reverse
        self._rebuild_order()
        self.refresh()

    def reset(self) -> None:
        """Forget every client (a new snapshot follows)."""
        self.states.clear()
        self._cells.clear()
        self._order = []
        self._index = {}
        self._fit_height()
        self.refresh()

    def _rebuild_order(self) -> None:
        """Recompute the view from the states: filter, then stable sort; keep the client."""
        selected = self.selected_mac
        if self.filter_text.strip():
            order = [m for m, s in self.states.items() if matches(s, self.filter_text)]
        else:
            order = list(self.states)
        if self.sort_column is not None:
            column = next(i for i, c in enumerate(COLUMNS) if c.key == self.sort_column)
            key = sort_key(self.sort_column)
            order.sort(key=lambda m: key(self._row(m)[column]), reverse=self.sort_reverse)
        self._order = order
        self._index = {mac: i for i, mac in enumerate(order)}
        self._order_dirty = False
        self._fit_height()
        if selected is not None and selected in self._index:
            self.set_reactive(ClientTable.cursor_row, self._index[selected])
        else:
            self.set_reactive(ClientTable.cursor_row, min(self.cursor_row, max(0, len(order) - 1)))
        self._scroll_to_cursor()

    def _row(self, mac: MacAddress) -> tuple[str, ...]:
        cells = self._cells.get(mac)
        if cells is None:
            cells = self._cells[mac] = row_cells(self.states[mac], self._layout.short_phase)
        return cells

    def get_row_at(self, index: int) -> tuple[str, ...]:
        """The cells (all columns) of the row at *index* in the current view."""
        return self._row(self._order[index])

    # --- selection ------------------------------------------------------------------------

    @property
    def selected_mac(self) -> MacAddress | None:
        if not self._order:
            return None
        return self._order[min(self.cursor_row, len(self._order) - 1)]

    def select_mac(self, mac: MacAddress) -> bool:
        """Move the cursor to *mac*'s row; False when no row shows it."""
        if mac not in self._index:
            return False
        self.cursor_row = self._index[mac]
        return True

    def _announce(self) -> None:
        mac = self.selected_mac
        if mac != self._highlighted:
            self._highlighted = mac
            self.post_message(self.ClientHighlighted(mac))

    def watch_cursor_row(self, old: int, new: int) -> None:
        self._scroll_to_cursor()
        self.refresh()
        self._announce()

    def validate_cursor_row(self, value: int) -> int:
        return max(0, min(value, len(self._order) - 1))

    def _scroll_to_cursor(self) -> None:
        page = self.page
        if self.cursor_row < self.top:
            self.top = self.cursor_row
        elif self.cursor_row >= self.top + page:
            self.top = self.cursor_row - page + 1
        self.top = max(0, min(self.top, max(0, len(self._order) - page)))

    def action_cursor(self, delta: int) -> None:
        self.cursor_row += delta

    def action_page(self, direction: int) -> None:
        self.cursor_row += direction * self.page

    def action_cursor_to(self, index: int) -> None:
        self.cursor_row = index if index >= 0 else len(self._order) - 1

    def action_select(self) -> None:
        mac = self.selected_mac
        if mac is not None:
            self.post_message(self.ClientSelected(mac))

    def action_cycle_sort(self) -> None:
        """Sort by the next shown column (… then back to arrival order)."""
        order: list[str | None] = [c.key for _, c, _ in self._layout.columns]
        order.append(None)
        if self.sort_column not in order:
            self.sort_column = None
        index = order.index(self.sort_column)
        self.sort_by(order[(index + 1) % len(order)], self.sort_reverse)
        self.notify(f"sorted by {self.sort_label}", timeout=1.5)

    def action_reverse_sort(self) -> None:
        self.sort_by(self.sort_column, not self.sort_reverse)

    @property
    def sort_label(self) -> str:
        if self.sort_column is None:
            return "arrival"
        label = next(c.label for c in COLUMNS if c.key == self.sort_column)
        return label + (" (reversed)" if self.sort_reverse else "")

    # --- mouse ----------------------------------------------------------------------------

    def on_click(self, event: events.Click) -> None:
        if event.y == 0:
            column = self._column_at(event.x)
            if column is not None:
                reverse = not self.sort_reverse if column == self.sort_column else False
                self.sort_by(column, reverse)
            return
        index = self.top + event.y - 1
        if 0 <= index < len(self._order):
            if index == self.cursor_row and event.chain >= 2:
                self.action_select()
            self.cursor_row = index

    def _column_at(self, x: int) -> str | None:
        position = 0
        for _, column, width in self._layout.columns:
            position += width + 2
            if x < position:
                return column.key
        return None

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self.top = min(self.top + 3, max(0, len(self._order) - self.page))
        self.refresh()

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self.top = max(0, self.top - 3)
        self.refresh()

    # --- drawing --------------------------------------------------------------------------

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """The rows and the header (CSS caps it so the logs keep their room)."""
        return max(len(self._order), MIN_ROWS) + 1

    def _header(self) -> str:
        position = f" {self.cursor_row + 1 if self._order else 0}/{len(self._order)} "
        return header_text(
            self._layout, self.sort_column, self.sort_reverse, position, self.size.width
        )

    def _styles(self) -> tuple[Style, Style, Style, Style]:
        """(base, header, cursor, odd), computed once per repaint, not once per line:
        resolving a widget's Rich style walks the DOM (measured ~1 ms a call)."""
        if self._style_cache is None:
            base = self.rich_style
            self._style_cache = (
                base,
                base + self.get_component_rich_style("client-table--header"),
                base + self.get_component_rich_style("client-table--cursor"),
                base + self.get_component_rich_style("client-table--odd"),
            )
        return self._style_cache

    def _toned(self, style: Style, tone: str) -> Style:
        key = (style, tone)
        cached = self._tone_cache.get(key)
        if cached is None:
            extra = Style.parse(TONES[tone]) if TONES.get(tone) else Style()
            cached = self._tone_cache[key] = style + extra
        return cached

    def notify_style_update(self) -> None:
        self._style_cache = None
        super().notify_style_update()

    def on_focus(self) -> None:
        self._style_cache = None

    def on_blur(self) -> None:
        self._style_cache = None

    def render_lines(self, crop: Region) -> list[Strip]:
        self._style_cache = None  # once per repaint: theme or focus may have changed
        self._tone_cache.clear()
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base, header, cursor, odd = self._styles()
        if y == 0:
            segments = header_segments(self._header(), self._layout, header, width)
            return Strip(segments, width).crop(0, width)
        index = self.top + y - 1
        if index >= len(self._order):
            if index == 0 and not self.states:
                note = EMPTY[: max(0, width - 1)].ljust(width - 1)
                dim = self._toned(base, "routine")
                return Strip([Segment(" ", base + SEPARATE), Segment(note, dim)], width)
            return Strip([Segment(" " * width, base)], width)
        style = base
        marker = " "
        if index == self.cursor_row:
            style = cursor
            marker = ">"  # the cursor shows without colour too (NO_COLOR, mono ssh)
        elif index % 2:
            style = odd
        mac = self._order[index]
        row = row_parts(self._row(mac), self.states[mac], self._layout, not self.app.no_color)
        segments = row_segments(row, marker, style, self._toned, width)
        return Strip(segments, width).crop(0, width)
