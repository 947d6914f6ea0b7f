"""One line of the client table as Rich segments: a client's row, or the header.

Pure drawing for :class:`pxetui.ui.widgets.client_table.ClientTable` (which owns the
clients, the view, the cursor and the styles): a row's cells become (text, tone) parts —
the Entry cut before its once ``*``, the Phase in its tone, the Progress a bar (``##..``
without colour) — and the parts become segments laid out so that an SVG export keeps
every text run at its column.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.segment import Segment
from rich.style import Style

from pxetui.core.wire import ClientRow
from pxetui.ui.client_rows import (
    COLUMNS,
    Layout,
    fit,
    phase_tone,
    progress_cell,
    progress_text,
)

PHASE = next(i for i, c in enumerate(COLUMNS) if c.key == "phase")
PROGRESS = next(i for i, c in enumerate(COLUMNS) if c.key == "progress")
ENTRY = next(i for i, c in enumerate(COLUMNS) if c.key == "entry")

SEPARATE = Style(blink2=False)
"""Changes nothing on screen; only keeps a segment from merging with its neighbour."""

Cell = list[tuple[str, str]]
"""A cell as (text, tone) parts; tones are :data:`pxetui.ui.event_text.TONES` names."""


def row_parts(cells: tuple[str, ...], state: ClientRow, fitted: Layout, color: bool) -> list[Cell]:
    """One row (all its formatted *cells*) as the shown columns' parts, each cell padded
    by a blank each side."""
    row: list[Cell] = []
    for index, _, width in fitted.columns:
        if index == PROGRESS and color:
            parts = progress_cell(state, width)
        elif index == PROGRESS:
            parts = [(progress_text(state, width), "")]
        else:
            text = fit(cells[index], width, keep="*" if index == ENTRY else "")
            parts = [(text, phase_tone(state) if index == PHASE and color else "")]
        cell: Cell = [(" ", "")]
        used = 0
        for text, tone in parts:
            text = fit(text, width - used)
            if text:
                cell.append((text, tone))
                used += len(text)
        cell.append((" " * (width - used) + " ", ""))
        row.append(cell)
    return row


def row_segments(
    row: list[Cell],
    marker: str,
    style: Style,
    toned: Callable[[Style, str], Style],
    width: int,
) -> list[Segment]:
    """The row's segments: *marker* (``>`` on the cursor row) then each run of text.

    The marker column is its own segment (a no-op style difference keeps it separate),
    and so is every run of text (alternating that difference), each starting with its
    text: an SVG export drops a text run's leading blanks, shifting the row, so a run's
    leading blanks move to the end of the run before (same background)."""
    texts = [marker]
    styles = [style + SEPARATE]
    for number, cell in enumerate(row):
        for n, (text, tone) in enumerate(cell):
            if number == 0 and n == 0:
                continue  # the marker took the first blank
            body = text.lstrip(" ")
            texts[-1] += text[: len(text) - len(body)]
            if body:
                toned_style = toned(style, tone)
                texts.append(body)
                styles.append(toned_style if len(styles) % 2 else toned_style + SEPARATE)
    used = sum(len(t) for t in texts)
    if used < width:
        texts[-1] += " " * (width - used)
    return [Segment(t, s) for t, s in zip(texts, styles, strict=True)]


def header_text(
    fitted: Layout, sort_column: str | None, sort_reverse: bool, position: str, width: int
) -> str:
    """The labels (the sort column marked ``^``, ``v`` reversed) and, at the right end,
    *position* (``12/300``) when it fits."""
    labels = []
    for _, column, _ in fitted.columns:
        mark = ""
        if column.key == sort_column:
            mark = "v" if sort_reverse else "^"
        labels.append(column.label + mark)
    parts = []
    for label, (_, _, column_width) in zip(labels, fitted.columns, strict=True):
        parts.append(f" {label[:column_width]:<{column_width}} ")
    text = "".join(parts)
    room = width - len(text)
    return text + position.rjust(room) if room >= len(position) else text


def header_segments(text: str, fitted: Layout, header: Style, width: int) -> list[Segment]:
    """The header as one segment per label (each starting with its text, as the rows:
    an SVG export then places every label at its column)."""
    line = text.ljust(width)[:width]
    segments = [Segment(line[:1], header + SEPARATE)]
    position = 1
    for number, (_, _, column_width) in enumerate(fitted.columns):
        end = min(width, position + column_width + 2 - (1 if number == 0 else 0))
        text = line[position:end]
        body = text.lstrip(" ")
        if segments and len(body) < len(text):
            last = segments[-1]
            segments[-1] = Segment(last.text + text[: len(text) - len(body)], last.style)
        if body:
            segments.append(Segment(body, header if len(segments) % 2 else header + SEPARATE))
        position = end
    rest = line[position:]
    if rest:
        body = rest.lstrip(" ")
        last = segments[-1]
        segments[-1] = Segment(last.text + rest[: len(rest) - len(body)], last.style)
        if body:
            style = header if len(segments) % 2 else header + SEPARATE
            segments.append(Segment(body, style))
    return segments
