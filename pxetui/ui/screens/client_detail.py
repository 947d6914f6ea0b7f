"""One client in depth: who it is, its boots, the latest boot's timeline and hints, what its
firmware will ask for.

Boots, outcome and hints are worded by :mod:`pxetui.core.boot_text`, exactly as ``pxetui
status`` words them. The timeline comes from the latest boot's ``phases`` (phase → first
time seen), the lookup
explainer from the engine's ``explain`` op (the core explainer: every file this firmware will
request, in order, and which one wins), hints from the tracker, history from the engine's
store. The screen re-reads the client's state twice a second while open.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from pxetui.core.boot_text import boot_line, hint_lines, hints_of, phase_cell
from pxetui.core.events import event_from_dict
from pxetui.core.mac import MacAddress
from pxetui.core.sanitize import clean
from pxetui.ui.client_rows import arch_name
from pxetui.ui.connection import EngineError, EngineLink
from pxetui.ui.event_text import clock, event_line

HISTORY_LIMIT = 50


def timeline(phases: dict[str, Any]) -> list[tuple[str, float, float, float | None]]:
    """``(phase, ts, seconds since the first phase, seconds until the next phase)``."""
    points = sorted(
        ((str(p), float(ts)) for p, ts in phases.items() if isinstance(ts, int | float)),
        key=lambda item: item[1],
    )
    out: list[tuple[str, float, float, float | None]] = []
    for index, (phase, ts) in enumerate(points):
        following = points[index + 1][1] - ts if index + 1 < len(points) else None
        out.append((phase, ts, ts - points[0][1], following))
    return out


def identity_text(state: dict[str, Any]) -> Text:
    """The who-is-it block: one ``label: value`` line each, all sanitised."""
    nics = [str(m) for m in state.get("macs") or []]
    several = len(nics) > 1
    rows = [
        ("MAC", state.get("mac")),
        *([("NICs", f"{', '.join(nics)}; booted from {state.get('nic')}")] if several else []),
        ("Host name", state.get("hostname")),
        ("IP", state.get("ip")),
        ("Arch", arch_name(state.get("arch"))),
        ("Firmware", state.get("firmware")),
        ("Vendor class", state.get("vendor_class")),
        (
            "Entry",
            f"{state.get('entry') or '(unknown-client entry)'}"
            + (" (once)" if state.get("once") else ""),
        ),
        ("Phase", phase_cell(state)),
        ("First seen", clock(state["first_seen"]) if state.get("first_seen") else ""),
        ("Last seen", clock(state["last_seen"]) if state.get("last_seen") else ""),
        ("Last error", state.get("last_error")),
    ]
    text = Text()
    for label, value in rows:
        text.append(f"{label + ':':<14}", style="bold")
        text.append(clean(str(value or "-"), 160) + "\n")
    text.rstrip()
    return text


def hints_text(state: dict[str, Any]) -> Text:
    """The latest boot's hints that hold now, each with what was seen and likely causes."""
    hints = hints_of(state)
    if not hints:
        return Text("(none hold now)")
    styles = {"error": "bold red", "warn": "bold yellow", "info": "bold"}
    text = Text()
    for hint in hints:
        first, *rest = hint_lines(hint)
        text.append(first + "\n", style=styles.get(str(hint.get("severity")), ""))
        for line in rest:
            text.append(line + "\n", style="dim" if line.lstrip().startswith("seen:") else "")
    text.rstrip()
    return text


def boots_text(state: dict[str, Any]) -> Text:
    """Every boot kept, newest first, one line each (with the hints that applied to it)."""
    boots = [b for b in state.get("boots") or [] if isinstance(b, dict)]
    if not boots:
        return Text("(no boot seen yet)")
    nics = len(state.get("macs") or [])
    text = Text()
    for boot in reversed(boots):
        text.append(boot_line(boot, nics) + "\n", style="bold" if boot is boots[-1] else "")
        cleared = [h for h in boot.get("cleared_hints") or [] if isinstance(h, dict)]
        applied = [*hints_of(boot), *cleared]
        codes = sorted({str(h.get("code")) for h in applied if h.get("severity") != "info"})
        if codes:
            text.append(f"    hints: {', '.join(codes)}\n", style="dim")
    text.rstrip()
    return text


