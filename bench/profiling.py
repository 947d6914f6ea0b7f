"""py-spy on the pxetui server during one extra, unmeasured run (``--py-spy``).

Why: when pxetui misses a target, the useful answer is *where* its time goes. py-spy samples
the running interpreter from outside (no code change, ``--nonblocking`` so the server is never
paused); the samples are folded into the functions with the most self time. The profiled run
is never counted in the table, because sampling costs CPU on a 2-core box.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from types import TracebackType


class PySpy:
    """``py-spy record`` attached to ``pid`` for the duration of a ``with`` block."""

    def __init__(self, pid: int, out: Path, rate: int = 250) -> None:
        self.pid, self.out, self.rate = pid, out, rate
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> PySpy:
        exe = shutil.which("py-spy")
        if exe is None:
            raise RuntimeError("--py-spy needs py-spy: pip install py-spy")
        self.out.unlink(missing_ok=True)
        argv = [exe, "record", "-p", str(self.pid), "-r", str(self.rate), "-f", "raw"]
        argv += ["-o", str(self.out), "--nonblocking", "--subprocesses"]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)  # attaching takes a moment; samples before the run would be idle anyway
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


def top_self(raw: Path, top: int = 12) -> list[tuple[str, float]]:
    """The functions with the most self samples, as (frame, percent of all samples)."""
    counts: Counter[str] = Counter()
    total = 0
    try:
        lines = raw.read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        total += int(n)
        counts[stack.split(";")[-1]] += int(n)
    if not total:
        return []
    return [(frame, round(100 * c / total, 1)) for frame, c in counts.most_common(top)]
