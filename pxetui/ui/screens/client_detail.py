"""One client in depth: the hints that hold and its boots first (why it did or did not boot),
then who it is, the latest boot's timeline and what its firmware will ask for.

Boots, outcome and hints are worded by :mod:`pxetui.core.boot_text`, exactly as ``pxetui
status`` words them. The timeline comes from the latest boot's ``phases`` (phase → first
time seen), the lookup
explainer from the engine's ``explain`` op (the core explainer: every file this firmware will
request, in order, and which one wins), hints from the tracker, history from the engine's
store. The screen asks the engine for the client's whole row (``client`` op) twice a second
while open: the event stream only carries summary rows.
"""

from __future__ import annotations

import re
from typing import Any

from rich.console import Group, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Static

from pxetui.core.boot_text import boot_line, hint_lines, phase_cell
from pxetui.core.events import event_from_dict
from pxetui.core.mac import MacAddress
from pxetui.core.sanitize import clean
from pxetui.core.wire import ClientRow
from pxetui.ui.connection import EngineError, EngineLink
from pxetui.ui.event_text import clock, event_line
from pxetui.ui.textual_leaks import ConsoleFooter
from pxetui.ui.widgets.table_lines import SEPARATE
from pxetui.ui.worker_errors import ShowsWorkerFailures

HISTORY_LIMIT = 50


def timeline(phases: dict[str, float]) -> list[tuple[str, float, float, float | None]]:
    """``(phase, ts, seconds since the first phase, seconds until the next phase)``."""
    points = sorted(phases.items(), key=lambda item: item[1])
    out: list[tuple[str, float, float, float | None]] = []
    for index, (phase, ts) in enumerate(points):
        following = points[index + 1][1] - ts if index + 1 < len(points) else None
        out.append((phase, ts, ts - points[0][1], following))
    return out


def assigned_text(assignment: dict[str, Any] | None) -> str:
    """``operator, by alice (uid 1001) at 10:02:03`` — where the assignment came from."""
    if not assignment:
        return ""
    source = clean(str(assignment.get("source") or ""), 20)
    by = clean(str(assignment.get("by") or ""), 60)
    when = assignment.get("updated")
    at = f" at {clock(when)}" if isinstance(when, int | float) and when > 0 else ""
    return source + (f", by {by}" if by else "") + at


def identity_text(client: ClientRow, assigned: str = "") -> Text:
    """The who-is-it block: one ``label: value`` line each (values cleaned at the boundary)."""
    nics = [("NICs", f"{', '.join(client.macs)}; booted from {client.nic}")]
    code = client.arch_code
    entry = (client.entry or "(unknown-client entry)") + (" (once)" if client.once else "")
    rows = [
        ("MAC", client.mac),
        *(nics if len(client.macs) > 1 else []),
        ("Host name", client.hostname),
        ("IP", client.ip),
        ("Arch", client.arch + (f" (option 93 = {code})" if code is not None else "")),
        ("Firmware", client.firmware),
        ("Vendor class", client.vendor_class),
        ("Entry", entry),
        ("Assigned", assigned),
        ("Phase", phase_cell(client)),
        ("First seen", clock(client.first_seen) if client.first_seen else ""),
        ("Last seen", clock(client.last_seen) if client.last_seen else ""),
        ("Last error", client.last_error),
    ]
    text = Text()
    for label, value in rows:
        text.append(f"{label + ':':<14}", style="bold")
        text.append((value or "-") + "\n")
    text.rstrip()
    return text


_HANGING = re.compile(r"(\s*(?:seen:|hints:|#\d+|\d+\.|\S)\s)(.*)")
"""A line's lead (a hint's mark, ``seen:``, a cause's number, a boot's ``#n``) and its
words."""


def hanging(line: str, style: str = "") -> Table:
    """*line* with its wrapped words under its first word, not under its lead.

    The lead's indent and the words are runs of their own (a no-op style difference): an
    SVG screenshot drops a run's leading blanks, which would shift the line left."""
    match = _HANGING.fullmatch(line)
    lead, body = (match.group(1), match.group(2)) if match else ("", line)
    words = lead.lstrip(" ")
    head = Text(lead[: len(lead) - len(words)], style=SEPARATE)
    head.append(words, style=style or "bold")  # a cause's number stands out
    grid = Table.grid(expand=True)
    grid.add_column(width=len(lead), no_wrap=True)
    grid.add_column(ratio=1)
    grid.add_row(head, Text(body, style=Style.parse(style or "none") + SEPARATE))
    return grid


def hints_text(client: ClientRow) -> RenderableType:
    """The latest boot's hints that hold now, each with what was seen and likely causes;
    wrapped lines hang under their words (at 80 columns a cause takes two lines)."""
    if not client.hints:
        return Text("(none hold now)")
    styles = {"error": "bold red", "warn": "bold yellow", "info": "bold"}
    lines: list[RenderableType] = []
    for hint in client.hints:
        first, *rest = hint_lines(hint)
        lines.append(hanging(first, styles.get(hint.severity, "")))
        for line in rest:
            lines.append(hanging(line, "dim" if line.lstrip().startswith("seen:") else ""))
    return Group(*lines)


