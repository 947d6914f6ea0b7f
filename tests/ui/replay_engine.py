"""A control-socket server that speaks the engine's protocol and replays fixed data.

Used where the test needs *deterministic* screens (snapshots: fixed timestamps, fixed
clients) or a stream far beyond what real clients can produce (the UI bench). It is a real
unix-socket server with the real framing, so the console's link code runs for real; flows
that must be true end to end (files on disk, TFTP, dnsmasq) run against the real engine.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pxetui.core import hints
from pxetui.core.events import (
    AssignmentChanged,
    ClientUpdated,
    EngineMessage,
    Event,
    ServiceEvent,
    event_to_dict,
)
from pxetui.core.mac import MacAddress

T0 = 1_763_800_000.0  # a fixed "now" so snapshots do not change with the clock


def client_state(i: int, phase: str = "kernel", ts: float = T0) -> dict[str, Any]:
    mac = MacAddress(f"525400e2{i:04x}")
    size = 8_000_000
    done = (i * 997_331) % size
    return {
        "mac": mac.colon,
        "hostname": f"node{i:03d}",
        "ip": f"10.250.{i // 250}.{i % 250 + 2}",
        "arch": ("BIOS", "UEFI x64", "s390 basic")[i % 3],
        "arch_code": (0, 7, 31)[i % 3],
        "firmware": ("PXE ROM", "EDK2", "s390-ccw")[i % 3],
        "vendor_class": "PXEClient:Arch:00000:UNDI:002001",
        "entry": ("centos8", "diskless", "local")[i % 3],
        "once": i % 4 == 0,
        "phase": phase,
        "phases": {"dhcp": ts - 9.5, "nbp": ts - 7.0, "config": ts - 5.2, phase: ts - 3.0},
        "first_seen": ts - 9.5,
        "last_seen": ts,
        "last_error": "",
        "hints": [] if i % 5 else [hints.ra_wait(ts - 8.0).to_dict()],
        "outcome": "running",
        "nic": mac.colon,
        "macs": [mac.colon],
        "transfers": [
            {
                "transfer_id": f"t{i}-1",
                "proto": "tftp",
                "filename": "pxelinux.0",
                "bytes": 42_378,
                "size": 42_378,
                "rate_bps": 0.0,
                "state": "done",
                "started": ts - 7.0,
                "finished": ts - 6.9,
            },
            {
                "transfer_id": f"t{i}-2",
                "proto": "http",
                "filename": "centos8/vmlinuz",
                "bytes": done,
                "size": size,
                "rate_bps": 12_500_000.0,
                "state": "running",
                "started": ts - 3.0,
                "finished": None,
            },
        ],
    }


def varied(state: dict[str, Any], i: int) -> dict[str, Any]:
    """Client *i* at one of six points of a boot, so a screen shows every tone: still in
    DHCP, a long once entry in the root image, handed over, a missing initrd, stalled."""
    ts = float(state["last_seen"])
    kind = i % 6
    transfers = state["transfers"]
    if kind == 1:
        state.update(entry="ubuntu-24.04-live-server", once=True, phase="root_image")
    elif kind == 2:
        done = {**transfers[1], "bytes": 8_000_000, "state": "done", "finished": ts - 1.0}
        state.update(phase="handed_over", outcome="handed_over", transfers=[transfers[0], done])
    elif kind == 3:
        state.update(phase="discovered", transfers=[])
    elif kind == 4:
        missing = {**transfers[1], "filename": "centos8/initrd.img", "bytes": 0}
        missing.update(state="missing", size=None, rate_bps=0.0, finished=ts - 2.0)
        hint = hints.file_missing("http", "centos8/initrd.img", ts - 2.0, "initrd").to_dict()
        state.update(phase="kernel", hints=[hint], transfers=[transfers[0], missing])
    elif kind == 5:
        state.update(phase="initrd", outcome="stalled")
    return state


def with_boots(state: dict[str, Any]) -> dict[str, Any]:
    """The client's ``boots``: an earlier one handed over, and the running one it shows."""
    ts = float(state["last_seen"])
    latest = {
        "n": 2,
        "started": ts - 9.5,
        "ended": None,
        "nic": state["mac"],
        "firmware": state["firmware"],
        "firmwares": [state["firmware"]],
        "arch": state["arch"],
        "entry": state["entry"],
        "once": state["once"],
        "phase": state["phase"],
        "phases": state["phases"],
        "outcome": "running",
        "end_evidence": "",
        "menu_item": None,
        "last_error": None,
        "hints": state["hints"],
        "cleared_hints": [],
    }
    earlier = {
        **latest,
        "n": 1,
        "started": ts - 300.0,
        "ended": ts - 280.0,
        "outcome": "handed_over",
        "phase": "handed_over",
        "end_evidence": "kernel and initrds sent",
        "hints": [],
    }
    return {**state, "boots": [earlier, latest]}


