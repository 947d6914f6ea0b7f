"""Why dnsmasq stopped, in words an operator can act on.

dnsmasq's exit codes (dnsmasq(8), EXIT CODES) are distinct but terse, and what it printed
last usually names the culprit ("failed to bind DHCP server socket: Address already in
use"). The supervisor puts both into every "restarting"/"failed" report.
"""

from __future__ import annotations

import signal
from collections.abc import Sequence

from pxetui.core.sanitize import clean

# dnsmasq(8), EXIT CODES.
EXIT_MEANINGS: dict[int, str] = {
    1: "configuration problem",
    2: "network access problem (address in use, or no permission to use privileged ports)",
    3: "filesystem problem (missing file or directory, or permissions)",
    4: "memory allocation failure",
    5: "other problem (for example a missing capability)",
}


def explain_exit(returncode: int, last_lines: Sequence[str] = ()) -> str:
    """Why dnsmasq stopped, in words: the exit code's meaning and what it last wrote."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        text = f"dnsmasq was killed by {name}"
    elif returncode == 0:
        text = "dnsmasq exited without an error"
    elif returncode >= 11:
        text = f"dnsmasq exited with code {returncode} (its lease script failed)"
    else:
        meaning = EXIT_MEANINGS.get(returncode, "unknown problem")
        text = f"dnsmasq exited with code {returncode}: {meaning}"
    tail = [clean(line, 160) for line in last_lines if line.strip()][-3:]
    if tail:
        text += "; last lines: " + " | ".join(tail)
    return text
