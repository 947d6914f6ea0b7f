"""Assign an entry to a client — after seeing exactly which files that writes.

:class:`AssignScreen` is a modal that returns a typed :class:`Assignment` (or ``None``):
the operator picks an entry, toggles ``once``, and the engine's ``preview`` shows every file
the assignment would write as a diff against what is on disk now. Nothing is sent to the
engine from here; the main screen applies the result. :class:`UnknownEntryScreen` picks
what clients without an assignment get.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from pxetui.core.mac import MacAddress, MacAddressError
from pxetui.core.sanitize import clean
from pxetui.ui.connection import EngineError, EngineLink
from pxetui.ui.worker_errors import ShowsWorkerFailures


class OnceCheckbox(Checkbox):
    """A checkbox whose unchecked box is empty.

    Textual draws the ``X`` in both states and only dims it when unchecked; on many
    terminals, in screenshots and without colour that dim ``X`` reads as checked."""

    def __init__(self, label: str, value: bool = False, *, id: str | None = None) -> None:
        super().__init__(label, value, id=id)
        self.BUTTON_INNER = "X" if value else " "

    def watch_value(self) -> None:
        self.BUTTON_INNER = "X" if self.value else " "
        super().watch_value()
        self.refresh()


@dataclass(frozen=True, slots=True)
class Assignment:
    """What the operator decided in the assign dialog."""

    mac: MacAddress
    entry: str
    once: bool = False


def entry_options(entries: dict[str, dict[str, Any]], extra: tuple[str, ...] = ()) -> list[Option]:
    """One option per entry: ``name  kind: description``."""
    names = list(entries)
    names += [n for n in extra if n not in entries]
    options = []
    for name in names:
        info = entries.get(name) or {}
        label = Text(no_wrap=True, overflow="ellipsis")
        label.append(f"{clean(name, 40)}  ", style="bold")
        kind = clean(str(info.get("kind") or ""), 12)
        description = clean(str(info.get("description") or ""), 80)
        label.append(f"{kind}: {description}" if description else kind)
        options.append(Option(label, id=name))
    return options


def files_diff(files: dict[str, str], current: dict[str, str]) -> Text:
    """Every file to be written, as a unified diff against the current one (or "new")."""
    out = Text()
    if not files:
        out.append("(no files would be written)\n")
    for path in sorted(files):
        new = files[path]
        old = current.get(path)
        status = "new file" if old is None else ("unchanged" if old == new else "changed")
        out.append(f"=== {clean(path, 120)}  ({status})\n", style="bold")
        if old == new:
            continue
        diff = difflib.unified_diff(
            (old or "").splitlines(),
            new.splitlines(),
            "current" if old is not None else "/dev/null",
            "new",
            lineterm="",
            n=2,
        )
        for line in list(diff)[2:]:
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else ""
            style = "dim" if line.startswith("@@") else style
            out.append(clean(line, 300) + "\n", style=style)
    return out


class AssignScreen(ShowsWorkerFailures, ModalScreen[Assignment | None]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "apply", "Apply"),
        Binding("o", "toggle_once", "Once", show=False),
    ]

    def __init__(
        self,
        link: EngineLink,
        mac: MacAddress | None,
        entry: str | None = None,
        once: bool | None = None,
    ) -> None:
        """*entry* and *once* (the command line's) are chosen already; by default the
        client's current assignment is."""
        super().__init__(id="assign-screen")
        self.link = link
        self.mac = mac
        self.entry = entry
        self.once = once

    def compose(self) -> ComposeResult:
        state = self.link.state
        current = state.assignments.get(self.mac.colon, {}) if self.mac is not None else {}
        with Vertical(id="assign-dialog"):
            yield Label("Assign a boot entry", id="assign-title")
            with Horizontal(id="assign-top"):
                yield Input(
                    value=self.mac.colon if self.mac else "",
                    placeholder="MAC, e.g. 52:54:00:12:34:56",
                    id="assign-mac",
                )
                once = self.once if self.once is not None else bool(current.get("once"))
                yield OnceCheckbox("once", value=once, id="assign-once")
            entries = OptionList(*entry_options(state.entries), id="assign-entries")
            yield entries
            with VerticalScroll(id="assign-preview-box"):
                yield Static("choose an entry to see the files it writes", id="assign-preview")
            with Horizontal(id="assign-buttons"):
                yield Label("o: once  Enter/Ctrl+S: apply  Esc: cancel", classes="hint")
                yield Button("Apply", variant="primary", id="assign-apply")
                yield Button("Cancel", id="assign-cancel")

    def prepare(self, mac: MacAddress | None, entry: str | None, once: bool | None) -> None:
        """Make the dialog about *mac* again (the console installs one and reuses it:
        composing a new dialog per key cost more than the key's frame; README "The console
        (TUI)")."""
        self.mac, self.entry, self.once = mac, entry, once
        if self.is_mounted:
            self.query_one("#assign-preview", Static).update("")
            self._fill()

    def on_mount(self) -> None:
        self._fill()

    def _fill(self) -> None:
        """The form from the client's current assignment (or the command line's choice)."""
        state = self.link.state
        current = state.assignments.get(self.mac.colon, {}) if self.mac is not None else {}
        self.query_one("#assign-mac", Input).value = self.mac.colon if self.mac else ""
        once = self.once if self.once is not None else bool(current.get("once"))
        self.query_one("#assign-once", Checkbox).value = once
        entries = self.query_one("#assign-entries", OptionList)
        options = entry_options(state.entries)
        shown = [entries.get_option_at_index(i) for i in range(entries.option_count)]
        if [(o.id, str(o.prompt)) for o in shown] != [(o.id, str(o.prompt)) for o in options]:
            entries.clear_options()
            entries.add_options(options)
        wanted = self.entry or str(current.get("entry") or "")
        index = None
        for i in range(entries.option_count):
            if entries.get_option_at_index(i).id == wanted:
                index = i
        if index is None and self.entry:
            self.notify(f"no entry {self.entry!r} here: choose one", severity="warning")
        index = index or 0
        if entries.option_count:
            entries.highlighted = index
        entries.focus()
        self.refresh_preview()

    # --- reading the form -----------------------------------------------------------------

    def _entry(self) -> str | None:
        entries = self.query_one("#assign-entries", OptionList)
        if entries.highlighted is None:
            return None
        return entries.get_option_at_index(entries.highlighted).id

    def _mac(self) -> MacAddress | None:
        try:
            return MacAddress.parse(self.query_one("#assign-mac", Input).value)
        except MacAddressError:
            return None

    def _once(self) -> bool:
        return self.query_one("#assign-once", Checkbox).value

    # --- preview --------------------------------------------------------------------------

    @on(OptionList.OptionHighlighted, "#assign-entries")
    @on(Checkbox.Changed, "#assign-once")
    @on(Input.Changed, "#assign-mac")
    def _form_changed(self) -> None:
        self.refresh_preview()

    @work(exclusive=True, group="preview", exit_on_error=False)
    async def refresh_preview(self) -> None:
        preview = self.query_one("#assign-preview", Static)
        mac, entry = self._mac(), self._entry()
        if mac is None:
            preview.update(Text("not a MAC address yet", style="yellow"))
            return
        if entry is None:
            preview.update("choose an entry")
            return
        try:
            result = await self.link.request(
                "preview", mac=mac.colon, entry=entry, once=self._once()
            )
        except EngineError as exc:
            preview.update(Text(f"preview failed: {exc}", style="red"))
            return
        files = {str(k): str(v) for k, v in (result or {}).get("files", {}).items()}
        current = {str(k): str(v) for k, v in (result or {}).get("current", {}).items()}
        preview.update(files_diff(files, current))

    # --- result ---------------------------------------------------------------------------

    def action_toggle_once(self) -> None:
        self.query_one("#assign-once", Checkbox).toggle()

    def action_apply(self) -> None:
        mac, entry = self._mac(), self._entry()
        if mac is None:
            self.notify("type a MAC address", severity="error")
            self.query_one("#assign-mac", Input).focus()
            return
        if entry is None:
            self.notify("choose an entry", severity="error")
            return
        self.dismiss(Assignment(mac=mac, entry=entry, once=self._once()))

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#assign-apply")
    def _apply_pressed(self) -> None:
        self.action_apply()

    @on(Button.Pressed, "#assign-cancel")
    def _cancel_pressed(self) -> None:
        self.dismiss(None)

    @on(OptionList.OptionSelected, "#assign-entries")
    def _entry_chosen(self) -> None:
        """Enter on an entry applies, like the Apply button."""
        self.action_apply()


ASSIGN_SCREEN = "assign"
"""The installed (reused) assign dialog's name."""


def assign_screen(
    app: App[Any],
    link: EngineLink,
    mac: MacAddress | None,
    entry: str | None = None,
    once: bool | None = None,
) -> AssignScreen:
    """The console's one assign dialog, made about *mac* (installed on first use)."""
    if not app.is_screen_installed(ASSIGN_SCREEN):
        app.install_screen(AssignScreen(link, mac, entry, once), name=ASSIGN_SCREEN)
    screen = app.get_screen(ASSIGN_SCREEN)
    assert isinstance(screen, AssignScreen)
    screen.prepare(mac, entry, once)
    return screen


class UnknownEntryScreen(ShowsWorkerFailures, ModalScreen[str | None]):
    """Pick the entry that clients without an assignment get."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, link: EngineLink) -> None:
        super().__init__(id="unknown-screen")
        self.link = link

    def compose(self) -> ComposeResult:
        state = self.link.state
        with Vertical(id="unknown-dialog"):
            yield Label(
                f"Entry for unknown clients (now: {clean(state.unknown or '?', 40)})",
                id="unknown-title",
            )
            yield OptionList(*entry_options(state.entries, ("local",)), id="unknown-entries")
            yield Label("Enter: choose   Esc: cancel", classes="hint")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        for i in range(options.option_count):
            if options.get_option_at_index(i).id == self.link.state.unknown:
                options.highlighted = i
        options.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