def explain_text(steps: Any) -> Text:
    """The explainer's steps, one request per line, grouped by loader; the winner is
    marked ``=> wins`` (words, so it reads without colour)."""
    text = Text()
    if not isinstance(steps, list) or not steps:
        text.append("(the engine gave no lookup steps)")
        return text
    loader: object = None
    number = 0
    for step in steps:
        if not isinstance(step, dict):
            number += 1
            text.append(f"{number:2}. {clean(str(step), 200)}\n")
            continue
        if step.get("loader") != loader:
            loader = step.get("loader")
            number = 0
            if loader:
                text.append(f"{clean(str(loader), 40)}:\n", style="bold underline")
        number += 1
        order = step.get("order")
        shown = order if isinstance(order, int) else number
        name = step.get("path") or step.get("file") or step.get("request") or step.get("name")
        wins = bool(step.get("wins") or step.get("winner") or step.get("chosen"))
        exists = step.get("exists")
        mark = "=> wins" if wins else ("exists" if exists else "missing" if exists is False else "")
        note = step.get("note") or step.get("reason") or step.get("why") or ""
        # Separators end the previous span: a span that starts with blanks loses them in
        # some SVG renderers (the screenshots), a terminal does not care either way.
        line = f"{shown:2}. {clean(str(name or step), 120)}"
        text.append(line + ("  " if mark or note else ""), style="bold" if wins else "")
        if mark:
            text.append(mark + ("  " if note else ""), style="bold green" if wins else "dim")
        if note:
            text.append(clean(str(note), 160), style="dim")
        text.append("\n")
    text.rstrip()
    return text


class ClientDetailScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("r", "refresh_lookup", "Re-explain"),
    ]

    def __init__(self, link: EngineLink, mac: MacAddress) -> None:
        super().__init__(id="detail-screen")
        self.link = link
        self.mac = mac
        self._last_state: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="detail-body"):
            yield Static(id="detail-identity", classes="detail-section")
            timeline_table: DataTable[str] = DataTable(
                id="detail-timeline", cursor_type="none", show_cursor=False
            )
            yield timeline_table
            yield Static(id="detail-hints", classes="detail-section")
            yield Static(id="detail-boots", classes="detail-section")
            yield Static("asking the engine…", id="detail-explain", classes="detail-section")
            yield Static("loading…", id="detail-history", classes="detail-section")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#detail-identity").border_title = f"client {self.mac.colon}"
        self.query_one("#detail-timeline").border_title = "latest boot: phase timeline"
        self.query_one("#detail-boots").border_title = "boots (newest first)"
        self.query_one("#detail-explain").border_title = "lookup explainer"
        self.query_one("#detail-hints").border_title = "hints"
        self.query_one("#detail-history").border_title = "history"
        table = self.query_one("#detail-timeline", DataTable)
        table.add_columns("Phase", "At", "Since start", "Took")
        self._refresh_state()
        self.set_interval(0.5, self._refresh_state)
        self.action_refresh_lookup()
        self.load_history()

    def _refresh_state(self) -> None:
        state = self.link.state.client(self.mac) or {"mac": self.mac.colon}
        if state is self._last_state:
            return
        self._last_state = state
        self.query_one("#detail-identity", Static).update(identity_text(state))
        table = self.query_one("#detail-timeline", DataTable)
        table.clear()
        for phase, ts, since, took in timeline(state.get("phases") or {}):
            table.add_row(
                clean(phase, 30),
                clock(ts),
                f"+{since:.1f} s",
                f"{took:.1f} s" if took is not None else "(now)",
            )
        self.query_one("#detail-hints", Static).update(hints_text(state))
        self.query_one("#detail-boots", Static).update(boots_text(state))

    @work(exclusive=True, group="explain", exit_on_error=False)
    async def action_refresh_lookup(self) -> None:
        state = self.link.state.client(self.mac) or {}
        params: dict[str, Any] = {"mac": self.mac.colon}
        for key in ("ip", "uuid", "arch"):
            if state.get(key) not in (None, ""):
                params[key] = state[key]
        box = self.query_one("#detail-explain", Static)
        try:
            steps = await self.link.request("explain", **params)
        except EngineError as exc:
            box.update(Text(f"explain failed: {exc}", style="red"))
            return
        box.update(explain_text(steps))

    @work(exclusive=True, group="history", exit_on_error=False)
    async def load_history(self) -> None:
        box = self.query_one("#detail-history", Static)
        try:
            items = await self.link.request("history", mac=self.mac.colon, limit=HISTORY_LIMIT)
        except EngineError as exc:
            box.update(Text(f"history failed: {exc}", style="red"))
            return
        text = Text()
        for item in items or []:
            if isinstance(item, dict) and "kind" in item:
                try:
                    text.append_text(event_line(event_from_dict(item)))
                    text.append("\n")
                    continue
                except (ValueError, TypeError):
                    pass
            text.append(clean(str(item), 200) + "\n")
        box.update(text if text.plain else Text("(no history)"))