def boots_text(client: ClientRow) -> RenderableType:
    """Every boot kept, newest first, one line each (with the hints that applied to it);
    wrapped lines hang under their words."""
    if not client.boots:
        return Text("(no boot seen yet)")
    lines: list[RenderableType] = []
    latest = client.boots[-1]
    for boot in reversed(client.boots):
        lines.append(hanging(boot_line(boot, len(client.macs)), "bold" if boot is latest else ""))
        applied = [*boot.hints, *boot.cleared_hints]
        codes = sorted({h.code for h in applied if h.severity != "info"})
        if codes:
            lines.append(hanging(f"    hints: {', '.join(codes)}", "dim"))
    return Group(*lines)


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


class ClientDetailScreen(ShowsWorkerFailures, Screen[None]):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("r", "refresh_lookup", "Re-explain"),
    ]

    def __init__(self, link: EngineLink, mac: MacAddress) -> None:
        super().__init__(id="detail-screen")
        self.link = link
        self.mac = mac
        self._last_state: tuple[ClientRow, dict[str, Any] | None] | None = None
        self._whole: ClientRow | None = None  # the client op's row (the stream sends summaries)
        self._poll: Timer | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="detail-body"):
            yield Static(id="detail-hints", classes="detail-section")
            yield Static(id="detail-boots", classes="detail-section")
            yield Static(id="detail-identity", classes="detail-section")
            timeline_table: DataTable[str] = DataTable(
                id="detail-timeline", cursor_type="none", show_cursor=False
            )
            yield timeline_table
            yield Static("asking the engine…", id="detail-explain", classes="detail-section")
            yield Static("loading…", id="detail-history", classes="detail-section")
        yield ConsoleFooter(compact=True)

    def on_mount(self) -> None:
        self.query_one("#detail-identity").border_title = "who it is"
        self.query_one("#detail-timeline").border_title = "latest boot: phase timeline"
        self.query_one("#detail-boots").border_title = "boots (newest first)"
        self.query_one("#detail-explain").border_title = "lookup explainer"
        self.query_one("#detail-history").border_title = "history"
        table = self.query_one("#detail-timeline", DataTable)
        table.add_columns("Phase", "At", "Since start", "Took")
        self._poll = self.set_interval(0.5, self.fetch_row, pause=True)

    def show(self, mac: MacAddress) -> None:
        """Make the screen about *mac* (the console installs one detail screen and reuses it:
        composing a new one cost more than any other key; measured in README)."""
        if mac == self.mac and self.is_mounted:
            return
        self.mac = mac
        self._whole = None
        self._last_state = None
        if self.is_mounted:
            self.query_one("#detail-explain", Static).update("asking the engine…")
            self.query_one("#detail-history", Static).update("loading…")
            self.query_one(VerticalScroll).scroll_home(animate=False)

    def on_screen_resume(self) -> None:
        self.query_one("#detail-hints").border_title = f"{self.mac.colon}: hints that hold now"
        self._refresh_state()
        self.fetch_row()
        self.action_refresh_lookup()
        self.load_history()
        if self._poll is not None:
            self._poll.resume()

    def on_screen_suspend(self) -> None:
        if self._poll is not None:
            self._poll.pause()
        self.workers.cancel_node(self)

    @work(exclusive=True, group="row", exit_on_error=False)
    async def fetch_row(self) -> None:
        """The client's whole row (its boots, their DHCP steps and transfers) from the
        engine; while the engine cannot say, the stream's summary row stands in."""
        try:
            data = await self.link.request("client", mac=self.mac.colon)
        except EngineError:
            self._whole = None
        else:
            self._whole = ClientRow.from_dict(data if isinstance(data, dict) else {})
        self._refresh_state()

    def _refresh_state(self) -> None:
        state = (
            self._whole
            or self.link.state.client(self.mac)
            or ClientRow.from_dict({"mac": self.mac.colon})
        )
        assignment = self.link.state.assignments.get(self.mac.colon)
        if (state, assignment) == self._last_state:
            return
        self._last_state = (state, assignment)
        self.query_one("#detail-identity", Static).update(
            identity_text(state, assigned_text(assignment))
        )
        table = self.query_one("#detail-timeline", DataTable)
        table.clear()
        for phase, ts, since, took in timeline(state.phases):
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
        state = self.link.state.client(self.mac)
        params: dict[str, Any] = {"mac": self.mac.colon}
        if state is not None and state.ip:
            params["ip"] = state.ip
        if state is not None and state.arch_code is not None:
            params["arch"] = state.arch_code
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


DETAIL_SCREEN = "detail"
"""The installed (reused) client detail screen's name."""


def detail_screen(app: App[Any], link: EngineLink, mac: MacAddress) -> ClientDetailScreen:
    """The console's one detail screen, made about *mac* (installed on first use)."""
    if not app.is_screen_installed(DETAIL_SCREEN):
        app.install_screen(ClientDetailScreen(link, mac), name=DETAIL_SCREEN)
    screen = app.get_screen(DETAIL_SCREEN)
    assert isinstance(screen, ClientDetailScreen)
    screen.show(mac)
    return screen
