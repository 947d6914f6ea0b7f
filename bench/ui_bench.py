"""UI bench: key press → repaint latency and memory of the console under a heavy stream.

An engine-side process serves the control protocol on a unix socket with N clients in its
snapshot and streams events at R events/s (the mix an engine produces under load:
ClientUpdated with moving progress, TransferProgress, DHCP lines, transfer starts/finishes,
misses). The console attaches to it like to a real engine. Two measurements:

* **in-process** (headless Textual, 120x40): press ↓ / ↑ in the 1,000-row table; the
  latency is key press → the next frame the compositor produces that shows the moved
  cursor (``App._display`` is wrapped to timestamp frames).
* **terminal** (``pxetui attach`` in a real pty, 120x40): write ``?`` / Esc to the pty and
  time until the help screen's text appears / disappears in the bytes the console writes.

Both print p50/p95/max and the RSS over time. Run::

    python bench/ui_bench.py [--clients 1000] [--rate 5000] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pty
import random
import re
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pxetui.core.events import (  # noqa: E402
    ClientUpdated,
    DhcpEvent,
    Event,
    FileNotFound,
    TransferFinished,
    TransferProgress,
    TransferStarted,
)
from pxetui.core.mac import MacAddress  # noqa: E402
from tests.ui.replay_engine import ReplayEngine, client_state, snapshot  # noqa: E402

# --- the engine side (a separate process, like a real engine) -------------------------------


def synthetic_event(i: int, n_clients: int, rng: random.Random) -> Event:
    """One event of the mix: 60% client updates, 20% progress, 10% DHCP, 10% transfers."""
    c = rng.randrange(n_clients)
    state = client_state(c, ts=time.time())
    ip = state["ip"]
    roll = rng.random()
    if roll < 0.6:
        state["transfers"][-1]["bytes"] = (i * 7919) % 8_000_000
        return ClientUpdated(mac=MacAddress.parse(state["mac"]), state=state)
    if roll < 0.8:
        return TransferProgress(
            transfer_id=f"t{c}",
            proto="http",
            client_ip=ip,
            filename="centos8/vmlinuz",
            bytes_sent=i,
            size=8_000_000,
        )
    if roll < 0.9:
        return DhcpEvent(
            msg_type="PXE", interface="br0", mac=MacAddress.parse(state["mac"]), text="proxy"
        )
    if roll < 0.95:
        return TransferStarted(
            transfer_id=f"s{i}", proto="tftp", client_ip=ip, filename="pxelinux.0", size=42_378
        )
    if roll < 0.98:
        return TransferFinished(
            transfer_id=f"s{i}",
            proto="tftp",
            client_ip=ip,
            filename="pxelinux.0",
            bytes_sent=42_378,
            seconds=0.1,
        )
    return FileNotFound(proto="tftp", client_ip=ip, filename="pxelinux.cfg/0AFA0002")


POOL = 25_000
"""Events pre-encoded before streaming, then cycled: encoding JSON on the fly could not
keep 5,000 events/s on a shared 2-core box, and the bench measures the console, not
the generator."""


def serve(socket_path: Path, n_clients: int, rate: int, seconds: float) -> None:
    """Serve the snapshot, then stream *rate* events/s to every subscriber."""
    snap = snapshot(n_clients)
    engine = ReplayEngine(socket_path, snap).start()
    rng = random.Random(5)
    pool = [ReplayEngine.encode(synthetic_event(i, n_clients, rng)) for i in range(POOL)]
    tick = 0.01
    sent = 0
    started = time.monotonic()
    deadline = started + seconds
    print("ready", flush=True)
    while time.monotonic() < deadline:
        if not engine.subscribers:
            started = time.monotonic()
            sent = 0
            time.sleep(tick)
            continue
        # Catch up to the schedule: if this process was descheduled, send what is due.
        due = int((time.monotonic() - started) * rate) - sent
        if due > 0:
            due = min(due, rate)  # never more than a second's worth at once
            start = sent % POOL
            batch = pool[start : start + due]
            if len(batch) < due:
                batch += pool[: due - len(batch)]
            engine.publish_lines(batch)
            sent += due
        time.sleep(tick)
    print(json.dumps({"sent": sent}), flush=True)
    engine.stop()


def start_engine(socket_path: Path, args: argparse.Namespace) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            str(socket_path),
            "--clients",
            str(args.clients),
            "--rate",
            str(args.rate),
            "--seconds",
            str(args.seconds + 60),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = ""
    while line != "ready":  # building the pool takes a few seconds
        line = proc.stdout.readline().strip()
        if not line and proc.poll() is not None:
            raise RuntimeError("bench engine exited")
    if line != "ready":
        raise RuntimeError("bench engine did not start")
    return proc


# --- measurement 1: in-process, headless ----------------------------------------------------


def summary(name: str, samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return (
        f"{name}: n={len(ms)} p50={statistics.median(ms):.1f} ms p95={p95:.1f} ms "
        f"max={ms[-1]:.1f} ms"
    )


async def in_process(socket_path: Path, args: argparse.Namespace) -> None:
    from textual import events

    from pxetui.ui.app import PxeConsole
    from pxetui.ui.connection import EngineLink
    from pxetui.ui.widgets.client_table import ClientTable

    app = PxeConsole(EngineLink(socket_path))
    frames: list[float] = []
    original = app._display

    def display(screen: Any, renderable: Any) -> None:
        if renderable is not None:
            frames.append(time.perf_counter())
        original(screen, renderable)

    app._display = display  # type: ignore[method-assign]
    me = psutil.Process()
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(ClientTable)
        t_attach = time.perf_counter()
        while table.row_count < args.clients and time.perf_counter() - t_attach < 60:
            await pilot.pause(0.05)
        print(f"in-process: {table.row_count} rows after {time.perf_counter() - t_attach:.2f} s")
        rss = [me.memory_info().rss]
        state = app.link.state
        total0, t0 = state.events_total, time.perf_counter()
        latencies: list[float] = []
        end = time.perf_counter() + args.seconds
        last_report = t0
        key = "down"
        while time.perf_counter() < end:
            before = table.cursor_row
            n_frames = len(frames)
            start = time.perf_counter()
            # What a terminal does: the driver hands the app a key event. (Pilot.press
            # would also wait for the app to go idle, which a 5,000 events/s stream
            # never lets it do.)
            key_event = events.Key(key, None)
            key_event.set_sender(app)
            assert app._driver is not None
            app._driver.send_message(key_event)
            # wait (bounded) for a frame produced after the cursor moved
            limit = start + 2.0
            while (
                table.cursor_row == before or len(frames) == n_frames
            ) and time.perf_counter() < limit:
                await asyncio.sleep(0.001)
            moved_frames = [f for f in frames[n_frames:] if f >= start]
            latencies.append((moved_frames[0] if moved_frames else time.perf_counter()) - start)
            key = (
                "up"
                if key == "down" and table.cursor_row > 20
                else ("down" if table.cursor_row < 2 else key)
            )
            await pilot.pause(0.15 + random.random() * 0.1)
            rss.append(me.memory_info().rss)
            if time.perf_counter() - last_report >= 10:
                last_report = time.perf_counter()
                print(
                    f"in-process t={last_report - t0:4.0f} s RSS {rss[-1] / 2**20:.0f} MiB, "
                    f"log lines kept {state.log_lines_kept()}",
                    flush=True,
                )
        elapsed = time.perf_counter() - t0
        received = state.events_total - total0
        in_window = [f for f in frames if f >= t0]
    print(
        f"in-process: events folded {received} in {elapsed:.1f} s = {received / elapsed:.0f}/s;"
        f" frames {len(in_window) / elapsed:.1f}/s"
    )
    print("in-process " + summary("key->frame (down/up in table)", latencies))
    print(
        f"in-process RSS MiB: start {rss[0] / 2**20:.0f}, "
        f"mid {rss[len(rss) // 2] / 2**20:.0f}, end {rss[-1] / 2**20:.0f}, "
        f"max {max(rss) / 2**20:.0f}"
    )


# --- measurement 2: a real terminal (pty) ---------------------------------------------------


def pty_session(socket_path: Path, args: argparse.Namespace) -> None:
    pid, fd = pty.fork()
    if pid == 0:  # child: the console, attached, in a 120x40 terminal
        os.environ["TERM"] = "xterm-256color"
        os.environ["COLUMNS"], os.environ["LINES"] = "120", "40"
        os.execv(
            sys.executable, [sys.executable, "-m", "pxetui", "attach", "--socket", str(socket_path)]
        )
    import fcntl
    import struct
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    child = psutil.Process(pid)

    def read_for(seconds: float, until: bytes | None = None) -> tuple[bytes, float | None]:
        data = b""
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.01)
            if ready:
                try:
                    chunk = os.read(fd, 1 << 16)
                except OSError:
                    break
                data += chunk
                if until is not None and until in _ANSI.sub(b"", data):
                    return data, time.perf_counter()
        return data, None

    read_for(5.0)  # startup, snapshot, first frames
    rss = [child.memory_info().rss]
    opens: list[float] = []
    closes: list[float] = []
    end = time.perf_counter() + args.seconds
    while time.perf_counter() < end:
        read_for(0.05)  # drain what is pending so the match is for this key
        start = time.perf_counter()
        os.write(fd, b"?")
        _, seen = read_for(3.0, b"pxetui console")
        if seen is not None:
            opens.append(seen - start)
        read_for(0.2)
        start = time.perf_counter()
        os.write(fd, b"\x1b")
        _, seen = read_for(3.0, b"all events")
        if seen is not None:
            closes.append(seen - start)
        read_for(0.2)
        rss.append(child.memory_info().rss)
    moves: list[float] = []
    end = time.perf_counter() + args.seconds
    row = 0
    while time.perf_counter() < end:
        read_for(0.05)
        key, row = (b"\x1b[B", row + 1) if row == 0 else (b"\x1b[A", row - 1)
        # The cursor row is drawn with a ">" before the MAC: wait for it on the new row.
        wanted = b">" + MacAddress(f"525400e2{row:04x}").colon.encode()
        start = time.perf_counter()
        os.write(fd, key)
        _, seen = read_for(3.0, wanted)
        if seen is not None:
            moves.append(seen - start)
        read_for(0.2)
    os.write(fd, b"q")
    read_for(1.0)
    with_timeout_kill(pid)
    if moves:
        print("terminal " + summary("key->bytes (Down/Up moves the cursor row)", moves))
    if opens:
        print("terminal " + summary("key->bytes ('?' opens help)", opens))
    if closes:
        print("terminal " + summary("key->bytes (Esc back to main)", closes))
    print(
        f"terminal RSS MiB: start {rss[0] / 2**20:.0f}, mid {rss[len(rss) // 2] / 2**20:.0f}, "
        f"end {rss[-1] / 2**20:.0f}, max {max(rss) / 2**20:.0f}"
    )


_ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")
"""Escape sequences between the characters of a word (style changes, cursor moves)."""


def with_timeout_kill(pid: int) -> None:
    for _ in range(30):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=5000, help="events per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="per measurement")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--skip-pty", action="store_true")
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve, args.clients, args.rate, args.seconds)
        return 0
    print(f"ui bench: {args.clients} clients, {args.rate} events/s, {args.seconds:.0f} s each")
    with tempfile.TemporaryDirectory() as tmp:
        engine = start_engine(Path(tmp) / "control.sock", args)
        try:
            asyncio.run(in_process(Path(tmp) / "control.sock", args))
            if not args.skip_pty:
                pty_session(Path(tmp) / "control.sock", args)
        finally:
            engine.terminate()
            engine.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
