"""The selected client's live log: its transfers as progress bars, then its events.

The bars come from the tracker's ``transfers`` list in the client state (already coalesced
by the engine), the lines from the console's per-client ring. Lines are Text, never markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import ProgressBar

from pxetui.core.boot_text import hint_lines
from pxetui.core.events import Event
from pxetui.core.mac import MacAddress
from pxetui.core.sanitize import clean
from pxetui.core.wire import ClientRow, TransferRow
from pxetui.ui.event_text import ERROR, WARNING, event_line, human_bytes
from pxetui.ui.widgets.line_log import LineLog

BARS = 2
"""Transfers shown as bars (the latest ones); at 80x24 more would push the log away."""
LOG_LINES = 400


_STATE_WORDS = {
    "done": " ok",
    "failed": " FAIL",
    "probe": " probe",
    "missing": " MISSING",
    "refused": " REFUSED",
}


def transfer_label(transfer: TransferRow) -> Text:
    """``TFTP pxelinux.0 42.0 KiB ok`` — the words say the state, the bar the fraction."""
    proto = transfer.proto.upper()
    name = clean(transfer.filename or "?", 60)
    word = _STATE_WORDS.get(transfer.state, "")
    amount = human_bytes(transfer.bytes, short=True)
    rate = transfer.rate_bps
    speed = f" {human_bytes(rate, short=True)}/s" if rate and not word else ""
    return Text(f"{proto} {name} {amount}{speed}{word}", no_wrap=True, overflow="ellipsis")


class TransferLabel(Widget):
    """A one-line label that repaints without a layout pass.

    ``Label.update`` asks for a layout (its size may change); at 10 updates a second that
    re-laid out the whole screen each time. This one has a fixed size in CSS.
    """

    text: reactive[Text] = reactive(Text(), layout=False)

    def render(self) -> Text:
        return self.text


class TransferBar(Horizontal):
    """One transfer: label + bar. State class ``-finished`` / ``-failed`` / ``-running``."""

    def compose(self) -> ComposeResult:
        yield TransferLabel(classes="transfer-label")
        yield ProgressBar(total=None, show_eta=False, classes="transfer-bar")

    def show(self, transfer: TransferRow) -> None:
        state = {"done": "finished", "probe": "finished", "running": "running"}.get(
            transfer.state, "failed"
        )
        self.set_classes(f"-{state}")
        self.query_one(TransferLabel).text = transfer_label(transfer)
        bar = self.query_one(ProgressBar)
        size = transfer.size
        done = float(transfer.bytes)
        if state == "finished":
            bar.update(total=max(done, 1.0), progress=max(done, 1.0))
        elif size:
            bar.update(total=float(size), progress=min(done, float(size)))
        else:
            bar.update(total=None)


class ClientLog(Vertical):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.mac: MacAddress | None = None
        self._transfer_key: tuple[Any, ...] = ()
        self._hints_key: tuple[str, ...] = ()

    def compose(self) -> ComposeResult:
        hints = TransferLabel(id="client-hints")
        hints.display = False
        yield hints
        for index in range(BARS):
            bar = TransferBar(id=f"transfer-{index}")
            bar.display = False
            yield bar
        yield LineLog(max_lines=LOG_LINES, id="client-lines")

    def show_client(
        self, mac: MacAddress | None, state: ClientRow | None, lines: Sequence[Event]
    ) -> None:
        """Switch to another client: its bars and its whole ring of lines."""
        self.mac = mac
        self.border_title = f"client {mac.colon}" if mac is not None else "client (none)"
        log = self.query_one("#client-lines", LineLog)
        log.clear()
        self.add_lines(lines)
        self.update_state(state)

    def add_lines(self, lines: Sequence[Event]) -> None:
        """Append lines (one repaint)."""
        if lines:
            log = self.query_one("#client-lines", LineLog)
            log.write_lines(event_line(e, own=True) for e in lines[-LOG_LINES:])

    def prepend_history(self, past: Sequence[Event], live: Sequence[Event]) -> None:
        """Show the engine's stored *past* lines, then the *live* ones (no duplicates)."""
        seen = {(e.kind, e.ts) for e in live}
        log = self.query_one("#client-lines", LineLog)
        log.clear()
        older = [e for e in past if (e.kind, e.ts) not in seen]
        if older:
            log.write_lines([Text("— before this console attached —", style="dim")])
            log.write_lines(event_line(e, own=True) for e in older)
            log.write_lines([Text("— live —", style="dim")])
        log.write_lines(event_line(e, own=True) for e in live)

    def update_state(self, state: ClientRow | None) -> None:
        self._show_hints(state)
        latest = state.transfers[-BARS:] if state is not None else ()
        key = tuple((t.transfer_id, t.bytes, t.state, t.size) for t in latest)
        if key == self._transfer_key:
            return
        self._transfer_key = key
        for index, bar in enumerate(self.query(TransferBar).results(TransferBar)):
            if index < len(latest):
                bar.display = True
                bar.show(latest[index])
            else:
                bar.display = False

    def _show_hints(self, state: ClientRow | None) -> None:
        """The warnings and errors that hold now, first: why this boot looks wrong (the
        detail has the evidence and the causes)."""
        hints = [h for h in state.hints if h.severity != "info"] if state is not None else []
        key = tuple(h.evidence for h in hints)
        if key == self._hints_key:
            return
        self._hints_key = key
        label = self.query_one("#client-hints", TransferLabel)
        label.display = bool(hints)
        if hints:
            styles = {"error": ERROR, "warn": f"bold {WARNING}"}
            text = Text(no_wrap=True, overflow="ellipsis")
            for n, hint in enumerate(hints):
                text.append(("  " if n else "") + hint_lines(hint)[0], style=styles[hint.severity])
            label.text = text
