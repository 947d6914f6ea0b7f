"""The lab console: the VM's serial console on the left, pxetui's events on the right.

The point of the lab is to *see* a network boot: the firmware's "Configuring (net0 …)",
pxelinux's banner and the kernel on one side, and on the other what the server saw at the
same moment — the proxyDHCP answer, each TFTP/HTTP transfer, the boot files it wrote. The
:class:`~pxetui.lab.session.LabSession` (engine-side, no Textual) does the work in a worker;
this screen only renders what it reports. Quitting at any point tears the lab down.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import Footer, Header, RichLog, Static

from pxetui.core.sanitize import clean
from pxetui.lab.event_line import describe_event
from pxetui.lab.guest import CMDLINE_PREFIX
from pxetui.lab.session import LabOptions, LabSession

LabState = str  # "preparing" | "booting" | "booted" | "failed" | "stopped"


class LabApp(App[int]):
    """Run one lab boot and show it; the exit code is 0 when the guest booted."""

    CSS_PATH = "lab.tcss"
    TITLE = "pxetui lab"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit (tears the lab down)"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
    ]

    state: reactive[LabState] = reactive("preparing")

    def __init__(self, options: LabOptions) -> None:
        super().__init__()
        self.options = options
        self.session = LabSession(options, say=self._say_from_thread)
        self.detail = ""
        self.booted = False
        self.phase = ""
        self._lab_thread = threading.get_ident()

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="lab-status")
        with Horizontal(id="lab-panes"):
            serial = RichLog(id="serial-pane", wrap=False, max_lines=5000)
            serial.border_title = f"VM serial console ({self.options.firmware})"
            yield serial
            events = RichLog(id="events-pane", wrap=True, max_lines=5000)
            events.border_title = "pxetui: DHCP / TFTP / HTTP"
            yield events
        yield Footer()

    def on_mount(self) -> None:
        self._lab_thread = threading.get_ident()
        o = self.options
        self.sub_title = f"{o.firmware} VM {o.mac} -> {o.entry_name}, {o.dhcp_mode} DHCP"
        self.watch_state(self.state)
        self.run_lab()

    def watch_state(self, state: LabState) -> None:
        status = self.query_one("#lab-status", Static)
        status.set_classes({"booted": "-booted", "failed": "-failed"}.get(state, ""))
        phase = f"  [tracker: {self.phase}]" if self.phase else ""
        status.update(Text(f"{state}{phase}  {self.detail}".rstrip()))

    def _set_state(self, state: LabState, detail: str = "") -> None:
        self.detail = detail
        self.state = state
        self.watch_state(state)

    # --- what the session reports ---------------------------------------------------------

    def _say(self, text: str) -> None:
        self.query_one("#events-pane", RichLog).write(Text(f"lab: {clean(text)}", style="dim"))

    def _say_from_thread(self, text: str) -> None:
        # The session reports from its setup thread and from the app's own loop (boot).
        if threading.get_ident() == self._lab_thread:
            self._say(text)
        else:
            self.call_from_thread(self._say, text)

    def _serial(self, line: str, seconds: float) -> None:
        self.query_one("#serial-pane", RichLog).write(Text(f"{seconds:7.2f} {clean(line)}"))

    def _event(self, event: dict[str, Any]) -> None:
        if event.get("kind") == "client" and event.get("mac") == self.options.mac.colon:
            # The tracker's view of our VM: its phase goes on the status line.
            state = event.get("state") or {}
            self.phase = clean(str(state.get("phase", "")))
            self.watch_state(self.state)
            return
        text = describe_event(event)
        if text:
            self.query_one("#events-pane", RichLog).write(Text(clean(text)))

    # --- the lab run ----------------------------------------------------------------------

    @work(exclusive=True, exit_on_error=False, group="lab")
    async def run_lab(self) -> None:
        try:
            await asyncio.to_thread(self.session.setup)
            self._set_state("booting", "QEMU started; waiting for the guest's marker")
            result = await self.session.boot(self._serial, self._event)
            if result.outcome == "expected":
                cmdline = result.line_starting(CMDLINE_PREFIX) or ""
                args = cmdline.removeprefix(CMDLINE_PREFIX).strip()
                self._set_state("booted", f"in {result.seconds:.1f} s: {args}")
                self.booted = True
            else:
                self._set_state("failed", f"{result.outcome} {result.matched}".rstrip())
                self.booted = False
        except Exception as exc:
            self._set_state("failed", clean(str(exc)))
            self.booted = False
            raise
        finally:
            # Blocking on purpose: this must finish even when the worker is being cancelled.
            self.session.close()
            self._say("lab torn down (VM, engine, dnsmasq, namespaces); q quits")

    def on_unmount(self) -> None:
        self.session.close()
