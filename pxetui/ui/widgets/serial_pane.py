"""A VM's serial console as a pane: the firmware, the loader and the kernel, line by line.

Used by the lab (``pxetui lab``) beside the console's own widgets. Lines arrive already
stripped of terminal escapes (:func:`pxetui.lab.qemu.strip_ansi`); they are cleaned again
here (a guest prints whatever it likes) and kept to :data:`SERIAL_LINES`, the oldest
dropped first. Each power-on starts with a rule naming the boot, so several boots in one
pane stay apart.
"""

from __future__ import annotations

from rich.rule import Rule
from rich.text import Text
from textual.widgets import RichLog

from pxetui.core.sanitize import clean

SERIAL_LINES = 5000
"""Serial lines the pane keeps (README "Limits"); a TCG boot prints a few hundred."""
SERIAL_LINE_CHARS = 400


class SerialPane(RichLog):
    """The serial line of one VM; ``seconds`` is the host clock since QEMU started."""

    DEFAULT_CSS = """
    SerialPane {
        border: round $accent 60%;
        border-title-color: $accent;
        padding: 0 0 0 1;
    }
    SerialPane:focus { border: round $accent; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, wrap=False, max_lines=SERIAL_LINES, auto_scroll=True)
        self.lines_seen = 0

    def power_on(self, title: str) -> None:
        """A new boot starts: a rule with its name (``boot 2 · uefi · entry tiny``)."""
        self.write(Rule(clean(title, 120), style="dim"))

    def add_line(self, line: str, seconds: float) -> None:
        self.lines_seen += 1
        text = Text(f"{seconds:6.1f} ", style="dim")
        text.append(clean(line, SERIAL_LINE_CHARS))
        self.write(text)

    def note(self, text: str, style: str = "dim italic") -> None:
        """What the lab did to the VM (powered off, stopped for a reboot …)."""
        self.write(Text(clean(text, SERIAL_LINE_CHARS), style=style))

    @property
    def text(self) -> str:
        """Everything shown (for tests and screenshots' checks)."""
        return "\n".join(strip.text for strip in self.lines)
