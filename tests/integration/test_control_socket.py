"""The control API over a real unix socket: requests, subscriptions, privacy."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from pxetui.core.events import EngineMessage
from pxetui.engine.bus import EventBus
from pxetui.engine.control.client import ControlClient
from pxetui.engine.control.protocol import ControlError
from pxetui.engine.control.server import ControlServer, SocketInUseError


class RecordingHandler:
    """A handler that answers from a dict and records what it was asked."""

    def __init__(self, bus: EventBus) -> None:
        self.bus = bus
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.entries = {"centos": {"kind": "linux"}}

    def snapshot(self, summary: bool = False) -> dict[str, Any]:
        return {"entries": self.entries, "calls": len(self.calls)}

    async def dispatch(self, op: str, args: dict[str, Any], who: str = "") -> Any:
        self.calls.append((op, args))
        if op == "assign" and args.get("entry") not in self.entries:
            raise ValueError(f"no entry named {args.get('entry')!r}")
        if op == "assign":
            self.bus.publish(EngineMessage(text=f"assigned {args['mac']}"))
        return {"done": op}


@pytest.fixture
def sock_dir() -> Iterator[Path]:
    # World-traversable on purpose: only the socket's own mode may keep others out.
    path = Path(tempfile.mkdtemp(prefix="pxetui-ctl-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
async def served(sock_dir: Path) -> AsyncIterator[tuple[ControlServer, RecordingHandler, EventBus]]:
    bus = EventBus()
    handler = RecordingHandler(bus)
    server = ControlServer(sock_dir / "control.sock", handler, bus, depth=20)
    await server.start()
    yield server, handler, bus
    await server.stop()


async def test_requests_are_answered_in_order_with_results_and_errors(served: Any) -> None:
    """state, a successful op and a failing op come back as ok/result and ok:false/error."""
    server, handler, _ = served
    async with ControlClient(server.path) as client:
        assert (await client.request("state"))["entries"] == handler.entries
        assert await client.request("assign", mac="52:54:00:e2:e0:01", entry="centos") == {
            "done": "assign"
        }
        with pytest.raises(ControlError, match="no entry named 'nope'"):
            await client.request("assign", mac="52:54:00:e2:e0:01", entry="nope")
        with pytest.raises(ControlError, match="unknown op"):
            await client.request("format_disk")
    assert handler.calls[0] == ("assign", {"mac": "52:54:00:e2:e0:01", "entry": "centos"})


async def test_garbage_lines_get_an_error_reply_and_the_connection_survives(served: Any) -> None:
    """Bad JSON is answered, not fatal; the id is echoed when readable."""
    server, _, _ = served
    reader, writer = await asyncio.open_unix_connection(str(server.path))
    writer.write(b"not json\n" + b'{"id": 7}\n' + b'{"id": 8, "op": "state"}\n')
    await writer.drain()
    replies = [json.loads(await asyncio.wait_for(reader.readline(), 5)) for _ in range(3)]
    writer.close()
    assert replies[0]["ok"] is False and "not JSON" in replies[0]["error"]
    assert replies[1] == {"id": 7, "ok": False, "error": "missing op"}
    assert replies[2]["id"] == 8 and replies[2]["ok"] is True


async def test_subscribe_gives_the_snapshot_then_every_event_in_order(served: Any) -> None:
    """The stream starts with the state and then carries published events."""
    server, _, bus = served
    client = ControlClient(server.path)
    snapshot, events = await client.subscribe()
    assert "entries" in snapshot
    for i in range(5):
        bus.publish(EngineMessage(text=f"m{i}"))
    got = [await asyncio.wait_for(anext(events), 5) for _ in range(5)]
    assert [e.text for e in got if isinstance(e, EngineMessage)] == [f"m{i}" for i in range(5)]
    await client.close()


async def test_a_subscriber_that_stops_reading_is_dropped_not_waited_for(served: Any) -> None:
    """Flooding a subscriber past its queue depth ends its stream with "too slow"."""
    server, _, bus = served
    reader, writer = await asyncio.open_unix_connection(str(server.path), limit=1 << 24)
    writer.write(b'{"id": 1, "op": "subscribe"}\n')
    await writer.drain()
    assert json.loads(await asyncio.wait_for(reader.readline(), 5))["ok"] is True
    for i in range(100):  # synchronous burst: the writer cannot run in between
        bus.publish(EngineMessage(text=f"flood {i}"))
    lines = []
    while True:
        line = await asyncio.wait_for(reader.readline(), 5)
        if not line:
            break
        lines.append(json.loads(line))
    writer.close()
    assert lines[-1] == {"error": "too slow"}
    assert len(lines) < 100


async def test_a_second_server_on_a_live_socket_is_refused(served: Any) -> None:
    """Two engines never share one control socket."""
    server, handler, bus = served
    with pytest.raises(SocketInUseError):
        await ControlServer(server.path, handler, bus).start()


async def test_a_dead_engines_leftover_socket_is_replaced(sock_dir: Path) -> None:
    """A socket file nobody listens on (engine killed) does not block the next start."""
    import socket

    path = sock_dir / "control.sock"
    leftover = socket.socket(socket.AF_UNIX)
    leftover.bind(str(path))
    leftover.close()
    bus = EventBus()
    server = ControlServer(path, RecordingHandler(bus), bus)
    await server.start()
    try:
        async with ControlClient(path) as client:
            assert "entries" in await client.request("state")
    finally:
        await server.stop()
    assert not path.exists()


# Stats one path nonstop until a stop file appears (or 20 s pass); prints every mode it saw.
WATCHER = r"""
import os, stat, sys, time
path, stop, seen = sys.argv[1], sys.argv[2], set()
deadline = time.monotonic() + 20
print("ready", flush=True)
while time.monotonic() < deadline and not os.path.exists(stop):
    for _ in range(256):
        try:
            seen.add(stat.S_IMODE(os.stat(path).st_mode))
        except FileNotFoundError:
            pass
