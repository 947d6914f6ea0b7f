"""The engine's side of the control API: the ``state`` snapshot and each op.

Kept apart from :mod:`pxetui.engine.engine` so the engine's lifecycle reads on its own; this
module only translates JSON arguments into engine calls and results back into JSON.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pxetui.core.events import event_to_dict
from pxetui.core.explain import explain
from pxetui.core.mac import MacAddress
from pxetui.engine.assignments import assignment_table
from pxetui.engine.control.protocol import ControlError
from pxetui.engine.control.server import ControlServer
from pxetui.engine.seams import ControlledEngine
from pxetui.engine.store.protocol import STORE_ERRORS

HISTORY_MAX = 1000


class EngineControl:
    def __init__(self, engine: ControlledEngine) -> None:
        self._engine = engine
        self._server = ControlServer(engine.socket_path, self, engine.bus)

    async def start(self) -> None:
        await self._server.start()

    async def stop(self) -> None:
        await self._server.stop()

    def snapshot(self, summary: bool = False) -> dict[str, Any]:
        engine = self._engine
        fleet = engine.fleet_snapshot()
        profile = engine.profile
        effective = engine.effective()
        entries: dict[str, Any] = {
            name: entry.model_dump(mode="json") for name, entry in profile.entries.items()
        }
        entries.setdefault("local", {"kind": "local", "description": "Boot from local disk"})
        return {
            "profile": {
                "name": profile.name,
                "path": str(engine.profile_path) if engine.profile_path else None,
                "server": str(engine.addresses.server) if engine.addresses else None,
                "http_base": engine.ctx.http_base if engine.ctx else None,
                "dhcp_mode": profile.network.dhcp.mode,
                "interface": profile.network.interface,
            },
            "services": {name: event_to_dict(ev) for name, ev in sorted(engine.services.items())},
            "clients": self._clients(fleet, summary),
            "fleet": {k: v for k, v in fleet.items() if k != "clients"} if fleet else None,
            "entries": entries,
            "assignments": assignment_table(profile, engine.db.assignments()),
            "unknown": effective.unknown,
            "recent_events": engine.recent.dicts(),
        }

    def _clients(self, fleet: dict[str, Any] | None, summary: bool) -> list[dict[str, Any]]:
        """Our clients; with a shared store, tagged with our name, then the other engines'."""
        clients = self._engine.tracker.clients()
        own = [c.summary_dict() if summary else c.to_dict(full=True) for c in clients]
        if fleet is None:
            return own
        return [{**row, "engine": fleet["engine"]} for row in own] + list(fleet["clients"])

    def _client(self, mac: MacAddress) -> dict[str, Any]:
        """One client's whole row (every boot, its DHCP steps and transfers): what the
        detail screen shows; the stream only carries summaries."""
        client = self._engine.tracker.get(mac)
        if client is not None:
            return client.to_dict(full=True)
        fleet = self._engine.fleet_snapshot()
        for row in fleet["clients"] if fleet else ():
            if row.get("mac") == mac.colon:
                return dict(row)
        raise ControlError(f"no client {mac.colon} is known to this engine")

    async def dispatch(self, op: str, args: dict[str, Any], who: str = "") -> Any:
        engine = self._engine
        if op == "assign":
            mac = _mac(args)
            entry = _text(args, "entry")
            files = await engine.assign(mac, entry, once=_flag(args, "once"), by=who)
            return {"mac": mac.colon, "entry": entry, "files": list(files)}
        if op == "unassign":
            mac = _mac(args)
            return {"mac": mac.colon, "removed": await engine.unassign(mac, by=who)}
        if op == "set_default":
            entry = _text(args, "entry")
            await engine.set_default(entry)
            return {"unknown": entry}
        if op == "preview":
            preview, current = engine.preview(_mac(args), _text(args, "entry"), _flag(args, "once"))
            return {
                "files": {path: preview.text(path) for path in preview},
                "current": {
                    path: data.decode("utf-8", "replace") for path, data in current.items()
                },
            }
        if op == "explain":
            return _explain(engine, args)
        if op == "client":
            return self._client(_mac(args))
        if op == "history":
            limit = _count(args, "limit", 100, HISTORY_MAX)
            engine.history.flush()  # rows still waiting for their batch
            try:
                return engine.db.history(_mac(args), limit)
            except STORE_ERRORS as exc:  # a shared store that is away: say so, in words
                raise ControlError(str(exc)) from exc
        if op == "reload":
            profile = await engine.reload_profile()
            return {
                "name": profile.name,
                "entries": len(profile.entries),
                "hosts": len(profile.hosts),
            }
        if op == "stop":
            engine.request_stop()
            return "stopping"
        raise ControlError(f"op {op!r} is not supported by this engine")


def _mac(args: dict[str, Any]) -> MacAddress:
    value = args.get("mac")
    if not isinstance(value, str):
        raise ValueError("mac is required (e.g. 52:54:00:12:34:56)")
    return MacAddress.parse(value)


def _flag(args: dict[str, Any], key: str) -> bool:
    value = args.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false")
    return value


def _count(args: dict[str, Any], key: str, default: int, most: int) -> int:
    """A whole number 1..*most* (a larger one is clamped: "give me everything")."""
    value = args.get(key, default)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{key} must be a whole number from 1 to {most}")
    return min(value, most)


def _text(args: dict[str, Any], key: str) -> str:
    value = args.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} is required")
    return value


def _explain(engine: ControlledEngine, args: dict[str, Any]) -> Any:
    mac = _mac(args)
    arch = args.get("arch")
    client = engine.tracker.get(mac)
    if client is not None and (arch is None or not str(arch).strip().isdigit()):
        # UIs pass the row's arch label ("UEFI x64"); the tracker knows option 93 itself.
        code = client.boot.arch_code if client.boot is not None else None
        arch = code if code is not None else arch
    # Without an IP from the caller, the one DHCP gave the client: a relayed client's is
    # on its own segment, not ours, and pxelinux asks for it in hex all the same.
    ip = args.get("ip") or (client.ip if client is not None else None)
    steps = explain(
        mac,
        ip=ip,
        uuid=args.get("uuid"),
        arch=arch,
        profile=engine.effective(),
        tftp_root=engine.profile.tftp.root,
    )
    return [_plain(step) for step in steps]


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
