"""A client's tracker state as a row of the client table: cells, sort keys and the filter.

The engine's typed client row (:class:`pxetui.core.wire.ClientRow`) is the source; this
module decides how it reads at every width (which columns give way first, short phase
words, a block bar in colour and ``##..`` without, ``HH:MM:SS``) and how rows sort and
filter. Pure, so it is tested without a terminal.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pxetui.core.arch import short_arch
from pxetui.core.boot_text import SHORT_PHASE_WIDTH, phase_cell
from pxetui.core.wire import ClientRow, TransferRow
from pxetui.ui.event_text import human_bytes


@dataclass(frozen=True, slots=True)
class Column:
    """A table column: its ideal ``width`` and how it gives way on a narrow screen.

    ``required`` columns (MAC, Entry, Phase, Progress) are never hidden; the others shrink
    to ``least`` and then hide, in the order of :data:`GIVE_WAY`."""

    key: str
    label: str
    width: int
    least: int
    required: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("mac", "MAC", 17, 17, required=True),
    Column("hostname", "Host", 10, 6),
    Column("ip", "IP", 15, 11),
    Column("arch", "Arch", 6, 5),
    Column("firmware", "Firmware", 9, 9),
    Column("entry", "Entry", 11, 6, required=True),
    Column("phase", "Phase", 12, SHORT_PHASE_WIDTH, required=True),
    Column("progress", "Progress", 12, 10, required=True),
    Column("last_seen", "Seen", 8, 8),
)
"""Cells are padded by one blank each side. What a narrow screen hides (host name,
firmware, last seen) is in the client detail."""
COLUMN_KEYS: tuple[str, ...] = tuple(c.key for c in COLUMNS)
GIVE_WAY: tuple[tuple[str, str], ...] = (
    ("hide", "last_seen"),
    ("hide", "firmware"),
    ("shrink", "hostname"),
    ("shrink", "phase"),  # the short words
    ("shrink", "ip"),
    ("shrink", "arch"),
    ("hide", "hostname"),
    ("shrink", "entry"),
    ("shrink", "progress"),
    ("hide", "arch"),
    ("hide", "ip"),
)
"""Who gives up room first when the screen is narrow: the identity columns after the
MAC (host, IP, arch) shrink and hide before Entry, Phase or Progress lose a column."""
GROW: tuple[tuple[str, int], ...] = (("entry", 20), ("hostname", 20), ("progress", 24))
"""On a wide screen, room beyond the ideal widths goes to these columns, up to a width
(long entry and host names, a longer bar); :data:`POSITION_ROOM` stays for ``12/300``."""
POSITION_ROOM = 12
LONG_PHASE_FROM = 12
"""A Phase column this wide shows the long words (``!handed_over``), else the short ones."""


@dataclass(frozen=True, slots=True)
class Layout:
    """The shown columns with their widths, for a table *width* columns wide."""

    columns: tuple[tuple[int, Column, int], ...]  # (index in COLUMNS, column, width)

    @property
    def used(self) -> int:
        return sum(width + 2 for _, _, width in self.columns)

    def width_of(self, key: str) -> int:
        return next((w for _, c, w in self.columns if c.key == key), 0)

    @property
    def short_phase(self) -> bool:
        return self.width_of("phase") < LONG_PHASE_FROM


@functools.lru_cache(maxsize=64)
def layout(width: int) -> Layout:
    """Fit the columns into *width*: give way in :data:`GIVE_WAY` order, then hand any
    room left back to the columns that shrank, the last to shrink first."""
    widths = {c.key: c.width for c in COLUMNS}
    by_key = {c.key: c for c in COLUMNS}
    shrunk: list[str] = []

    def used() -> int:
        return sum(w + 2 for w in widths.values() if w > 0)

    for step, key in GIVE_WAY:
        excess = used() - width
        if excess <= 0:
            break
        if step == "hide":
            widths[key] = 0
        else:
            take = min(excess, widths[key] - by_key[key].least)
            if take > 0:
                widths[key] -= take
                shrunk.append(key)
    for key in reversed(shrunk):
        room = width - used()
        if room <= 0:
            break
        if widths[key] > 0:
            widths[key] = min(by_key[key].width, widths[key] + room)
    if not shrunk:
        for key, most in GROW:
            room = width - POSITION_ROOM - used()
            if room <= 0:
                break
            widths[key] = max(widths[key], min(most, widths[key] + room))
    return Layout(tuple((i, c, widths[c.key]) for i, c in enumerate(COLUMNS) if widths[c.key]))


def active_transfer(client: ClientRow) -> TransferRow | None:
    """The transfer the progress column shows: the running one, else the latest."""
    if not client.transfers:
        return None
    running = [t for t in client.transfers if t.state == "running"]
    return (running or list(client.transfers))[-1]


FAILED_STATES = frozenset({"failed", "missing", "refused"})


def progress_text(client: ClientRow, width: int = 9) -> str:
    """``##..  50%`` in *width* columns — readable without colour; the state's word when
    a transfer failed; the bytes so far when the size is unknown; empty when idle."""
    transfer = active_transfer(client)
    if transfer is None:
        return ""
    if transfer.state in FAILED_STATES:
        return transfer.state
    frac = transfer.fraction
    if frac is None:
        return human_bytes(transfer.bytes, short=True)
    bar = max(1, width - 5)
    filled = round(frac * bar)
    return "#" * filled + "." * (bar - filled) + f"{frac * 100:4.0f}%"


def progress_cell(client: ClientRow, width: int) -> list[tuple[str, str]]:
    """The Progress cell in colour as (text, tone) parts: a line bar (halves of a cell, as
    the client pane draws them)
    and the percentage; failures as a red word. Tones are :data:`event_text.TONES` keys
    (``bar``: a running bar, ``track``: its empty part)."""
    transfer = active_transfer(client)
    if transfer is None:
        return []
    if transfer.state in FAILED_STATES:
        return [(transfer.state, "error")]
    frac = transfer.fraction
    if frac is None:
        return [(human_bytes(transfer.bytes, short=True), "progress")]
    done = transfer.state in ("done", "probe")
    bar = max(1, width - 5)
    full, half = divmod(round(frac * bar * 2), 2)
    filled = "━" * full + ("╸" if half else "")
    return [
        (filled, "success" if done else "bar"),
        ("━" * (bar - len(filled)), "track"),
        (f"{frac * 100:4.0f}%", "success" if done else "progress"),
    ]


def phase_tone(client: ClientRow) -> str:
    """How the Phase cell is coloured: a hint's severity, else the outcome."""
    severities = {h.severity for h in client.hints}
    if "error" in severities or client.outcome == "failed":
        return "error"
    if "warn" in severities or client.outcome == "stalled":
        return "warning"
    if client.outcome in ("handed_over", "local"):
        return "success"
    if client.outcome == "superseded":
        return "routine"
    return "progress"


def fit(text: str, width: int, keep: str = "") -> str:
    """*text* in *width* columns, cut with ``…``; a trailing *keep* mark (the entry's
    once ``*``) survives the cut."""
    if len(text) <= width:
        return text
    if keep and text.endswith(keep):
        return text[: max(0, width - len(keep) - 1)] + "…" + keep
    return text[: max(0, width - 1)] + "…"


def seen_text(ts: Any) -> str:
    if not isinstance(ts, int | float) or ts <= 0:
        return ""
    return _clock(int(ts))


@functools.lru_cache(maxsize=4096)
def _clock(second: int) -> str:
    return time.strftime("%H:%M:%S", time.localtime(second))


def row_cells(client: ClientRow, short_phase: bool = False) -> tuple[str, ...]:
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
        phase_cell(client, short_phase),
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
            return float(cell[-4:].rstrip("%"))
        except ValueError:
            return -1.0
    return -2.0 if cell in FAILED_STATES else -1.0


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
    haystack = " ".join((*row_cells(client), client.engine or "")).lower()  # engine: fleets
    return all(w in haystack for w in words)