def snapshot(n_clients: int = 6, *, mixed: bool = False) -> dict[str, Any]:
    """The engine's attach snapshot; *mixed*: clients at different points (:func:`varied`)."""
    services = {
        "dhcp": event_to_dict(
            ServiceEvent(
                service="dhcp",
                state="failed",
                restarts=3,
                message="dnsmasq exited 2: failed to bind DHCP server socket: Address in use",
                ts=T0,
            )
        ),
        "tftp": event_to_dict(
            ServiceEvent(service="tftp", state="running", address="127.0.0.1:6969", ts=T0)
        ),
        "http": event_to_dict(
            ServiceEvent(service="http", state="running", address="127.0.0.1:8080", ts=T0)
        ),
    }
    states = [client_state(i) for i in range(n_clients)]
    if mixed:
        states = [varied(state, i) for i, state in enumerate(states)]
    clients = [with_boots(state) for state in states]
    first = MacAddress.parse(client_state(0)["mac"])
    recent: list[Event] = [
        ServiceEvent(service="tftp", state="running", address="127.0.0.1:6969", ts=T0 - 60),
        ServiceEvent(service="http", state="running", address="127.0.0.1:8080", ts=T0 - 60),
        ServiceEvent(service="dhcp", state="failed", message="dnsmasq exited 2", ts=T0 - 59),
        EngineMessage(text="serving profile 'lab'", ts=T0 - 59),
        AssignmentChanged(mac=first, entry="centos8", reason="operator", ts=T0 - 30),
    ]
    return {
        "profile": {
            "name": "lab",
            "path": "/srv/lab/lab.yaml",
            "server": "10.250.77.1",
            "http_base": "http://10.250.77.1:8080",
            "dhcp_mode": "proxy",
            "interface": "br0",
        },
        "services": services,
        "clients": clients,
        "entries": {
            "centos8": {"kind": "centos", "description": "CentOS 8 serial install"},
            "diskless": {"kind": "live", "description": "dracut livenet squashfs"},
            "local": {"kind": "local", "description": "boot from disk"},
        },
        "assignments": {
            c["mac"]: {"entry": c["entry"], "once": c["once"], "source": "operator"}
            for c in clients
        },
        "unknown": "local",
        "recent_events": [event_to_dict(event) for event in recent],
    }


class ReplayEngine:
    """Serve ``snapshot`` and whatever :meth:`publish` is given, on *socket_path*."""

    def __init__(self, socket_path: Path, snap: dict[str, Any] | None = None) -> None:
        self.socket_path = socket_path
        self.snap = snap if snap is not None else snapshot()
        self.requests: list[dict[str, Any]] = []
        self._loop = asyncio.new_event_loop()
        self._queues: list[asyncio.Queue[bytes | None]] = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._ready = threading.Event()
        self._server: asyncio.AbstractServer | None = None
        self.on_request: Callable[[dict[str, Any]], Any] | None = None
        #: each client's newest row (the snapshot's, then what was published): the ``client`` op
        self.rows: dict[str, dict[str, Any]] = {
            c["mac"]: c for c in self.snap.get("clients", []) if isinstance(c, dict)
        }

    def start(self) -> ReplayEngine:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("replay engine did not start")
        return self

    def stop(self) -> None:
        async def _close() -> None:
            for q in self._queues:
                q.put_nowait(None)
            if self._server is not None:
                self._server.close()
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        if self._loop.is_running():
            asyncio.run_coroutine_threadsafe(_close(), self._loop).result(5)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._loop.is_running():
            self._loop.close()

    def publish(self, event: Event) -> None:
        """Send *event* to every subscriber (thread-safe)."""
        if isinstance(event, ClientUpdated):
            self.rows[event.mac.colon] = event.state
        self.publish_lines([self.encode(event)])

    @staticmethod
    def encode(event: Event) -> bytes:
        return json.dumps({"event": event_to_dict(event)}).encode() + b"\n"

    def publish_lines(self, lines: list[bytes]) -> None:
        data = b"".join(lines)

        def put() -> None:
            for q in self._queues:
                q.put_nowait(data)

        self._loop.call_soon_threadsafe(put)

    @property
    def subscribers(self) -> int:
        return len(self._queues)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def main() -> None:
            self._server = await asyncio.start_unix_server(
                self._serve, path=str(self.socket_path), limit=1 << 24
            )
            self._ready.set()

        self._loop.run_until_complete(main())
        self._loop.run_forever()

    def _result(self, request: dict[str, Any]) -> Any:
        op = request.get("op")
        if self.on_request is not None:
            custom = self.on_request(request)
            if custom is not None:
                return custom
        if op in ("state", "subscribe"):
            return self.snap
        if op == "preview":
            mac = MacAddress.parse(request["mac"])
            path = f"pxelinux.cfg/{mac.pxelinux}"
            return {
                "files": {path: f"DEFAULT {request['entry']}\nLABEL {request['entry']}\n"},
                "current": {path: "DEFAULT local\nLABEL local\n"},
            }
        if op == "explain":
            return [
                {"file": "pxelinux.cfg/01-52-54-00-e2-00-00", "exists": True, "wins": True},
                {"file": "pxelinux.cfg/default", "exists": True, "wins": False},
            ]
        if op == "history":
            return []
        if op == "client":
            return self.rows.get(str(request.get("mac")), {"mac": request.get("mac")})
        return {}

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                request = json.loads(line)
                self.requests.append(request)
                reply = {"id": request.get("id"), "ok": True, "result": self._result(request)}
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
                if request.get("op") == "subscribe":
                    await self._stream(writer)
                    return
        except (ConnectionError, ValueError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _stream(self, writer: asyncio.StreamWriter) -> None:
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._queues.append(queue)
        try:
            while (data := await queue.get()) is not None:
                writer.write(data)
                await writer.drain()
        finally:
            self._queues.remove(queue)


def client_event(i: int, **changes: Any) -> ClientUpdated:
    state = client_state(i)
    state.update(changes)
    return ClientUpdated(mac=MacAddress.parse(state["mac"]), state=state, ts=T0)
