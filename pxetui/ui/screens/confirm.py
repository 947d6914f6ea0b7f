"""A yes/no question before an action that changes what a machine boots.

A modal that returns a typed result (``True``: go ahead), like the quit question; the
screen that asked acts on it. ``y``/Enter confirm, ``n``/Esc cancel, and the cancel button
has the focus: a stray Enter cancels.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("escape", "answer(False)", "Cancel"),
        Binding("n", "answer(False)", "No", show=False),
        Binding("y", "answer(True)", "Yes", show=False),
    ]

    def __init__(self, question: str, detail: str, confirm: str) -> None:
        super().__init__(id="confirm-screen")
        self.question = question
        self.detail = detail
        self.confirm = confirm

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog"):
            yield Label(self.question, id="confirm-title", markup=False)
            yield Label(self.detail, classes="hint", markup=False)
            with Horizontal(id="confirm-buttons"):
                yield Button(f"{self.confirm} (y)", variant="warning", id="confirm-yes")
                yield Button("Cancel (Esc)", id="confirm-no")

    def on_mount(self) -> None:
        self.query_one("#confirm-no", Button).focus()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")
