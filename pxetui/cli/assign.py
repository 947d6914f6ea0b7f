"""``pxetui assign MAC ENTRY [--once]`` and ``pxetui unassign MAC``, through a running engine.

The engine records the decision in its database (the profile file stays as the operator
wrote it), rewrites the MAC's boot files atomically and tells every attached UI.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from pxetui.cli.control_target import TargetError, add_target_args, socket_path
from pxetui.core.mac import MacAddress, MacAddressError
from pxetui.core.profile.errors import ProfileError
from pxetui.engine.control.client import ControlClient
from pxetui.engine.control.protocol import ControlError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    assign = subparsers.add_parser(
        "assign",
        help="boot a MAC with an entry (--once: then local boot)",
        description="Tell the running engine which entry a MAC boots.",
    )
    assign.add_argument("mac", help="the client's MAC address, any common spelling")
    assign.add_argument("entry", help="an entry of the profile, or 'local'")
    assign.add_argument(
        "--once", action="store_true", help="boot it once, then local boot after delivery"
    )
    add_target_args(assign)
    assign.set_defaults(func=run_assign)
    unassign = subparsers.add_parser(
        "unassign",
        help="drop a MAC's runtime assignment (back to the profile or the default)",
        description="Forget the operator's assignment for a MAC.",
    )
    unassign.add_argument("mac")
    add_target_args(unassign)
    unassign.set_defaults(func=run_unassign)


async def _request(args: argparse.Namespace, op: str, **kw: Any) -> Any:
    async with ControlClient(socket_path(args)) as client:
        return await client.request(op, **kw)


def _run(args: argparse.Namespace, op: str, **kw: Any) -> tuple[int, Any]:
    try:
        mac = MacAddress.parse(args.mac)
        return 0, asyncio.run(_request(args, op, mac=mac.colon, **kw))
    except (MacAddressError, TargetError, ProfileError) as exc:
        print(f"pxetui {op}: {exc}", file=sys.stderr)
        return 2, None
    except (ControlError, OSError) as exc:
        print(f"pxetui {op}: {exc}", file=sys.stderr)
        return 1, None


def run_assign(args: argparse.Namespace) -> int:
    code, result = _run(args, "assign", entry=args.entry, once=bool(args.once))
    if code == 0:
        once = " once" if args.once else ""
        print(f"{result['mac']} -> {result['entry']}{once} ({len(result['files'])} files)")
    return code


def run_unassign(args: argparse.Namespace) -> int:
    code, result = _run(args, "unassign")
    if code == 0:
        what = "unassigned" if result["removed"] else "had no runtime assignment"
        print(f"{result['mac']} {what}")
    return code
