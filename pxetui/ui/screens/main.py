"""The main screen: service bar, client table, the selected client's log, all events.

It owns the engine subscription worker (a thread, see :mod:`pxetui.ui.connection`) and the
10 Hz drain that turns :class:`EngineChanged` pulses into widget updates. Operator actions
on the selected client (assign, unassign, detail) start here and talk to the engine through
the link's requests; the ``:`` command line (:mod:`pxetui.ui.commands`) runs the same
actions with their arguments.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Input
from textual.worker import Worker

from pxetui.core.events import ClientUpdated, TransferProgress, event_from_dict
from pxetui.core.mac import MacAddress
from pxetui.core.sanitize import clean
from pxetui.ui.commands import Command, CommandError, Known, parse
from pxetui.ui.connection import EngineChanged, EngineError, EngineLink
from pxetui.ui.event_text import EVENT_KINDS
from pxetui.ui.screens.assign import Assignment, UnknownEntryScreen, assign_screen
from pxetui.ui.screens.confirm import ConfirmScreen
from pxetui.ui.textual_leaks import ConsoleFooter, drop_styles_caches
from pxetui.ui.widgets.client_log import ClientLog
from pxetui.ui.widgets.client_table import ClientTable
from pxetui.ui.widgets.command_line import CommandLine
from pxetui.ui.widgets.event_log import EventLog
from pxetui.ui.widgets.log_panes import LogPanes
from pxetui.ui.widgets.service_bar import ServiceBar
from pxetui.ui.worker_errors import ShowsWorkerFailures, describe_failure

HISTORY_LINES = 100
"""Past lines fetched from the engine when a client with a short live log is selected."""
HISTORY_DEBOUNCE = 0.3


class MainScreen(ShowsWorkerFailures, Screen[None]):
    BINDINGS = [
        Binding("a", "assign", "Assign"),
        Binding("u", "unassign", "Unassign"),
        Binding("d", "unknown_entry", "Default", show=False),
        Binding("enter", "detail", "Detail", show=False),
        Binding("e", "entries", "Entries"),
        Binding("slash", "filter", "Filter"),
        Binding("colon", "command_line", "Command"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("r", "reload", "Reload", show=False),
        Binding("l", "toggle_events", "Events", show=False),
        Binding("k", "next_event_kind", "Kind", show=False),
    ]

    def __init__(self, link: EngineLink) -> None:
        super().__init__(id="main")
        self.link = link
        self._stop = threading.Event()
        self._shown_mac: MacAddress | None = None

    def compose(self) -> ComposeResult:
        yield ServiceBar(id="service-bar")
        filter_input = Input(placeholder="filter: words that must all appear", id="client-filter")
        filter_input.display = False
        yield filter_input
        command_line = CommandLine(self.known, id="command-line")
        command_line.display = False
        yield command_line
        yield ClientTable(id="client-table")
        yield LogPanes(id="logs")
        yield ConsoleFooter(compact=True)

    def on_mount(self) -> None:
        self.query_one(ClientLog).show_client(None, None, [])
        self.query_one(ClientTable).focus()
        self.query_one(LogPanes).fit(False)
        self.follow_engine()

    def on_unmount(self) -> None:
        self._stop.set()

    def on_screen_resume(self) -> None:
        """Back from a dialog: let go of what Textual keeps of the closed screens."""
        drop_styles_caches()

    @work(thread=True, exclusive=True, exit_on_error=False, group="engine-link")
    def follow_engine(self) -> None:
        """Read the subscription in a thread; the screen only sees coalesced pulses."""
        self.link.follow(lambda: self.post_message(EngineChanged()), self._stop)

    def stop_following(self) -> None:
        self._stop.set()

    def worker_failed(self, worker: Worker[object]) -> None:
        if worker.group == "engine-link":  # nothing new will arrive: say so where it shows
            self.query_one(ServiceBar).set_link("lost", describe_failure(worker))
            self.set_class(True, "-lost")

    # --- engine → widgets ------------------------------------------------------------------

    def on_engine_changed(self, message: EngineChanged) -> None:
        changes = self.link.state.drain()
        if not changes:
            return
        if "link" in changes.meta:
            link_state = str(changes.meta["link"])
            self.query_one(ServiceBar).set_link(link_state, str(changes.meta.get("link_error")))
            self.set_class(link_state == "lost", "-lost")
        if changes.services:
            self.query_one(ServiceBar).update_services(changes.services)
        table = self.query_one(ClientTable)
        with self.app.batch_update():
            if changes.meta.get("snapshot"):
                table.reset()
            if changes.past:
                self.query_one(EventLog).show_past(changes.past)
            table.apply(changes.clients)
            self.query_one(LogPanes).fit(bool(table.states))
            if changes.events or changes.events_dropped:
                self.query_one(EventLog).add_events(changes.events, changes.events_dropped)
            selected = table.selected_mac
            log = self.query_one(ClientLog)
            if selected != self._shown_mac:
                self._show(selected)
            elif selected is not None:
                if selected in changes.clients:
                    log.update_state(changes.clients[selected])
                if selected in changes.logs:
                    log.add_lines(changes.logs[selected])

    def _show(self, mac: MacAddress | None) -> None:
        self._shown_mac = mac
        state = self.link.state.client(mac) if mac is not None else None
        lines = self.link.state.client_log(mac) if mac is not None else []
        self.query_one(ClientLog).show_client(mac, state, lines)
        if mac is not None and len(lines) < HISTORY_LINES:
            self.load_history(mac)

    @work(exclusive=True, group="client-history", exit_on_error=False)
    async def load_history(self, mac: MacAddress) -> None:
        """What the client did before this console attached: the engine's stored history.

        Debounced: arrowing through a thousand rows asks only for the row it stops on (the
        worker is exclusive, so the next highlight cancels this one while it waits)."""
        await asyncio.sleep(HISTORY_DEBOUNCE)
        try:
            items = await self.link.request("history", mac=mac.colon, limit=HISTORY_LINES)
        except EngineError:
            return  # the live log still works; the detail screen reports the error
        if mac != self._shown_mac:
            return
        past = []
        for item in items or []:
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                event = event_from_dict(item)
                if not isinstance(event, TransferProgress | ClientUpdated):
                    past.append(event)
        if past:
            self.query_one(ClientLog).prepend_history(past, self.link.state.client_log(mac))

    @on(ClientTable.ClientHighlighted)
    def _client_highlighted(self, message: ClientTable.ClientHighlighted) -> None:
        if message.mac != self._shown_mac:
            self._show(message.mac)

    # --- filter ---------------------------------------------------------------------------

    def action_filter(self) -> None:
        box = self.query_one("#client-filter", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#client-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.query_one(ClientTable).set_filter(event.value)

    @on(Input.Submitted, "#client-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        if not event.value:
            event.input.display = False
        self.query_one(ClientTable).focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#client-filter", Input)
        box.value = ""
        box.display = False
        self.query_one(ClientTable).set_filter("")
        self.query_one(ClientTable).focus()

    # --- the all-events pane -------------------------------------------------------------

    def action_toggle_events(self) -> None:
        """Show or hide the all-events pane; hidden, the client's log takes the width."""
        self.show_events(not self.query_one(LogPanes).events_shown)

    def show_events(self, shown: bool) -> None:
        if not shown and self.query_one(EventLog).has_focus:
            self.query_one(ClientTable).focus()
        self.query_one(LogPanes).show_events(shown)

    def action_next_event_kind(self) -> None:
        """Narrow the all-events pane to the next kind (DHCP, TFTP, ... errors), then all."""
        self.query_one(LogPanes).next_kind()

    def set_event_kind(self, kind: str | None) -> None:
        self.query_one(LogPanes).set_kind(kind)

    # --- the command line -----------------------------------------------------------------

    def known(self) -> Known:
        """What commands complete and resolve against: clients, entries, kinds, columns."""
        from pxetui.ui.client_rows import COLUMNS

        clients = self.link.state.clients
        return Known(
            macs=list(clients),
            hosts={row.hostname: mac for mac, row in clients.items() if row.hostname},
            entries=sorted({*self.link.state.entries, "local"}),  # local is built in
            kinds=EVENT_KINDS,
            columns=[column.key for column in COLUMNS],
        )

    def action_command_line(self) -> None:
        self.query_one(CommandLine).open()

    @on(CommandLine.Closed)
    def _command_line_closed(self) -> None:
        self.query_one(ClientTable).focus()

    @on(CommandLine.Run)
    def _command_typed(self, message: CommandLine.Run) -> None:
        line = self.query_one(CommandLine)
        if not message.line:
            line.action_close()
            return
        try:
            command = parse(message.line, self.known())
        except CommandError as exc:
            self.notify(str(exc), title="command", severity="error")
            return  # the line stays open to be fixed
        line.action_close()
        self.run_command(command)

    def run_command(self, command: Command) -> None:
        """Run a parsed command: the same actions as the keys, with their arguments."""
        name, mac = command.name, command.mac or self.selected_mac
        if name in ("assign", "once"):
            self.open_assign(mac, command.entry, True if name == "once" else None)
        elif name == "unassign":
            self.unassign(mac)
        elif name == "default":
            self.set_unknown_entry(command.entry)
        elif name == "detail":
            self.open_detail(mac)
        elif name == "select" and command.mac is not None:
            self.select(command.mac)
        elif name == "filter":
            self.set_filter(" ".join(command.words))
        elif name == "sort":
            reverse = "reverse" in command.words
            column = next((w for w in command.words if w != "reverse"), None)
            self.query_one(ClientTable).sort_by(column, reverse)
        elif name == "events":
            word = command.words[0] if command.words else "on"
            if word in ("on", "off"):
                self.show_events(word == "on")
            else:
                self.set_event_kind(None if word == "all" else word)
        elif name == "entries":
            self.action_entries()
        elif name == "reload":
            self.action_reload()
        elif name in ("screenshot", "help", "quit"):
            self.call_later(self.app.run_action, name)

    def select(self, mac: MacAddress) -> None:
        table = self.query_one(ClientTable)
        if not table.select_mac(mac):
            self.action_clear_filter()  # a filter hid it
            table.select_mac(mac)

    def set_filter(self, text: str) -> None:
        box = self.query_one("#client-filter", Input)
        box.value = text
        box.display = bool(text)
        self.query_one(ClientTable).set_filter(text)

    # --- operator actions -----------------------------------------------------------------

    @property
    def selected_mac(self) -> MacAddress | None:
        return self.query_one(ClientTable).selected_mac

    def action_assign(self) -> None:
        self.open_assign(self.selected_mac)

    def action_assign_once(self) -> None:
        self.open_assign(self.selected_mac, once=True)

    @work(exclusive=True, group="operator")
    async def open_assign(
        self, mac: MacAddress | None, entry: str | None = None, once: bool | None = None
    ) -> None:
        """Choose an entry (and see the files) for the client or a typed MAC."""
        result = await self.app.push_screen_wait(
            assign_screen(self.app, self.link, mac, entry, once)
        )
        if result is not None:
            await self.apply_assignment(result)

    async def apply_assignment(self, assignment: Assignment) -> bool:
        """Ask the engine; say what happened. Whether the engine took it."""
        try:
            await self.link.request(
                "assign", mac=assignment.mac.colon, entry=assignment.entry, once=assignment.once
            )
        except EngineError as exc:
            self.notify(str(exc), title="assign failed", severity="error")
            return False
        once = " (once)" if assignment.once else ""
        self.notify(f"{assignment.mac.colon} → {assignment.entry}{once}", title="assigned")
        return True

    def action_unassign(self) -> None:
        self.unassign(self.selected_mac)

    @work(exclusive=True, group="operator")
    async def unassign(self, mac: MacAddress | None) -> None:
        if mac is None:
            self.notify("select a client first", severity="warning")
            return
        current = self.link.state.assignments.get(mac.colon) or {}
        entry = clean(str(current.get("entry") or "none"), 40)
        unknown = clean(self.link.state.unknown or "?", 40)
        question = f"Unassign {mac.colon} (now: {entry})?"
        detail = f"Its next boot gets the unknown-client entry: {unknown}."
        if not await self.app.push_screen_wait(ConfirmScreen(question, detail, "Unassign")):
            return
        try:
            await self.link.request("unassign", mac=mac.colon)
        except EngineError as exc:
            self.notify(str(exc), title="unassign failed", severity="error")
            return
        self.notify(f"{mac.colon} now gets the unknown-client entry", title="unassigned")

    def action_unknown_entry(self) -> None:
        self.set_unknown_entry(None)

    @work(exclusive=True, group="operator")
    async def set_unknown_entry(self, choice: str | None) -> None:
        """Set the entry every client without an assignment gets (*choice*, or asked)."""
        if choice is None:
            choice = await self.app.push_screen_wait(UnknownEntryScreen(self.link))
        if choice is None:
            return
        try:
            await self.link.request("set_default", entry=choice)
        except EngineError as exc:
            self.notify(str(exc), title="set default failed", severity="error")
            return
        self.notify(f"unknown clients → {choice}", title="default set")

    def action_detail(self) -> None:
        self.open_detail(self.selected_mac)

    def open_detail(self, mac: MacAddress | None) -> None:
        from pxetui.ui.screens.client_detail import detail_screen

        if mac is None:
            self.notify("no client selected", severity="warning")
            return
        self.app.push_screen(detail_screen(self.app, self.link, mac))

    def action_entries(self) -> None:
        from pxetui.ui.screens.entries import EntriesScreen

        self.app.push_screen(EntriesScreen(self.link))

    @work(exclusive=True, group="operator")
    async def action_reload(self) -> None:
        try:
            await self.link.request("reload")
        except EngineError as exc:
            self.notify(str(exc), title="reload failed", severity="error")
            return
        self.notify("profile reloaded", title="engine")

    @on(ClientTable.ClientSelected)
    def _client_selected(self) -> None:
        """Enter on a row (or a double click) opens the client's detail."""
        self.action_detail()