print(" ".join(oct(m) for m in sorted(seen)))
"""


async def test_the_socket_path_never_exists_with_another_mode(sock_dir: Path) -> None:
    """Whoever waits for the socket to appear finds it with its final mode: 50 starts, watched
    by another process stat-ing the path nonstop, show 0600 and nothing else."""
    path, stop = sock_dir / "control.sock", sock_dir.parent / f"{sock_dir.name}.stop"
    watcher = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        WATCHER,
        str(path),
        str(stop),
        stdout=asyncio.subprocess.PIPE,
    )
    assert watcher.stdout is not None
    assert await asyncio.wait_for(watcher.stdout.readline(), 10) == b"ready\n"
    bus = EventBus()
    for _ in range(50):
        server = ControlServer(path, RecordingHandler(bus), bus)
        await server.start()
        await server.stop()
    stop.touch()
    try:
        out, _ = await asyncio.wait_for(watcher.communicate(), 30)
    finally:
        stop.unlink()
    assert out.decode().split() == ["0o600"]
    assert list(sock_dir.iterdir()) == []  # no staging name left behind


async def test_the_socket_is_private_to_its_owner(served: Any) -> None:
    """Mode 0600, and user nobody cannot connect even though the directory is open."""
    server, _, _ = served
    assert stat.S_IMODE(server.path.stat().st_mode) == 0o600
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to try as another user")
    code = (
        "import socket,sys\n"
        "s=socket.socket(socket.AF_UNIX)\n"
        f"try:\n s.connect({str(server.path)!r})\nexcept PermissionError:\n sys.exit(13)\n"
        "sys.exit(0)\n"
    )
    proc = await asyncio.create_subprocess_exec(
        "setpriv",
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        sys.executable,
        "-c",
        code,
    )
    assert await asyncio.wait_for(proc.wait(), 30) == 13
