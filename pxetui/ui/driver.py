"""The console's terminal driver: Textual's Linux driver with a bare Esc as fast as any key.

Textual's input thread waits on ``select(0.1)`` and only flushes a pending bare ESC (an
ESC not followed by the rest of an escape sequence) when that wait times out and the
parser's ESC delay (100 ms) has passed — so Esc took 100-200 ms where other keys took
one frame. Here the wait ends when the pending ESC is due, and the ESC delay is
:data:`ESCAPE_DELAY` unless the operator set ``ESCDELAY`` (milliseconds, as for curses).

Everything else is Textual's driver. The loop below is Textual's ``run_input_thread``
with one change: the ``select`` timeout.
"""

from __future__ import annotations

import os
import selectors
from codecs import getincrementaldecoder
from typing import Any

from textual import constants, messages
from textual._parser import ParseError
from textual._time import get_time
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver
from textual.drivers.web_driver import WebDriver

ESCAPE_DELAY = 0.010
"""Seconds an ESC waits for the rest of an escape sequence before it is the Esc key.
A terminal writes a key's whole sequence at once, so the rest arrives in the same read;
10 ms is tmux's own escape-time since tmux 3.5 (crossterm, under most Rust TUIs, waits 0)."""
IDLE_WAIT = 0.1
"""Seconds the input thread waits for input when nothing is pending (Textual's value)."""
_MISSING = object()


def pending_wait(parser: XTermParser) -> float:
    """How long the input thread may wait: until a pending ESC is due, else IDLE_WAIT.

    Reads the parser's due time (``_timeout_time``, private to Textual; pinned by
    tests/ui/test_driver.py). Without it, a short wait keeps Esc prompt anyway."""
    due: Any = getattr(parser, "_timeout_time", _MISSING)
    if due is _MISSING:
        return ESCAPE_DELAY  # a Textual without it: poll often enough for Esc
    if due is None:
        return IDLE_WAIT
    return min(IDLE_WAIT, max(0.0, float(due) - get_time()))


def use_escape_delay() -> float:
    """Shorten Textual's ESC delay unless ``ESCDELAY`` says otherwise; the delay in use."""
    if "ESCDELAY" not in os.environ:
        setattr(constants, "ESCAPE_DELAY", ESCAPE_DELAY)  # noqa: B010 (a Final in Textual)
    return float(constants.ESCAPE_DELAY)


class ConsoleDriver(LinuxDriver):
    """Textual's Linux driver; the input thread wakes when a bare ESC is due."""

    def run_input_thread(self) -> None:
        use_escape_delay()
        try:
            parser = XTermParser(self._debug)
        except TypeError:  # a Textual whose parser is built otherwise: its own loop
            super().run_input_thread()
            return
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        fileno = self.fileno
        decode = getincrementaldecoder("utf-8")().decode

        def process(ready: list[tuple[selectors.SelectorKey, int]], final: bool = False) -> None:
            for index, (_key, mask) in enumerate(ready):
                if mask & selectors.EVENT_READ:
                    data = decode(os.read(fileno, 4096), final=final and index == len(ready) - 1)
                    if not data:
                        break  # stdin is a pipe at its end
                    for event in parser.feed(data):
                        self.process_message(event)
            for event in parser.tick():
                self.process_message(event)

        try:
            while not self.exit_event.is_set():
                process(selector.select(pending_wait(parser)))
            selector.unregister(fileno)
            process(selector.select(IDLE_WAIT), final=True)
        finally:
            selector.close()
            try:
                for _event in parser.feed(""):
                    pass
            except (EOFError, ParseError):
                pass


class ConsoleWebDriver(WebDriver):
    """Textual's web driver (``pxetui web``: textual-serve runs one console per browser
    session); when textual-serve goes away — killed, restarted — the console's stdin ends,
    and Textual's driver only stops reading: the console lived on, attached to the engine,
    with no one to see it. Here it exits."""

    def run_input_thread(self) -> None:
        super().run_input_thread()
        if not self.exit_event.is_set():  # stdin at its end, not an exit of our own
            self._app.post_message(messages.ExitApp())
