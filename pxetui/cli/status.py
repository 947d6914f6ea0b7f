"""``pxetui status``: what a running engine is doing, as a table or as JSON (``--json``)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from pxetui.cli.control_target import TargetError, add_target_args, socket_path
from pxetui.core.boot_text import boot_line, hint_lines, phase_cell
from pxetui.core.profile.errors import ProfileError
from pxetui.core.wire import ClientRow
from pxetui.core.wording import clock
from pxetui.engine.control.client import ControlClient
from pxetui.engine.control.protocol import ControlError
from pxetui.engine.jsonlog import EventLog


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "status",
        help="show a running engine's services, clients and assignments",
        description="Ask a running engine (pxetui serve) for its state.",
    )
    add_target_args(parser)
    parser.add_argument("--json", action="store_true", help="print the raw state as JSON")
    parser.add_argument(
        "--follow",
        action="store_true",
        help="then print every event as it happens (JSON lines with --json) until Ctrl-C",
    )
    parser.set_defaults(func=run)


async def fetch_state(path: Any) -> dict[str, Any]:
    async with ControlClient(path) as client:
        result = await client.request("state")
    if not isinstance(result, dict):
        raise ControlError("the engine's state is not an object")
    return result


async def follow(path: Any, as_json: bool) -> int:
    """The state, then the engine's event stream, until it closes or we are interrupted.

    The subscription's own snapshot has summary rows (no boot history); the state printed is
    asked for after subscribing, so no event is missed (one may show in both)."""
    client = ControlClient(path)
    _, events = await client.subscribe()
    state = await client.request("state")
    print(json.dumps(state) if as_json else render_state(state), flush=True)
    log = EventLog("json" if as_json else "text", sys.stdout)
    try:
        async for event in events:
            log(event)
    finally:
        await client.close()
    print("pxetui status: the engine closed the connection", file=sys.stderr)
    return 1


def run(args: argparse.Namespace) -> int:
    try:
        path = socket_path(args)
        if args.follow:
            return asyncio.run(follow(path, args.json))
        state = asyncio.run(fetch_state(path))
    except (TargetError, ProfileError) as exc:
        print(f"pxetui status: {exc}", file=sys.stderr)
        return 2
    except (ControlError, OSError) as exc:
        print(f"pxetui status: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(state, indent=2))
    else:
        print(render_state(state))
    return 0


def _ago(ts: Any, now: float) -> str:
    if not isinstance(ts, int | float) or ts <= 0:
        return "-"
    return f"{max(0.0, now - ts):.0f}s ago"


def _fleet_lines(fleet: Any) -> list[str]:
    """With a shared store: each engine's state and services, and the store's."""
    if not isinstance(fleet, dict):
        return []
    store = fleet.get("store") or {}
    online = "online" if store.get("online") else f"LOST ({store.get('lost_reason') or '?'})"
    lines = [
        "",
        f"fleet (store {store.get('url')}, {online}; this engine {fleet.get('engine')!r}):",
    ]
    for item in fleet.get("engines") or []:
        if not isinstance(item, dict):
            continue
        services = item.get("services")
        services = services if isinstance(services, dict) else {}
        states = " ".join(
            f"{name} {svc.get('state', '?')}"
            for name, svc in sorted(services.items())
            if isinstance(svc, dict)
        )
        seen = f"seen {item.get('age', '?')}s ago"
        lines.append(
            f"  {item.get('name', '?'):<10} {item.get('state', '?'):<8} "
            f"{item.get('address', ''):<15} {seen}  {states}".rstrip()
        )
    return lines


def render_state(state: dict[str, Any], now: float | None = None) -> str:
    """The state as a few plain-text tables for a terminal."""
    now = time.time() if now is None else now
    profile = state.get("profile", {})
    lines = [
        f"profile {profile.get('name')} ({profile.get('path') or 'ad-hoc'}), "
        f"server {profile.get('server')}, dhcp {profile.get('dhcp_mode')} "
        f"on {profile.get('interface') or '-'}, unknown clients boot {state.get('unknown')!r}",
        "",
    ]
    for name, svc in sorted(state.get("services", {}).items()):
        detail = " ".join(x for x in (svc.get("address", ""), svc.get("message", "")) if x)
        lines.append(f"  {name:<5} {svc.get('state', '?'):<10} {detail}")
    lines += _fleet_lines(state.get("fleet"))
    clients = state.get("clients", [])
    lines += ["", f"clients ({len(clients)}):"]
    for c in clients:
        row = ClientRow.from_dict(c if isinstance(c, dict) else {})
        engine = f"{row.engine:<10} " if row.engine is not None else ""
        lines.append(
            f"  {engine}{row.mac} {row.hostname or '':<12} {row.ip or '-':<15} "
            f"{row.arch or '-':<10} "
            f"{row.firmware or '-':<8} {row.entry or '-':<12} {phase_cell(row):<12} "
            f"{_ago(row.last_seen, now)}"
        )
        if row.boots:
            lines.append(f"      boot {boot_line(row.boots[-1], len(row.macs))}")
            if len(row.boots) > 1:
                lines.append(f"      ({len(row.boots) - 1} earlier boots: pxetui status --json)")
        if row.last_error:
            lines.append(f"      error: {row.last_error}")
        lines += [f"      {line}" for h in row.hints for line in hint_lines(h)]
    assignments = state.get("assignments", {})
    lines += ["", f"assignments ({len(assignments)}):"]
    for mac, a in assignments.items():
        once = " once" if a.get("once") else ""
        by = f" by {a['by']}" if a.get("by") else ""
        when = f" at {clock(a['updated'])}" if isinstance(a.get("updated"), int | float) else ""
        lines.append(f"  {mac} -> {a.get('entry')}{once} ({a.get('source')}{by}{when})")
    return "\n".join(lines)
