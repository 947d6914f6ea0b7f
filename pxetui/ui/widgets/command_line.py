"""The ``:`` command line: an input that completes what :mod:`pxetui.ui.commands` knows.

The completion of the word being typed shows dimmed after the cursor; Tab (or Right at
the end) takes it. Tab also completes a MAC from any part of it. Up/Down recall earlier
lines. Enter posts :class:`CommandLine.Run`; Esc closes the line. Parsing and running
are the screen's.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from textual.binding import Binding
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Input

from pxetui.ui.commands import Known, complete

HISTORY = 50
"""Lines the command line remembers (Up/Down)."""


class _Completions(Suggester):
    def __init__(self, known: Callable[[], Known]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self._known = known

    async def get_suggestion(self, value: str) -> str | None:
        found = complete(value, self._known())
        return found if found is not None and found.startswith(value) else None


class CommandLine(Input):
    BINDINGS = [
        Binding("tab", "complete", "Complete"),
        Binding("escape", "close", "Close"),
        Binding("up", "recall(-1)", "Earlier", show=False),
        Binding("down", "recall(1)", "Later", show=False),
    ]

    class Run(Message):
        def __init__(self, line: str) -> None:
            super().__init__()
            self.line = line

    class Closed(Message):
        pass

    def __init__(self, known: Callable[[], Known], *, id: str | None = None) -> None:
        super().__init__(
            placeholder="command (Tab completes, Esc closes): assign MAC ENTRY, events tftp, help",
            suggester=_Completions(known),
            id=id,
        )
        self._known = known
        self.history: deque[str] = deque(maxlen=HISTORY)
        self._recall = 0

    def open(self) -> None:
        self.value = ""
        self._recall = 0
        self.display = True
        self.focus()

    def action_close(self) -> None:
        self.display = False
        self.post_message(self.Closed())

    def action_complete(self) -> None:
        found = complete(self.value, self._known())
        if found is not None:
            self.value = found + " "
            self.cursor_position = len(self.value)

    def action_recall(self, step: int) -> None:
        if not self.history:
            return
        self._recall = max(-len(self.history), min(0, self._recall + step))
        self.value = self.history[self._recall] if self._recall else ""
        self.cursor_position = len(self.value)

    async def action_submit(self) -> None:
        line = self.value.strip()
        if line and (not self.history or self.history[-1] != line):
            self.history.append(line)
        self._recall = 0
        self.post_message(self.Run(line))
