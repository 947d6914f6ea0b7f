"""A client's boots and hints in words: the one wording ``pxetui status``, the client table
and the client detail share, so the three never tell an operator different stories.

Input is the documented client shape (:meth:`pxetui.core.client_state.ClientState.to_dict`)
as it arrives over the control socket, so every value is checked before use and every
client-controlled string is cleaned.
"""

from __future__ import annotations

import time
from typing import Any

from pxetui.core.sanitize import clean

_SEVERITY_MARK = {"error": "✖", "warn": "!", "info": "i"}
_OUTCOME_WORDS = {
    "running": "running",
    "handed_over": "handed over",
    "local": "local boot",
    "stalled": "stalled",
    "failed": "failed",
    "superseded": "superseded",
}


def _clock(ts: Any) -> str:
    if not isinstance(ts, int | float) or isinstance(ts, bool) or ts <= 0:
        return "--:--:--"
    return time.strftime("%H:%M:%S", time.localtime(ts))


def _text(value: Any, cap: int = 200) -> str:
    return "" if value is None else clean(str(value), cap)


def hints_of(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The active hints, as dicts (anything else in the list is ignored)."""
    return [h for h in state.get("hints") or [] if isinstance(h, dict)]


def phase_cell(state: dict[str, Any]) -> str:
    """The table's Phase cell: the phase while running or handed over, else the outcome;
    a leading ``!`` when a warning or error hint holds (it survives a narrow column)."""
    outcome = str(state.get("outcome") or "running")
    word = str(state.get("phase") or "") if outcome in ("running", "handed_over") else outcome
    if outcome == "local":
        word = "local"
    flagged = any(h.get("severity") in ("warn", "error") for h in hints_of(state))
    return ("!" if flagged else "") + _text(word, 20)


def outcome_text(boot: dict[str, Any]) -> str:
    """``handed over at 10:02:19 (16 s): kernel and initrds sent``."""
    outcome = str(boot.get("outcome") or "running")
    word = _OUTCOME_WORDS.get(outcome, _text(outcome, 20))
    if outcome == "running":
        return f"running, at {_text(boot.get('phase'), 20)}"
    started, ended = boot.get("started"), boot.get("ended")
    took = ""
    if isinstance(started, int | float) and isinstance(ended, int | float):
        took = f" ({max(0.0, ended - started):.0f} s)"
    evidence = _text(boot.get("end_evidence"), 160)
    return f"{word} at {_clock(ended)}{took}" + (f": {evidence}" if evidence else "")


def boot_line(boot: dict[str, Any], nics: int = 1) -> str:
    """One boot in one line: number, start, NIC, firmware chain, entry, outcome, menu item."""
    parts = [f"#{boot.get('n', '?')} {_clock(boot.get('started'))}"]
    if nics > 1:
        parts.append(f"NIC {_text(boot.get('nic'), 17)}")
    chain = [_text(f, 20) for f in boot.get("firmwares") or [] if f]
    if chain:
        parts.append(" > ".join(chain))
    entry = _text(boot.get("entry"), 40) or "-"
    if boot.get("once"):
        entry += " (once)"
    if boot.get("menu_item"):
        entry += f", item {_text(boot.get('menu_item'), 60)}"
    parts.append(f"entry {entry}")
    parts.append(outcome_text(boot))
    return " · ".join(parts)


def hint_lines(hint: dict[str, Any]) -> list[str]:
    """A hint as a headline, what was seen, and the likely causes in order."""
    mark = _SEVERITY_MARK.get(str(hint.get("severity")), "?")
    lines = [f"{mark} {_text(hint.get('text'))}", f"    seen: {_text(hint.get('evidence'), 300)}"]
    causes = [c for c in hint.get("causes") or [] if isinstance(c, str)]
    for i, cause in enumerate(causes, 1):
        lines.append(f"    {i}. {_text(cause, 300)}")
    return lines
