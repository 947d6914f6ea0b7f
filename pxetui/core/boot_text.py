"""A client's boots and hints in words: the one wording ``pxetui status``, the client table
and the client detail share, so the three never tell an operator different stories.

Input is the typed client shape (:class:`pxetui.core.wire.ClientRow`): values were checked
and cleaned once, at the boundary.
"""

from __future__ import annotations

from pxetui.core.hints import Hint
from pxetui.core.wire import BootRow, ClientRow
from pxetui.core.wording import clock

_SEVERITY_MARK = {"error": "✖", "warn": "!", "info": "i"}
_OUTCOME_WORDS = {
    "running": "running",
    "handed_over": "handed over",
    "local": "local boot",
    "stalled": "stalled",
    "failed": "failed",
    "superseded": "superseded",
}


SHORT_PHASE_WORDS = {
    "discovered": "dhcp",
    "offered": "offer",
    "loader": "loader",
    "config": "config",
    "kernel": "kernel",
    "initrd": "initrd",
    "root_image": "image",
    "handed_over": "booted",
    "local": "local",
    "stalled": "stalled",
    "failed": "failed",
    "superseded": "restart",
}
"""The words of a narrow table (at most 7 letters, so ``!`` plus the word fits 8 columns);
``status`` and the detail keep the long ones."""
SHORT_PHASE_WIDTH = 1 + max(len(w) for w in SHORT_PHASE_WORDS.values())


def phase_cell(client: ClientRow, short: bool = False) -> str:
    """The table's Phase cell: the phase while running or handed over, else the outcome;
    a leading ``!`` when a warning or error hint holds (it survives a narrow column).
    *short*: the narrow table's words (:data:`SHORT_PHASE_WORDS`)."""
    outcome = client.outcome
    word = client.phase if outcome in ("running", "handed_over") else outcome
    if short:
        word = SHORT_PHASE_WORDS.get(word, word[:7])
    flagged = any(h.severity in ("warn", "error") for h in client.hints)
    return ("!" if flagged else "") + word


def outcome_text(boot: BootRow) -> str:
    """``handed over at 10:02:19 (16 s): kernel and initrds sent``."""
    if boot.outcome == "running":
        return f"running, at {boot.phase}"
    word = _OUTCOME_WORDS.get(boot.outcome, boot.outcome)
    took = ""
    if boot.ended is not None and boot.started:
        took = f" ({max(0.0, boot.ended - boot.started):.0f} s)"
    evidence = f": {boot.end_evidence}" if boot.end_evidence else ""
    return f"{word} at {clock(boot.ended)}{took}{evidence}"


def boot_line(boot: BootRow, nics: int = 1) -> str:
    """One boot in one line: number, start, NIC, firmware chain, entry, outcome, menu item."""
    parts = [f"#{boot.n} {clock(boot.started)}"]
    if nics > 1:
        parts.append(f"NIC {boot.nic}")
    if boot.firmwares:
        parts.append(" > ".join(boot.firmwares))
    entry = boot.entry or "-"
    if boot.once:
        entry += " (once)"
    if boot.menu_item:
        entry += f", item {boot.menu_item}"
    parts.append(f"entry {entry}")
    parts.append(outcome_text(boot))
    return " · ".join(parts)


def hint_lines(hint: Hint) -> list[str]:
    """A hint as a headline, what was seen, and the likely causes in order."""
    mark = _SEVERITY_MARK.get(hint.severity, "?")
    lines = [f"{mark} {hint.text}", f"    seen: {hint.evidence}"]
    lines += [f"    {i}. {cause}" for i, cause in enumerate(hint.causes, 1)]
    return lines
