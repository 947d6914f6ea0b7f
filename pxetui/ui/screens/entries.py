"""Browse the profile's boot entries and edit their kernel, initrds and args.

Edits go into an in-memory draft of the profile text, checked by the real profile loader on
every change; the file is written only on Save (Ctrl+S), atomically, keeping the previous
file as ``<file>.bak``, and the engine is then asked to ``reload``. Leaving with unsaved
changes needs a second Esc.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from pxetui.core.sanitize import clean
from pxetui.ui.connection import EngineError, EngineLink
from pxetui.ui.profile_edit import (
    EntryFields,
    edit_entry,
    problems,
    read_entries,
    save_profile,
    split_initrds,
)
from pxetui.ui.textual_leaks import ConsoleFooter
from pxetui.ui.worker_errors import ShowsWorkerFailures


def field_problems(kernel: str, initrds: tuple[str, ...]) -> list[str]:
    """What the form itself can tell before the loader: a kernel, no blanks in names."""
    out = []
    if not kernel.strip():
        out.append("kernel: required (a path under the HTTP/TFTP root, or an http:// URL)")
    elif any(c.isspace() for c in kernel.strip()):
        out.append("kernel: a path cannot contain spaces")
    out.extend(f"initrds: {name!r} is not a path" for name in initrds if "\x00" in name)
    return out


class EntriesScreen(ShowsWorkerFailures, Screen[None]):
    BINDINGS = [
        Binding("escape", "leave", "Back"),
        Binding("ctrl+s", "save", "Save profile"),
        Binding("ctrl+r", "revert", "Revert"),
    ]

    def __init__(self, link: EngineLink, profile_path: Path | None = None) -> None:
        super().__init__(id="entries-screen")
        self.link = link
        path = profile_path or self.link.state.profile.get("path")
        self.path: Path | None = Path(path) if path else None
        self.saved_text = ""
        self.draft = ""
        self.current: str | None = None
        self._leave_armed = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="entries-body"):
            yield OptionList(id="entries-list")
            with Vertical(id="entry-form"):
                yield Label("", id="entry-kind")
                yield Label("kernel", classes="field-label")
                yield Input(id="entry-kernel", placeholder="lab/vmlinuz or http://…")
                yield Label("initrds (space or comma separated)", classes="field-label")
                yield Input(id="entry-initrds")
                yield Label("args", classes="field-label")
                yield Input(id="entry-args")
                yield Static("", id="entry-problems")
                with Horizontal(id="entry-buttons"):
                    yield Button("Apply to draft", id="entry-apply", variant="primary")
                    yield Button("Save profile", id="entry-save", variant="success")
        yield ConsoleFooter(compact=True)

    def on_mount(self) -> None:
        self.query_one("#entries-list").border_title = "entries"
        self.query_one("#entry-form").border_title = "edit"
        if self.path is None:
            self._say("the engine did not say which profile file it runs", error=True)
            return
        try:
            self.saved_text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            self._say(f"cannot read {self.path}: {exc}", error=True)
            return
        self.draft = self.saved_text
        self._fill_list()

    # --- helpers --------------------------------------------------------------------------

    @property
    def dirty(self) -> bool:
        return self.draft != self.saved_text

    def _entries(self) -> list[EntryFields]:
        try:
            return read_entries(self.draft)
        except Exception as exc:  # a YAML error in the file as it is on disk
            self._say(f"cannot read entries: {exc}", error=True)
            return []

    def _fill_list(self) -> None:
        options = self.query_one("#entries-list", OptionList)
        highlighted = options.highlighted
        options.clear_options()
        for entry in self._entries():
            label = Text(clean(entry.name, 30), style="" if entry.editable else "dim")
            options.add_option(Option(label, id=entry.name))
        if options.option_count:
            options.highlighted = highlighted if highlighted is not None else 0
        self._title()

    def _title(self) -> None:
        name = self.path.name if self.path else "?"
        self.query_one("#entry-form").border_title = f"{name}{' (modified)' if self.dirty else ''}"

    def _say(self, message: str, error: bool = False) -> None:
        self.query_one("#entry-problems", Static).update(
            Text(message, style="bold red" if error else "green")
        )
        self.set_class(error, "-invalid")

    def _show(self, name: str) -> None:
        entry = next((e for e in self._entries() if e.name == name), None)
        if entry is None:
            return
        self.current = name
        kind = f"{entry.name}: {entry.kind}"
        if entry.description:
            kind += f" — {entry.description}"
        if not entry.editable:
            kind += " (nothing to edit here: no kernel)"
        self.query_one("#entry-kind", Label).update(Text(clean(kind, 200)))
        for field_id, value in (
            ("#entry-kernel", entry.kernel),
            ("#entry-initrds", " ".join(entry.initrds)),
            ("#entry-args", entry.args),
        ):
            box = self.query_one(field_id, Input)
            box.value = value
            box.disabled = not entry.editable
        self.query_one("#entry-apply", Button).disabled = not entry.editable
        self._say("")

    # --- events ---------------------------------------------------------------------------

    @on(OptionList.OptionHighlighted, "#entries-list")
    def _entry_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id is not None:
            self._show(event.option.id)

    @on(Input.Submitted)
    @on(Button.Pressed, "#entry-apply")
    def action_apply(self) -> bool:
        """Check the form, then fold it into the draft. Returns whether it was accepted."""
        if self.current is None or self.path is None:
            return False
        kernel = self.query_one("#entry-kernel", Input).value.strip()
        initrds = split_initrds(self.query_one("#entry-initrds", Input).value)
        args = self.query_one("#entry-args", Input).value.strip()
        issues = field_problems(kernel, initrds)
        if issues:
            self._say("\n".join(issues), error=True)
            return False
        candidate = edit_entry(self.draft, self.current, kernel=kernel, initrds=initrds, args=args)
        complaint = problems(candidate, str(self.path), self.path.parent)
        if complaint:
            self._say(complaint, error=True)
            return False
        self.draft = candidate
        self._title()
        self._say("applied to the draft; Ctrl+S saves the profile" if self.dirty else "no change")
        return True

    @on(Button.Pressed, "#entry-save")
    def _save_pressed(self) -> None:
        self.action_save()

    @work(exclusive=True, group="save")
    async def action_save(self) -> None:
        """Write the draft (backup first), then ask the engine to reload it."""
        if self.path is None:
            return
        if self.current is not None and not self.action_apply():
            return
        if not self.dirty:
            self.notify("nothing to save")
            return
        try:
            backup = save_profile(self.path, self.draft)
        except OSError as exc:
            self._say(f"save failed: {exc}", error=True)
            return
        self.saved_text = self.draft
        self._title()
        self._say(f"saved {self.path.name} (previous file kept as {backup.name})")
        try:
            await self.link.request("reload")
        except EngineError as exc:
            self.notify(f"saved, but the engine did not reload: {exc}", severity="warning")
            return
        self.notify(f"saved {self.path.name}; engine reloaded", title="profile")

    def action_revert(self) -> None:
        self.draft = self.saved_text
        self._fill_list()
        if self.current is not None:
            self._show(self.current)
        self._say("draft reverted to the file on disk")

    def action_leave(self) -> None:
        if self.dirty and not self._leave_armed:
            self._leave_armed = True
            self.notify("unsaved changes: Ctrl+S saves, Esc again discards", severity="warning")
            return
        self.app.pop_screen()
