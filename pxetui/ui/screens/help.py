"""The help screen: every key, and what the console is a client of."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from pxetui.ui.commands import COMMANDS

KEYS: tuple[tuple[str, str], ...] = (
    ("Up/Down", "move through clients; PgUp/PgDn, Home/End"),
    ("Enter", "client detail: timeline, lookup explainer, hints"),
    ("a", "assign an entry (selected client or a typed MAC)"),
    ("u", "unassign: back to the unknown-client entry"),
    ("d", "choose what unknown clients get"),
    ("/", "filter clients (all words must match); Esc clears"),
    ("s / S", "sort by the next column / reverse (or click)"),
    ("e", "entries: edit kernel, initrds, args; save"),
    ("r", "reload the profile in the engine"),
    ("Tab", "next pane; logs scroll with Up/Down, End follows"),
    ("l", "hide / show the all-events pane"),
    ("k", "all events: DHCP, TFTP, HTTP, assign, service, errors only, all"),
    (":", "command line: every action by name, Tab completes (below)"),
    ("Ctrl+P", "command palette"),
    ("?", "this help (Esc closes)"),
    ("q", "quit: asks whether to leave the engine serving"),
)

ABOUT = (
    "The console is a client of the engine: quitting it, or losing the ssh session, "
    "never stops a boot. The engine keeps serving until you stop it.",
    "Assign dialog: pick an entry (Up/Down), o toggles once (revert after one boot); "
    "the preview shows each file that will be written as a diff against the file on "
    "disk. Enter or Ctrl+S applies, Esc cancels.",
    "Without colour: service states are words (running, FAILED, restarting), progress "
    'is "##.. 50%", log lines say ok, FAIL, miss, REFUSED; "*" after an entry means '
    'once; ">" marks the selected client.',
)


def help_text() -> Text:
    """Plain Text, not Markdown: a Markdown document is a tree of widgets, and building
    and styling it made opening help take a second on a busy box."""
    text = Text()
    text.append("pxetui console\n\n", style="bold")
    text.append(ABOUT[0] + "\n\n")
    text.append("Keys on the main screen\n", style="bold")
    for key, does in KEYS:
        text.append(f"{key:<9}", style="bold")
        text.append(does + "\n")
    text.append("\nCommands (:)", style="bold")
    text.append(" MAC: any spelling, or a part only one client has; Up recalls\n")
    for command in COMMANDS:
        text.append(f"{command.usage:<26}", style="bold")
        text.append(command.does + "\n")
    for paragraph in ABOUT[1:]:
        text.append("\n" + paragraph + "\n")
    return text


class HelpScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("q", "close", "Close", show=False),
        Binding("question_mark", "close", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(help_text(), id="help-text")

    def action_close(self) -> None:
        self.app.pop_screen()
