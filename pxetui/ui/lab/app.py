"""The lab console: pxetui's real console on the lab's engine, the VM's serial console beside it.

A new user learns the product by using it: the left side *is* the console an operator runs
(:class:`~pxetui.ui.screens.main.MainScreen` — the client table, the selected client's log,
all events, the assign dialog, the client detail), attached over the control socket to the
``pxetui serve`` the lab started; the right side is the VM's serial line. The lab keeps
running after a boot until the operator quits, with keys to power the VM on again (``b``),
to assign another entry and boot it (``n``) and to switch the firmware between BIOS and UEFI
(``f``). :class:`~pxetui.lab.session.LabSession` (engine side, no Textual) does the work;
quitting, Ctrl-C, SIGTERM or an error tear everything down (VM, engine, namespaces).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar, Literal

from rich.text import Text
from textual import work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from pxetui.core.sanitize import clean
from pxetui.lab.guest import CMDLINE_PREFIX
from pxetui.lab.qemu import BootResult, Firmware
from pxetui.lab.session import LabOptions, LabSession
from pxetui.ui.app import PxeConsole
from pxetui.ui.connection import EngineChanged, EngineLink
from pxetui.ui.screens.assign import assign_screen
from pxetui.ui.screens.main import MainScreen
from pxetui.ui.textual_leaks import ConsoleFooter
from pxetui.ui.widgets.serial_pane import SerialPane

LabState = Literal["preparing", "booting", "booted", "failed", "off", "stopped"]


class LabScreen(MainScreen):
    """The console's main screen with the VM's serial console on the right.

    The engine subscription waits until the lab's engine is up (:meth:`attach`), so the
    service bar does not call the engine lost while the lab is still being built."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("b", "app.reboot_vm", "Reboot VM"),
        Binding("n", "app.assign_and_reboot", "Entry+reboot"),
        Binding("f", "app.switch_firmware", "BIOS/UEFI"),
    ]

    DEFAULT_CSS = """
    #lab-body {
        height: 1fr;
    }

    #lab-console {
        width: 1fr;
        min-width: 60;
    }

    #lab-vm {
        width: 1fr;
        max-width: 100;
    }

    #lab-status {
        height: 1;
        padding: 0 1;
        background: $panel;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }

    #lab-status.-booted {
        background: $success;
        color: $text;
    }

    #lab-status.-failed {
        background: $error;
        color: $text;
    }

    #serial-pane {
        height: 1fr;
    }
    """

    def __init__(self, link: EngineLink, serial_title: str) -> None:
        super().__init__(link)
        self.serial_title = serial_title
        self._engine_up = threading.Event()

    def compose(self) -> ComposeResult:
        with Horizontal(id="lab-body"):
            with Vertical(id="lab-console"):
                for widget in super().compose():
                    if not isinstance(widget, Footer):  # one footer, under both halves
                        yield widget
            with Vertical(id="lab-vm"):
                yield Static(id="lab-status")
                pane = SerialPane(id="serial-pane")
                pane.border_title = self.serial_title
                yield pane
        yield ConsoleFooter(compact=True)

    def attach(self) -> None:
        """The lab's engine answers: start following it."""
        self._engine_up.set()

    @work(thread=True, exclusive=True, exit_on_error=False, group="engine-link")
    def follow_engine(self) -> None:
        while not self._engine_up.wait(0.2):
            if self._stop.is_set():
                return
        self.link.follow(lambda: self.post_message(EngineChanged()), self._stop)


