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
import gc
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
from collections.abc import Callable
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

sys.path.insert(0, str(ROOT / "bench"))
import ui_engine  # noqa: E402

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


def object_census(last: dict[str, int]) -> str:
    """The ten object types that grew most since *last* (updated in place), over every object
    the collector tracks (frozen ones too: unfrozen for the count, frozen again after)."""
    gc.unfreeze()
    gc.collect()  # live objects only
    counts: dict[str, int] = {}
    objects = gc.get_objects()
    for obj in objects:
        name = type(obj).__qualname__
        counts[name] = counts.get(name, 0) + 1
    grown = sorted(((n - last.get(t, 0), t) for t, n in counts.items()), reverse=True)[:10]
    holders: dict[str, int] = {}
    if last and grown and grown[0][0] > 0:  # who holds the type that grew most
        top = grown[0][1]
        sample = [o for o in objects if type(o).__qualname__ == top][-200:]
        for obj in sample:
            for holder in gc.get_referrers(obj):
                if holder is objects or holder is sample:
                    continue
                name = type(holder).__qualname__
                owner = getattr(holder, "__self__", None)
                name += f" of {type(owner).__qualname__}" if owner is not None else ""
                holders[name] = holders.get(name, 0) + 1
    del objects
    gc.freeze()
    last.clear()
    last.update(counts)
    held = ", ".join(f"{n} x{c}" for n, c in sorted(holders.items(), key=lambda i: -i[1])[:6])
    text = ", ".join(f"{t} +{d}" for d, t in grown if d > 0) or "nothing"
    return text + (f"; the last 200 of the first held by: {held}" if held else "")


