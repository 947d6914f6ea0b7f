"""A client's tracker state as a row of the client table: cells, sort keys and the filter.

The engine's typed client row (:class:`pxetui.core.wire.ClientRow`) is the source; this
module decides how it reads at 80
columns (short arch names, a text progress bar that needs no colour, ``HH:MM:SS``) and how
rows sort and filter. Pure, so it is tested without a terminal.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pxetui.core.arch import short_arch
from pxetui.core.boot_text import phase_cell
from pxetui.core.wire import ClientRow, TransferRow
from pxetui.ui.event_text import human_bytes


@dataclass(frozen=True, slots=True)
class Column:
    """A table column; ``wide``/``narrow`` are its widths (0 = hidden) in each layout."""

    key: str
    label: str
    wide: int
    narrow: int


COLUMNS: tuple[Column, ...] = (
    Column("mac", "MAC", 17, 17),
    Column("hostname", "Host", 10, 6),
    Column("ip", "IP", 15, 13),
    Column("arch", "Arch", 6, 5),
    Column("firmware", "Firmware", 9, 0),
    Column("entry", "Entry", 11, 7),
    Column("phase", "Phase", 11, 7),
    Column("progress", "Progress", 12, 9),
    Column("last_seen", "Seen", 8, 0),
)
"""Cells are padded by one blank each side; the narrow layout fits 80 columns, the rest
(firmware, last seen) is in the client detail."""
COLUMN_KEYS: tuple[str, ...] = tuple(c.key for c in COLUMNS)
WIDE_FROM = 120
"""Terminal width from which the table shows every column."""


def layout(width: int) -> tuple[tuple[int, Column], ...]:
    """The (index, column) pairs shown at a terminal *width*, with their widths."""
    wide = width >= WIDE_FROM
    return tuple((i, c) for i, c in enumerate(COLUMNS) if (c.wide if wide else c.narrow) > 0)


def active_transfer(client: ClientRow) -> TransferRow | None:
    """The transfer the progress column shows: the running one, else the latest."""
    if not client.transfers:
        return None
    running = [t for t in client.transfers if t.state == "running"]
    return (running or list(client.transfers))[-1]


def progress_text(client: ClientRow, width: int = 4) -> str:
    """``###. 63%`` — readable without colour; empty when nothing was transferred."""
    transfer = active_transfer(client)
    if transfer is None:
        return ""
    if transfer.state in ("failed", "missing", "refused"):
        return transfer.state
    frac = transfer.fraction
    if frac is None:
        return human_bytes(transfer.bytes, short=True)
    filled = round(frac * width)
    return "#" * filled + "." * (width - filled) + f"{frac * 100:4.0f}%"


def seen_text(ts: Any) -> str:
    if not isinstance(ts, int | float) or ts <= 0:
        return ""
    return _clock(int(ts))


@functools.lru_cache(maxsize=4096)
def _clock(second: int) -> str:
    return time.strftime("%H:%M:%S", time.localtime(second))


def row_cells(client: ClientRow) -> tuple[str, ...]:
    """The table cells for one client, in :data:`COLUMNS` order (plain strings)."""
    entry = client.entry or ""
    if entry and client.once:
        entry += "*"
    return (
        client.mac,
        client.hostname or "",
        client.ip or "",
        short_arch(client.arch_code) or client.arch,
        client.firmware,
        entry,
        phase_cell(client),
        progress_text(client),
        seen_text(client.last_seen),
    )


def _ip_key(value: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in value.split("."))
    except ValueError:
        return (1_000,)


def _progress_key(cell: str) -> float:
    """``##.. 50%`` → 50; no transfer, bytes-only and failed sort first."""
    if cell.endswith("%"):
        try:
            return float(cell.rsplit(" ", 1)[-1].rstrip("%"))
        except ValueError:
            return -1.0
    return -2.0 if cell == "failed" else -1.0


def sort_key(column: str) -> Callable[[Any], Any]:
    """A sort key on *column*'s cell text (IPs numerically, progress by percent)."""
    if column == "ip":
        return lambda cell: _ip_key(str(cell)) if cell else (1_000,)
    if column == "progress":
        return lambda cell: _progress_key(str(cell))
    return lambda cell: str(cell).lower()


def matches(client: ClientRow, needle: str) -> bool:
    """The filter: every word must appear somewhere in the row (case-insensitive)."""
    words = needle.lower().split()
    if not words:
        return True
    haystack = " ".join(row_cells(client)).lower()
    return all(w in haystack for w in words)