class LabApp(PxeConsole):
    """Build the lab, boot the VM, and stay until the operator quits.

    ``booted``: some boot reached the guest's marker (the CLI's exit code)."""

    CSS_PATH = str(Path(__file__).resolve().parent.parent / "console.tcss")
    TITLE = "pxetui lab"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(self, options: LabOptions) -> None:
        self.options = options
        self.session = LabSession(options, say=self._say_from_thread)
        super().__init__(EngineLink(self.session.socket))
        self.firmware: Firmware = options.firmware
        self.state: LabState = "preparing"
        self.detail = ""
        self.booted = False
        self.results: list[BootResult] = []
        self.boots_started = 0
        self.ready = False
        self._vm_lock = asyncio.Lock()
        self._loop_thread = threading.get_ident()

    # --- screens ---------------------------------------------------------------------------

    def make_main_screen(self) -> MainScreen:
        return LabScreen(self.link, self._serial_title())

    def on_mount(self) -> None:
        # Runs before the console's own mount pushes the (lab) screen: start once it shows.
        self._loop_thread = threading.get_ident()
        o = self.options
        self.sub_title = f"VM {o.mac} · {o.dhcp_mode} DHCP"
        self.call_after_refresh(self._start)

    def _start(self) -> None:
        self._show_state()
        self.run_lab()

    @property
    def lab_screen(self) -> LabScreen | None:
        main = self.main_screen
        return main if isinstance(main, LabScreen) else None

    @property
    def serial(self) -> SerialPane:
        screen = self.lab_screen
        assert screen is not None
        return screen.query_one(SerialPane)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Reboot VM", "Power the lab's VM on again", self.action_reboot_vm)
        yield SystemCommand(
            "Assign and reboot",
            "Choose another entry for the VM, then boot it",
            self.action_assign_and_reboot,
        )
        yield SystemCommand(
            "Switch firmware", "BIOS <-> UEFI, then boot", self.action_switch_firmware
        )

    def _serial_title(self) -> str:
        return f"VM {self.options.mac} serial console ({self.firmware})"

    def _set_state(self, state: LabState, detail: str = "") -> None:
        self.state, self.detail = state, detail
        self._show_state()

    def _show_state(self) -> None:
        screen = self.lab_screen
        if screen is None:
            return
        status = screen.query_one("#lab-status", Static)
        status.set_classes({"booted": "-booted", "failed": "-failed"}.get(self.state, ""))
        boot = f"boot {self.boots_started} · " if self.boots_started else ""
        line = f"{boot}{self.state} · {self.firmware}  {self.detail}"
        status.update(Text(clean(line.rstrip(), 300)))
        screen.query_one(SerialPane).border_title = self._serial_title()

    # --- what the session reports ----------------------------------------------------------

    def _say(self, text: str) -> None:
        screen = self.lab_screen
        if screen is None:
            return
        for pane in screen.query(SerialPane):  # none until the screen is composed
            pane.note(f"lab: {text}")

    def _say_from_thread(self, text: str) -> None:
        # The session reports from its setup thread and from the app's own loop (boots).
        if threading.get_ident() == self._loop_thread:
            self._say(text)
        else:
            self.call_from_thread(self._say, text)

    def _serial_line(self, line: str, seconds: float) -> None:
        self.serial.add_line(line, seconds)

    # --- the lab ---------------------------------------------------------------------------

    @work(exclusive=True, exit_on_error=False, group="lab")
    async def run_lab(self) -> None:
        """Build the lab, attach the console to its engine, boot the VM once."""
        try:
            await asyncio.to_thread(self.session.setup)
        except (OSError, RuntimeError, ValueError) as exc:
            # GuestFetchError, NetnsError, PxetuiServerError …: a sentence, not a traceback.
            self._set_state("failed", f"setup failed: {exc}; q quits")
            await asyncio.to_thread(self.session.close)
            return
        self.ready = True
        screen = self.lab_screen
        if screen is not None:
            screen.attach()
        self.power_on(f"entry {self.options.entry_name}")

    @work(exclusive=True, exit_on_error=False, group="vm")
    async def power_on(self, why: str) -> None:
        """One VM run; a newer one cancels this (QEMU is stopped before it starts)."""
        async with self._vm_lock:
            self.boots_started += 1
            self.serial.power_on(f"boot {self.boots_started} · {self.firmware} · {why}")
            self._set_state("booting", "QEMU started; watch the table and the serial line")
            try:
                result = await self.session.run_vm(self._serial_line, self.firmware)
            except asyncio.CancelledError:
                self.serial.note("lab: VM stopped")
                self._set_state("off", "stopped")
                raise
            except Exception as exc:  # QEMU missing, tap busy …: said here and notified
                self._set_state("failed", f"the VM did not start: {exc}")
                raise
            self.results.append(result)
            if result.outcome == "expected":
                cmdline = result.line_starting(CMDLINE_PREFIX) or ""
                args = cmdline.removeprefix(CMDLINE_PREFIX).strip()
                self.booted = True
                seconds = result.seconds or 0.0
                self._set_state("booted", f"in {seconds:.1f} s: {args}")
            else:
                self._set_state("failed", f"{result.outcome} {result.matched}".rstrip())
            self.serial.note("lab: VM powered off — b boots it again, n picks another entry")

    def _lab_ready(self) -> bool:
        if not self.ready:
            self.notify("the lab is still being built (or failed to)", severity="warning")
        return self.ready

    def action_reboot_vm(self) -> None:
        if self._lab_ready():
            self.power_on("reboot")

    def action_switch_firmware(self) -> None:
        if not self._lab_ready():
            return
        if self.firmware == "s390x":
            self.notify("an s390x lab has one firmware", severity="warning")
            return
        self.firmware = "uefi" if self.firmware == "bios" else "bios"
        self._show_state()
        self.power_on(f"firmware switched to {self.firmware}")

    @work(exclusive=True, group="lab-assign")
    async def action_assign_and_reboot(self) -> None:
        """The console's own assign dialog for the VM; apply, then boot the VM into it."""
        if not self._lab_ready():
            return
        mac = self.options.mac
        choice = await self.push_screen_wait(assign_screen(self, self.link, mac))
        screen = self.lab_screen
        if choice is None or screen is None or not await screen.apply_assignment(choice):
            return
        if choice.mac == mac:
            self.power_on(f"entry {choice.entry}{' (once)' if choice.once else ''}")

    def on_unmount(self) -> None:
        # Blocking on purpose: the lab must be gone when the app is (quit, Ctrl-C, error).
        self.session.close()
