"""``pxetui wake MAC``: send a Wake-on-LAN magic packet (no engine needed)."""

from __future__ import annotations

import argparse
import sys

from pxetui.core.mac import MacAddress, MacAddressError
from pxetui.engine.wol import WOL_PORT, wake


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "wake",
        help="send a Wake-on-LAN magic packet",
        description="Wake a machine with a Wake-on-LAN magic packet (UDP broadcast).",
    )
    parser.add_argument("mac")
    parser.add_argument(
        "--broadcast", default="255.255.255.255", help="broadcast address, e.g. 10.0.0.255"
    )
    parser.add_argument("--interface", help="send out of this interface (SO_BINDTODEVICE)")
    parser.add_argument("--port", type=int, default=WOL_PORT)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        mac = MacAddress.parse(args.mac)
    except MacAddressError as exc:
        print(f"pxetui wake: {exc}", file=sys.stderr)
        return 2
    try:
        wake(mac, args.broadcast, port=args.port, interface=args.interface)
    except OSError as exc:
        print(f"pxetui wake: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"sent a magic packet for {mac} to {args.broadcast}:{args.port}")
    return 0
