"""A bounded progress line for long copies on the CLI.

On a terminal the line is redrawn in place (``\\r``) at most every :data:`MIN_INTERVAL`
seconds; into a pipe or a log, one line per :data:`STEP_PERCENT` percent, so a 4 GiB copy
writes at most ``100 / STEP_PERCENT + 1`` lines whatever its speed. The last line (100 %,
the size and the time taken) is always written.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

MIN_INTERVAL = 0.25
STEP_PERCENT = 10


def human(n: float) -> str:
    """``512 B``, ``3.2 MiB``, ``1.1 GiB``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


class ProgressLine:
    """``copying NAME  37%  120.0 MiB / 324.5 MiB`` for one file of *total* bytes."""

    def __init__(
        self,
        label: str,
        total: int,
        out: TextIO,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.total = max(total, 0)
        self.out = out
        self.tty = out.isatty() if tty is None else tty
        self.clock = clock
        self.started = clock()
        self.done = 0
        self.lines = 0
        self._last_draw = -MIN_INTERVAL
        self._last_step = -1

    def _percent(self) -> int:
        return 100 if self.total == 0 else min(100, self.done * 100 // self.total)

    def _text(self) -> str:
        return (
            f"copying {self.label}  {self._percent():3d}%  {human(self.done)} / {human(self.total)}"
        )

    def advance(self, n: int) -> None:
        """*n* more bytes were copied."""
        self.done += n
        now = self.clock()
        if self.tty:
            if now - self._last_draw >= MIN_INTERVAL:
                self._last_draw = now
                self.out.write("\r" + self._text())
                self.out.flush()
        else:
            step = self._percent() // STEP_PERCENT
            if step > self._last_step and self._percent() < 100:
                self._last_step = step
                self._emit(self._text())

    def finish(self) -> None:
        """The closing line: everything copied, and how long it took."""
        took = self.clock() - self.started
        text = f"{self._text()}  in {took:.1f} s"
        if self.tty:
            self.out.write("\r" + text + "\n")
            self.out.flush()
            self.lines += 1
        else:
            self._emit(text)

    def _emit(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()
        self.lines += 1
