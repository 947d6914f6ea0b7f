"""Esc bench: does a bare Esc close a screen as fast as another key that does the same?

``pxetui attach`` runs in a real pty (120x40) against the UI bench's engine process (N
clients, R events/s). Help opens with ``?`` and closes, alternately, with Esc and with
``?`` (both close it): the time from the key's byte to the main screen's "all events" in
the bytes the console writes. Same screen change, so the difference is the ESC handling.

Textual's own driver for comparison: ``TEXTUAL_DRIVER=textual.drivers.linux_driver:LinuxDriver``.
Run::

    python bench/esc_bench.py [--clients 1000] [--rate 5000] [--rounds 40]
"""

from __future__ import annotations

import argparse
import os
import select
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ui_bench import (  # noqa: E402
    _ANSI,
    console_in_pty,
    start_engine,
    summary,
    with_timeout_kill,
)


def run(socket_path: Path, rounds: int) -> tuple[list[float], list[float]]:
    pid, fd = console_in_pty(socket_path)

    def wait_for(seconds: float, until: bytes | None = None) -> float | None:
        data = b""
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.005)
            if ready:
                try:
                    data += os.read(fd, 1 << 16)
                except OSError:
                    break
                if until is not None and until in _ANSI.sub(b"", data):
                    return time.perf_counter()
        return None

    wait_for(5.0)  # startup, snapshot, first frames
    by_key: dict[bytes, list[float]] = {b"\x1b": [], b"?": []}
    for round_ in range(rounds):
        close = b"\x1b" if round_ % 2 == 0 else b"?"
        wait_for(0.1)
        os.write(fd, b"?")
        if wait_for(3.0, b"pxetui console") is None:
            continue
        wait_for(0.2)  # help is drawn; nothing pending
        start = time.perf_counter()
        os.write(fd, close)
        seen = wait_for(3.0, b"all events")
        if seen is not None:
            by_key[close].append(seen - start)
    os.write(fd, b"q")
    wait_for(1.0)
    with_timeout_kill(pid)
    return by_key[b"\x1b"], by_key[b"?"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=5000, help="events per second")
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    args.seconds = args.rounds * 1.0  # how long the engine process streams
    driver = os.environ.get("TEXTUAL_DRIVER", "pxetui's ConsoleDriver")
    print(f"esc bench: {args.clients} clients, {args.rate} events/s, driver {driver}")
    with tempfile.TemporaryDirectory() as tmp:
        engine = start_engine(Path(tmp) / "control.sock", args)
        try:
            escape, other = run(Path(tmp) / "control.sock", args.rounds)
        finally:
            engine.terminate()
            engine.wait(10)
    for name, samples in (("Esc closes help", escape), ("'?' closes help", other)):
        print("key->bytes " + (summary(name, samples) if samples else f"{name}: no samples"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