def summary(name: str, samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return (
        f"{name}: n={len(ms)} p50={statistics.median(ms):.1f} ms p95={p95:.1f} ms "
        f"max={ms[-1]:.1f} ms"
    )


KEYS: list[tuple[str, str, str, str]] = [
    # (key, character, what the frame must show (a screen, or the cursor moved), name)
    ("down", "", "cursor", "Down (table)"),
    ("up", "", "cursor", "Up (table)"),
    ("enter", "\r", "ClientDetailScreen", "Enter (detail)"),
    ("escape", "\x1b", "MAIN", "Esc (detail -> main)"),
    ("question_mark", "?", "HelpScreen", "? (help)"),
    ("escape", "\x1b", "MAIN", "Esc (help -> main)"),
    ("a", "a", "AssignScreen", "a (assign dialog)"),
    ("escape", "\x1b", "MAIN", "Esc (assign -> main)"),
    ("slash", "/", "filter", "/ (filter box)"),
    ("escape", "\x1b", "nofilter", "Esc (close filter)"),
]
"""One round of keys; each is timed from the key event to the first frame that shows it."""
RSS_EVERY = 30.0
STEER_EVERY = 2.0


def rss_slope(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MiB) samples, in MiB per minute."""
    if len(samples) < 2:
        return 0.0
    xs, ys = [t for t, _ in samples], [m for _, m in samples]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return 60 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


async def in_process(
    socket_path: Path, args: argparse.Namespace, steer: Callable[[float], None] | None = None
) -> None:
    """Every key of :data:`KEYS` in turn, under the stream; RSS every 30 s. *steer* is
    told the event rate the console received over the last 2 s (the real engine's load)."""
    from textual import events
    from textual.widgets import Input

    from pxetui.ui.app import PxeConsole
    from pxetui.ui.connection import EngineLink
    from pxetui.ui.screens.main import MainScreen
    from pxetui.ui.widgets.client_table import ClientTable

    app = PxeConsole(EngineLink(socket_path))
    frames: list[tuple[float, str, int, bool]] = []
    original = app._display
    table: ClientTable | None = None

    def display(screen: Any, renderable: Any) -> None:
        # Stamp each frame with what it shows (the screen, the cursor, the filter box).
        if renderable is not None and table is not None:
            shown = "MAIN" if isinstance(app.screen, MainScreen) else type(app.screen).__name__
            box = app.main_screen.query_one("#client-filter", Input) if app.main_screen else None
            frames.append((time.perf_counter(), shown, table.cursor_row, bool(box and box.display)))
        original(screen, renderable)

    app._display = display  # type: ignore[method-assign]
    snapshots = 0
    load_snapshot = app.link.state.load_snapshot

    def counted(snapshot: dict[str, Any]) -> None:  # each (re)attach loads one
        nonlocal snapshots
        snapshots += 1
        load_snapshot(snapshot)

    app.link.state.load_snapshot = counted  # type: ignore[method-assign]
    me = psutil.Process()
    pauses: list[float] = []  # the full (generation 2) collections: they stop the UI thread
    gc_started = 0.0

    def gc_timer(phase: str, info: dict[str, int]) -> None:
        nonlocal gc_started
        if info.get("generation") != 2:
            return
        if phase == "start":
            gc_started = time.perf_counter()
        else:
            pauses.append(time.perf_counter() - gc_started)

    gc.callbacks.append(gc_timer)
    census: dict[str, int] = {}
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(ClientTable)
        t_attach = time.perf_counter()
        while table.row_count < args.clients and time.perf_counter() - t_attach < 120:
            await pilot.pause(0.2)
            if steer is not None:
                steer(0.0)  # still warming up: every client's first round makes its row
        print(f"in-process: {table.row_count} rows after {time.perf_counter() - t_attach:.2f} s")
        state = app.link.state
        total0, t0 = state.events_total, time.perf_counter()
        rss: list[tuple[float, float]] = [(0.0, me.memory_info().rss / 2**20)]
        latencies: dict[str, list[float]] = {}
        end = t0 + args.seconds
        next_rss, next_steer, steer_total = t0 + RSS_EVERY, t0 + STEER_EVERY, total0
        step = 0
        while time.perf_counter() < end:
            keys = KEYS if args.keys == "all" else KEYS[:2]
            key, char, want, name = keys[step % len(keys)]
            step += 1
            if key in ("down", "up") and not isinstance(app.screen, MainScreen):
                continue
            before = table.cursor_row
            start = time.perf_counter()
            # What a terminal does: the driver hands the app a key event. (Pilot.press
            # would also wait for the app to go idle, which the stream never lets it do.)
            key_event = events.Key(key, char or None)
            key_event.set_sender(app)
            assert app._driver is not None
            app._driver.send_message(key_event)

            def shown(
                frame: tuple[float, str, int, bool], want: str = want, before: int = before
            ) -> bool:
                _, screen, cursor, box = frame
                if want == "cursor":
                    return cursor != before
                if want in ("filter", "nofilter"):
                    return screen == "MAIN" and box == (want == "filter")
                return screen == want

            seen = None
            limit = start + 3.0
            n0 = len(frames)
            while seen is None and time.perf_counter() < limit:
                await asyncio.sleep(0.001)
                seen = next((f[0] for f in frames[n0:] if f[0] >= start and shown(f)), None)
            latencies.setdefault(name, []).append((seen or time.perf_counter()) - start)
            await pilot.pause(0.15 + random.random() * 0.1)
            now = time.perf_counter()
            if now >= next_steer:
                rate = (state.events_total - steer_total) / (now - next_steer + STEER_EVERY)
                steer_total, next_steer = state.events_total, now + STEER_EVERY
                if steer is not None:
                    steer(rate)
            if now >= next_rss:
                next_rss += RSS_EVERY
                rss.append((now - t0, me.memory_info().rss / 2**20))
                print(
                    f"in-process t={now - t0:4.0f} s RSS {rss[-1][1]:.1f} MiB, "
                    f"events {(state.events_total - total0) / (now - t0):.0f}/s, "
                    f"log lines kept {state.log_lines_kept()}, snapshots loaded {snapshots}",
                    flush=True,
                )
                if args.objects:
                    grown = object_census(census)
                    print("in-process objects grown since the last census: " + grown, flush=True)
            del frames[: max(0, len(frames) - 2000)]
        elapsed = time.perf_counter() - t0
        received = state.events_total - total0
        rss.append((elapsed, me.memory_info().rss / 2**20))
        if args.screenshot is not None:  # the main screen as the stream left it
            while not isinstance(app.screen, MainScreen):
                app.pop_screen()
            await pilot.pause(0.5)
            print(
                "screenshot:",
                app.save_screenshot(args.screenshot.name, str(args.screenshot.parent)),
            )
    print(
        f"in-process: events folded {received} in {elapsed:.1f} s = {received / elapsed:.0f}/s; "
        f"snapshots loaded {snapshots} (1 = never re-attached)"
    )
    gc.callbacks.remove(gc_timer)
    for name, samples in latencies.items():
        print("in-process " + summary(f"key->frame {name:22}", samples))
    if pauses:
        print("in-process " + summary(f"full collections ({len(pauses)})  ", pauses))
    every = ", ".join(f"{m:.0f}" for _, m in rss)
    half = [s for s in rss if s[0] >= elapsed / 2]
    print(
        f"in-process RSS MiB every {RSS_EVERY:.0f} s: {every}; slope {rss_slope(rss):+.2f} "
        f"MiB/min overall, {rss_slope(half):+.2f} MiB/min over the second half"
    )


# --- measurement 2: a real terminal (pty) ---------------------------------------------------


def console_in_pty(socket_path: Path) -> tuple[int, int]:
    """``pxetui attach`` in a 120x40 pseudo-terminal: its pid and the terminal's fd."""
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
    return pid, fd


def pty_session(socket_path: Path, args: argparse.Namespace) -> None:
    pid, fd = console_in_pty(socket_path)
    child = psutil.Process(pid)

    cursor = [b""]  # the MAC the table's cursor row ("> MAC") was last drawn on

    def read_for(
        seconds: float, until: bytes | None = None, *, moved: bool = False
    ) -> tuple[bytes, float | None]:
        """Read for *seconds*, or until *until* shows (escapes removed), or — *moved* — until
        the cursor row is drawn on another client than before."""
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
                text = _ANSI.sub(b"", data)
                drawn = _CURSOR_ROW.findall(text)
                before, cursor[0] = cursor[0], drawn[-1] if drawn else cursor[0]
                if moved and any(mac != before for mac in drawn):
                    return data, time.perf_counter()
                if until is not None and until in text:
                    return data, time.perf_counter()
        return data, None

    read_for(5.0)  # startup, snapshot, first frames
    rss = [child.memory_info().rss]
    opens: list[float] = []
    closes: list[float] = []
    seconds = args.pty_seconds or args.seconds
    end = time.perf_counter() + seconds
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
    helps = len(rss) - 1
    moves: list[float] = []
    tries = 0
    end = time.perf_counter() + seconds
    row = 0
    while time.perf_counter() < end:
        read_for(0.05)
        key, row = (b"\x1b[B", row + 1) if row == 0 else (b"\x1b[A", row - 1)
        # The cursor row is drawn with a ">" before its MAC (any client's: the real engine's
        # MACs are its load's): wait for it drawn on another client than before the key.
        start = time.perf_counter()
        os.write(fd, key)
        tries += 1
        _, seen = read_for(3.0, moved=True)
        if seen is not None:
            moves.append(seen - start)
        read_for(0.2)
        rss.append(child.memory_info().rss)
    os.write(fd, b"q")
    read_for(1.0)
    with_timeout_kill(pid)
    for name, samples, pressed in (
        ("key->bytes ('?' opens help)", opens, helps),
        ("key->bytes (Esc back to main)", closes, helps),
        ("key->bytes (Down/Up moves the cursor row)", moves, tries),
    ):
        missed = f"; {pressed - len(samples)} of {pressed} keys never drawn in 3 s"
        text = summary(name, samples) if samples else f"{name}: no frame seen"
        print("terminal " + text + (missed if len(samples) < pressed else ""))
    quarters = [rss[min(len(rss) - 1, len(rss) * q // 4)] / 2**20 for q in range(5)]
    print(
        "terminal RSS MiB at 0, 25, 50, 75, 100 % of the pty run (help, then moves): "
        + ", ".join(f"{mib:.0f}" for mib in quarters)
        + f"; max {max(rss) / 2**20:.0f}"
    )


_ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")
"""Escape sequences between the characters of a word (style changes, cursor moves)."""
_CURSOR_ROW = re.compile(rb">((?:[0-9a-f]{2}:){5}[0-9a-f]{2})")
"""The table's cursor row, escapes removed: "> 52:54:00:…" (the mark, then the MAC)."""


def with_timeout_kill(pid: int) -> None:
    for _ in range(30):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


EVENTS_PER_ROUND = 4
"""Measured: a round (miss, transfer started, finished, the row updated) is 4.0 events."""
EVENTS_PER_STREAM = 15
"""Measured: one stream makes ~15 events/s (its progress and its client's row)."""
STREAM_SHARE = 0.7
"""Of the events asked for, the share streams make (the rest: rounds, the log lines)."""


class Pace:
    """The load: every client's first round quickly (the rows), then the rate asked for as
    streams (progress and rows) plus rounds (log lines).

    Not steered by what the console receives: a console that falls behind is dropped by
    the engine and reconnects, and steering on that would flood the engine instead."""

    def __init__(self, load: subprocess.Popen[str], clients: int, target: int) -> None:
        self.load, self.warm = load, True
        wanted = round(target * STREAM_SHARE / EVENTS_PER_STREAM)
        self.streams = min(clients // 2, ui_engine.STREAMS_MAX, wanted)
        self.rounds = target * (1 - STREAM_SHARE) / EVENTS_PER_ROUND
        ui_engine.set_rate(load, min(clients / 2, target / EVENTS_PER_ROUND))

    def __call__(self, received: float) -> None:
        if received > 0 and self.warm:
            self.warm = False
            ui_engine.set_rate(self.load, self.rounds, self.streams)


def subscriber_drops(log: str) -> int:
    """How often the engine dropped a subscriber as too slow (its rate-limited lines)."""
    drops = 0
    for line in log.splitlines():
        if "control subscriber dropped" in line:
            more = re.search(r"\((\d+) more since", line)
            drops += 1 + (int(more.group(1)) if more else 0)
    return drops


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=5000, help="events per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="per measurement")
    parser.add_argument(
        "--engine",
        choices=["real", "replay"],
        default="real",
        help="real: pxetui serve fed by real TFTP clients (default); replay: a synthetic stream",
    )
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--skip-pty", action="store_true")
    parser.add_argument(
        "--pty-seconds",
        type=float,
        help="per measurement in the pty (default: --seconds); '?'/Esc, then Down/Up",
    )
    parser.add_argument(
        "--keys", choices=["all", "table"], default="all", help="table: Down/Up only"
    )
    parser.add_argument("--screenshot", type=Path, help="save the main screen (SVG) at the end")
    parser.add_argument(
        "--objects", action="store_true", help="with each RSS line, the object types that grew"
    )
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve, args.clients, args.rate, args.seconds)
        return 0
    print(
        f"ui bench: {args.engine} engine, {args.clients} clients, {args.rate} events/s, "
        f"{args.seconds:.0f} s each"
    )
    with tempfile.TemporaryDirectory(prefix="pxetui-ui-bench-") as tmp:
        if args.engine == "replay":
            replay = start_engine(Path(tmp) / "control.sock", args)
            try:
                asyncio.run(in_process(Path(tmp) / "control.sock", args))
                if not args.skip_pty:
                    pty_session(Path(tmp) / "control.sock", args)
            finally:
                replay.terminate()
                replay.wait(10)
            return 0
        engine, tftp_port = ui_engine.start_engine(Path(tmp))
        load = ui_engine.start_load(tftp_port, args.clients, Path(tmp) / "load.log")
        try:
            pace = Pace(load, args.clients, args.rate)
            asyncio.run(in_process(engine.socket_path, args, pace))
            if not args.skip_pty:
                pty_session(engine.socket_path, args)
            lines = (Path(tmp) / "load.log").read_text().splitlines()
            if lines:
                last = json.loads(lines[-1])
                print(
                    f"load: {last['rounds']} rounds and {last['blocks']} streamed blocks in "
                    f"{last['t']:.0f} s, {last['streams']} streams at the end, {last['lost']} "
                    "lost (no answer in 2 s)"
                )
            drops = subscriber_drops(engine.log.read_text())
            print(f"engine: dropped a subscriber as too slow {drops} times")
        finally:
            if load.stdin is not None:
                load.stdin.close()
            try:
                load.wait(10)
            except subprocess.TimeoutExpired:
                load.kill()
            engine.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
