"""What a Textual widget shows, as plain text (for assertions on screens)."""

from __future__ import annotations

import io

from rich.console import Console
from textual.widgets import Static


def shown_text(static: Static, width: int = 120) -> str:
    """A Static's content rendered at *width* columns, without styles (Text, Group, …)."""
    console = Console(width=width, file=io.StringIO(), record=True)
    console.print(static.content)
    return console.export_text()
