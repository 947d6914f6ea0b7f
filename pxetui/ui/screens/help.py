"""The help screen: every key, and what the console is a client of."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# pxetui console

The console is a **client of the engine**: quitting it, or losing the ssh session, never
stops a boot. The engine keeps serving until you stop it.

## Main screen
| Key | Does |
|---|---|
| ↑ ↓ PgUp PgDn | move through clients |
| Enter | client detail: phase timeline, lookup explainer, hints, history |
| a | assign an entry to the selected client (or a typed MAC), with a file preview |
| u | unassign: the client gets the unknown-client entry again |
| d | choose what unknown clients get |
| / | filter clients (all words must appear); Esc clears |
| s / S | sort by the next column / reverse (or click a header) |
| e | entries: browse and edit kernel, initrds, args; save the profile |
| r | reload the profile in the engine |
| Ctrl+P | command palette |
| ? | this help |
| q | quit (asks whether to leave the engine serving) |

## Assign dialog
Pick an entry (↑ ↓), `o` toggles **once** (revert after one boot), the preview shows each
file that will be written as a diff against the file on disk. Enter or Ctrl+S applies,
Esc cancels.

## Reading the screen without colour
Service states are words (`running`, `FAILED`, `restarting`), progress is `####....  50%`,
log lines say `ok`, `FAIL`, `miss`, `REFUSED`. `*` after an entry means *once*.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("q", "close", "Close", show=False),
        Binding("question_mark", "close", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Markdown(HELP, id="help-text")

    def action_close(self) -> None:
        self.dismiss(None)
