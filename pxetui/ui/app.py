"""The pxetui console: a Textual app attached to one engine.

Deliberately small: the screens own their widgets and handlers. The app holds the link,
the palette commands and the quit question (leave the engine serving, or stop it).
"""

from __future__ import annotations

import gc
import os
import tempfile
import time
from collections.abc import Iterable
from functools import partial
from pathlib import Path

from textual import constants, events, work
from textual.app import App, SystemCommand
from textual.await_complete import AwaitComplete
from textual.binding import Binding
from textual.driver import Driver
from textual.drivers.web_driver import WebDriver
from textual.screen import Screen

from pxetui.ui.connection import EngineError, EngineLink
from pxetui.ui.driver import ConsoleDriver, ConsoleWebDriver
from pxetui.ui.event_text import EVENT_KINDS
from pxetui.ui.screens.help import HelpScreen
from pxetui.ui.screens.main import MainScreen
from pxetui.ui.screens.quit import QuitChoice, QuitScreen
from pxetui.ui.widgets.client_table import ClientTable
from pxetui.ui.worker_errors import ShowsWorkerFailures

GC_THRESHOLDS = (2000, 10, 1000)
GC_CHECK_S = 2.0
"""How often the console tends its garbage collector (a timer, never on a key's path)."""
GC_IDLE_AFTER_KEY_S = 1.0
"""A moment is idle when no key came for this long (a collection runs between keys)."""
GC_YOUNG_EVERY_S = 15.0
"""A full collection of what came since the last freeze at least this often, then a freeze."""
GC_THAW_EVERY_S = 60.0
"""Unfreeze and collect everything this often (at an idle moment if one comes within half
as long again): what was frozen alive and died in a cycle since is freed then — footer keys
rebuilt on a focus change, their styles and rendered strips (~25,000 objects a minute under
a 5,000 events/s stream with an operator at the keys; at 5 minutes RSS grew ~3 MiB/min)."""
GC_THAW_GRACE_S = 30.0
"""How long a thaw that is due waits for an idle moment before it runs between keys."""


