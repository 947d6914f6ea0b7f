"""Quitting the console: leave the engine serving (the default) or stop it too."""

from __future__ import annotations

from enum import Enum

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label


class QuitChoice(Enum):
    LEAVE_SERVING = "leave"
    STOP_ENGINE = "stop"


class QuitScreen(ModalScreen[QuitChoice | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("l", "leave", "Leave serving"),
        Binding("s", "stop", "Stop engine"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="quit-dialog"):
            yield Label("Quit the console. Leave the engine serving?", id="quit-title")
            yield Label("Boots in progress continue if the engine keeps serving.", classes="hint")
            with Horizontal(id="quit-buttons"):
                yield Button("Leave serving (l)", variant="primary", id="quit-leave")
                yield Button("Stop engine (s)", variant="error", id="quit-stop")
                yield Button("Cancel (Esc)", id="quit-cancel")

    def on_mount(self) -> None:
        self.query_one("#quit-leave", Button).focus()

    def action_leave(self) -> None:
        self.dismiss(QuitChoice.LEAVE_SERVING)

    def action_stop(self) -> None:
        self.dismiss(QuitChoice.STOP_ENGINE)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        choices = {"quit-leave": QuitChoice.LEAVE_SERVING, "quit-stop": QuitChoice.STOP_ENGINE}
        self.dismiss(choices.get(event.button.id or ""))
