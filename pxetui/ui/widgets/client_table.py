"""The client table: one row per MAC, updated in batches, sortable and filterable.

Rows are keyed by the MAC's hex digits. A batch (one drain, ≤10 per second) touches only
the cells that changed, so 1,000 clients ticking away cost a few hundred cell updates a
tick, not a rebuild. Filtering and sorting rebuild or reorder on demand, and the cursor
stays on the same client, not the same row number.
"""

from __future__ import annotations

from typing import Any

from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from pxetui.core.mac import MacAddress
from pxetui.ui.client_rows import (
    COLUMN_KEYS,
    COLUMNS,
    WIDE_FROM,
    Column,
    layout,
    matches,
    row_cells,
    sort_key,
)


class ClientTable(DataTable[str]):
    BINDINGS = [
        Binding("s", "cycle_sort", "Sort", show=False),
        Binding("S", "reverse_sort", "Reverse", show=False),
    ]

    class ClientHighlighted(Message):
        """The cursor moved to a client (or to none: an empty table)."""

        def __init__(self, mac: MacAddress | None) -> None:
            super().__init__()
            self.mac = mac

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.states: dict[MacAddress, dict[str, Any]] = {}
        self._cells: dict[MacAddress, tuple[str, ...]] = {}
        self.filter_text = ""
        self.sort_column: str | None = None
        self.sort_reverse = False
        self._layout: tuple[tuple[int, Column], ...] = ()
        self._wide: bool | None = None

    def on_resize(self) -> None:
        """Switch between the 80-column and the wide layout (a rebuild, rare)."""
        wide = self.app.size.width >= WIDE_FROM
        if wide == self._wide:
            return
        self._wide = wide
        self._layout = layout(self.app.size.width)
        self.clear(columns=True)
        for _, column in self._layout:
            self.add_column(
                column.label, key=column.key, width=column.wide if wide else column.narrow
            )
        self._rebuild()

    def _shown(self, cells: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(cells[i] for i, _ in self._layout)

    # --- data -----------------------------------------------------------------------------

    def apply(self, clients: dict[MacAddress, dict[str, Any]]) -> None:
        """Fold a batch of client states into the rows."""
        if not clients:
            return
        if self._wide is None:  # not laid out yet: the first resize builds every row
            self.states.update(clients)
            return
        selected = self.selected_mac
        added = reordered = False
        for mac, state in clients.items():
            self.states[mac] = state
            cells = row_cells(state)
            shown = mac in self._cells
            if not matches(state, self.filter_text):
                if shown:
                    self.remove_row(mac.hex12)
                    del self._cells[mac]
                continue
            if not shown:
                self.add_row(*self._shown(cells), key=mac.hex12)
                self._cells[mac] = cells
                added = True
                continue
            old = self._cells[mac]
            if old == cells:
                continue
            for key, before, after in zip(COLUMN_KEYS, old, cells, strict=True):
                if before != after and self._has(key):
                    self.update_cell(mac.hex12, key, after)
                    if key == self.sort_column:
                        reordered = True
            self._cells[mac] = cells
        if self.sort_column is not None and (added or reordered):
            self._sort()
        self._keep_cursor(selected)

    def set_filter(self, text: str) -> None:
        """Show only rows where every word of *text* appears."""
        self.filter_text = text
        self._rebuild()

    def sort_by(self, column: str | None, reverse: bool = False) -> None:
        self.sort_column = column
        self.sort_reverse = reverse
        selected = self.selected_mac
        if column is None:
            self._rebuild()
        else:
            self._sort()
        self._keep_cursor(selected)

    def _rebuild(self) -> None:
        selected = self.selected_mac
        self.clear()
        self._cells = {}
        rows = []
        for mac, state in self.states.items():
            if matches(state, self.filter_text):
                cells = row_cells(state)
                self._cells[mac] = cells
                rows.append((mac, cells))
        for mac, cells in rows:
            self.add_row(*self._shown(cells), key=mac.hex12)
        if self.sort_column is not None:
            self._sort()
        self._keep_cursor(selected)

    def _has(self, key: str) -> bool:
        return any(c.key == key for _, c in self._layout)

    def _sort(self) -> None:
        assert self.sort_column is not None
        if not self._has(self.sort_column):
            return
        self.sort(self.sort_column, key=sort_key(self.sort_column), reverse=self.sort_reverse)

    def _keep_cursor(self, mac: MacAddress | None) -> None:
        if mac is None or mac not in self._cells:
            return
        index = self.get_row_index(mac.hex12)
        if index != self.cursor_row:
            self.move_cursor(row=index, animate=False, scroll=False)

    # --- selection ------------------------------------------------------------------------

    @property
    def selected_mac(self) -> MacAddress | None:
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:
            return None
        return MacAddress(key) if key else None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        key = event.row_key.value
        self.post_message(self.ClientHighlighted(MacAddress(key) if key else None))

    # --- actions --------------------------------------------------------------------------

    def action_cycle_sort(self) -> None:
        """Sort by the next column (MAC, host, IP, … then back to arrival order)."""
        order: list[str | None] = [c.key for _, c in self._layout]
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

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        """Mouse users sort by clicking a header; a second click reverses."""
        event.stop()
        column = str(event.column_key.value)
        reverse = not self.sort_reverse if column == self.sort_column else False
        self.sort_by(column, reverse)