class PxeConsole(ShowsWorkerFailures, App[QuitChoice]):
    """``ask_on_quit``: the console started (or found) an engine for a profile, so quitting
    asks whether to leave it serving; a plain ``attach`` just detaches."""

    CSS_PATH = "console.tcss"
    TITLE = "pxetui"
    BINDINGS = [
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, link: EngineLink, *, ask_on_quit: bool = False) -> None:
        super().__init__()
        self.link = link
        self.ask_on_quit = ask_on_quit
        self._gc_thresholds = gc.get_threshold()
        self._last_key = self._last_collect = self._last_thaw = time.monotonic()
        self._closed_screens = 0  # since the last full collection

    def on_mount(self) -> None:
        # Fewer full garbage collections while the console runs. Measured with 1,000 busy
        # clients: the default thresholds ran a full collection every ~3 s, each pausing the
        # screen 0.1-0.6 s (a key press's tail); with (2000, 10, 1000) none ran in 30 s.
        # Restored on exit (tests share the process).
        self._gc_thresholds = gc.get_threshold()
        gc.set_threshold(*GC_THRESHOLDS)
        # Installed once: composing and styling the help again on every '?' was most of
        # the time it took to open.
        self.install_screen(HelpScreen(), name="help")
        self.push_screen(self.make_main_screen())
        # With so few full collections, cyclic garbage (every closed screen: widgets,
        # styles, workers refer to each other) piled up at +50 MiB/min under load, and
        # the full collection that did come walked the whole heap (0.7-1.3 s measured at
        # 1,000 clients, 4,000 events/s). So the console collects on a timer and freezes
        # (gc.freeze) what survives: a collection then walks only what came since.
        self.set_interval(GC_CHECK_S, self._tend_garbage, name="gc")

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            self._last_key = time.monotonic()
        await super().on_event(event)

    def pop_screen(self) -> AwaitComplete:
        self._closed_screens += 1
        return super().pop_screen()

    def _tend_garbage(self) -> None:
        now = time.monotonic()
        idle = now - self._last_key >= GC_IDLE_AFTER_KEY_S
        since_thaw = now - self._last_thaw
        if since_thaw >= GC_THAW_EVERY_S and (
            idle or since_thaw >= GC_THAW_EVERY_S + GC_THAW_GRACE_S
        ):
            gc.unfreeze()
            self._last_thaw = now
        elif not ((idle and self._closed_screens) or now - self._last_collect >= GC_YOUNG_EVERY_S):
            return
        gc.collect()
        # Only with no dialog open: a frozen dialog would outlive its closing until the
        # next thaw.
        if self.screen is self.main_screen:  # (the stack starts with Textual's default)
            gc.freeze()
        self._closed_screens = 0
        self._last_collect = time.monotonic()

    def make_main_screen(self) -> MainScreen:
        """The screen the console opens on (the lab's adds the VM's serial console)."""
        return MainScreen(self.link)

    def get_driver_class(self) -> type[Driver]:
        """Our terminal driver (Esc as fast as any key); under textual-serve
        (``TEXTUAL_DRIVER``) its web driver, made to exit with textual-serve; Textual's own
        elsewhere (not Linux, another driver asked for)."""
        default = super().get_driver_class()
        if constants.DRIVER is None and issubclass(ConsoleDriver, default):
            return ConsoleDriver
        if default is WebDriver:  # textual-serve's: ours exits when textual-serve is gone
            return ConsoleWebDriver
        return default

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        main = self.main_screen
        if main is None:
            return
        yield SystemCommand("Assign", "Assign an entry to a client", main.action_assign)
        yield SystemCommand(
            "Unassign", "Remove the selected client's assignment", main.action_unassign
        )
        yield SystemCommand(
            "Unknown clients", "Choose what unknown clients get", main.action_unknown_entry
        )
        yield SystemCommand("Client detail", "Timeline, explainer, hints", main.action_detail)
        yield SystemCommand("Entries", "Browse and edit boot entries", main.action_entries)
        yield SystemCommand("Filter clients", "Show matching clients only", main.action_filter)
        yield SystemCommand(
            "Reload profile", "Ask the engine to re-read its profile", main.action_reload
        )
        yield SystemCommand(
            "Assign once",
            "Assign an entry for one boot",
            lambda: main.open_assign(main.selected_mac, once=True),
        )
        yield SystemCommand("Command line", "Type any action with ':'", main.action_command_line)
        yield SystemCommand(
            "Show / hide all events", "The all-events pane ('l')", main.action_toggle_events
        )
        for kind in EVENT_KINDS:
            yield SystemCommand(
                f"Events: {kind} only",
                f"Narrow the all-events pane to {kind}",
                partial(main.set_event_kind, kind),
            )
        yield SystemCommand(
            "Events: all", "Every kind in the all-events pane", partial(main.set_event_kind, None)
        )
        yield SystemCommand(
            "Sort clients",
            "By the next column ('s')",
            main.query_one(ClientTable).action_cycle_sort,
        )
        yield SystemCommand("Help", "Keys and concepts", self.action_help)

    @property
    def main_screen(self) -> MainScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                return screen
        return None

    def deliver_screenshot(
        self,
        filename: str | None = None,
        path: str | None = None,
        time_format: str | None = None,
    ) -> str | None:
        """The palette's Screenshot: in a browser it downloads; in a terminal it is saved
        where the operator is (a boot server has no ``~/Downloads``) and the path shown."""
        if self.is_web:
            return super().deliver_screenshot(filename, path, time_format)
        try:
            saved = self.save_screenshot(filename, path or str(screenshot_dir()), time_format)
        except OSError as exc:
            self.notify(str(exc), title="screenshot failed", severity="error")
            return None
        self.notify(saved, title="screenshot saved", timeout=10)
        return None

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen("help")

    async def action_quit(self) -> None:
        """``q`` and Ctrl+Q: detach, asking first about the engine when we own a profile."""
        self.ask_quit()

    @work(exclusive=True, group="quit")
    async def ask_quit(self) -> None:
        if not self.ask_on_quit:
            self.exit(QuitChoice.LEAVE_SERVING)
            return
        choice = await self.push_screen_wait(QuitScreen())
        if choice is None:
            return
        if choice is QuitChoice.STOP_ENGINE:
            try:
                await self.link.request("stop", timeout=5.0)
            except EngineError as exc:
                self.notify(str(exc), title="stop failed", severity="error")
        self.exit(choice)

    def on_unmount(self) -> None:
        gc.set_threshold(*self._gc_thresholds)
        gc.unfreeze()  # tests share the process: their objects are collectable again
        main = self.main_screen
        if main is not None:
            main.stop_following()


def screenshot_dir() -> Path:
    """The working directory when we may write there, else the temporary directory."""
    cwd = Path.cwd()
    return cwd if os.access(cwd, os.W_OK) else Path(tempfile.gettempdir())
