"""The logs row of the main screen: the selected client's log beside the all-events pane.

The all-events pane can be hidden (the client's log then takes the width) and narrowed to
one kind of event; with no client yet the client's pane, which would be empty, gives the
all-events pane the width (unless the operator hid that one).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal

from pxetui.ui.widgets.client_log import ClientLog
from pxetui.ui.widgets.event_log import EventLog


class LogPanes(Horizontal):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.has_clients = False

    def compose(self) -> ComposeResult:
        yield ClientLog(id="client-log")
        yield EventLog(id="event-log")

    @property
    def events_shown(self) -> bool:
        return bool(self.query_one(EventLog).display)

    def show_events(self, shown: bool) -> None:
        """Show or hide the all-events pane (focus leaves it first, for the screen)."""
        self.query_one(EventLog).display = shown
        self.fit()

    def set_kind(self, kind: str | None) -> None:
        """Show the all-events pane, narrowed to *kind* (None: every kind)."""
        self.query_one(EventLog).set_kind(kind)
        self.show_events(True)

    def next_kind(self) -> None:
        self.set_kind(self.query_one(EventLog).next_kind())

    def fit(self, has_clients: bool | None = None) -> None:
        """Give the client's pane room only when there is a client to show (or nothing
        else would be shown)."""
        if has_clients is not None:
            self.has_clients = has_clients
        wanted = self.has_clients or not self.events_shown
        client_log = self.query_one(ClientLog)
        if client_log.display != wanted:
            client_log.display = wanted
