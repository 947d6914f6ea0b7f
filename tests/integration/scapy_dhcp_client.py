"""A hand-built PXE DHCP client (scapy), run inside a client namespace by the engine tests.

    python scapy_dhcp_client.py IFACE MAC --arch N [--uuid HEX32] [--no-vendor]
                                [--discover-only | --collect]

Sends DISCOVER (and, given an offer, REQUEST) with option 93 (arch), optionally 97 (UUID)
and a PXEClient vendor class, the way the firmware does; s390-ccw style (``--no-vendor``)
sends option 93 only in the REQUEST and asks for options 209/210. Prints one JSON object:
the offered/acked address and the boot file. Every wait is bounded.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from typing import Any

from scapy.all import BOOTP, DHCP, IP, UDP, Ether, conf, srp, srp1  # type: ignore[attr-defined]


def build(args: argparse.Namespace, kind: str, xid: int, extra: list[Any]) -> Any:
    mac = bytes.fromhex(args.mac.replace(":", ""))
    options: list[Any] = [("message-type", kind)]
    vendor = f"PXEClient:Arch:{args.arch:05d}:UNDI:{args.undi}"
    if not args.no_vendor:
        options.append(("vendor_class_id", vendor.encode()))
    if not args.no_vendor or kind == "request":
        options.append((93, args.arch.to_bytes(2, "big")))
    if args.uuid:
        options.append((97, b"\x00" + bytes.fromhex(args.uuid)))
    options.append(
        ("param_req_list", [1, 3, 66, 67, 209, 210] if args.no_vendor else [1, 3, 66, 67])
    )
    options += extra
    options.append("end")
    return (
        Ether(src=args.mac, dst="ff:ff:ff:ff:ff:ff")
        / IP(src="0.0.0.0", dst="255.255.255.255")
        / UDP(sport=68, dport=67)
        / BOOTP(chaddr=mac + b"\x00" * 10, xid=xid, flags=0x8000)
        / DHCP(options=options)
    )


def option(reply: Any, name: str) -> Any:
    for opt in reply[DHCP].options:
        if isinstance(opt, tuple) and opt[0] == name:
            return opt[1]
    return None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("iface")
    parser.add_argument("mac")
    parser.add_argument("--arch", type=int, default=0)
    parser.add_argument("--undi", default="003016")
    parser.add_argument("--uuid", default="")
    parser.add_argument("--no-vendor", action="store_true")
    parser.add_argument("--discover-only", action="store_true")
    parser.add_argument("--collect", action="store_true", help="take the offer with an address")
    args = parser.parse_args()
    conf.checkIPaddr = False
    conf.verb = 0
    xid = random.randrange(1, 2**32)
    out: dict[str, Any] = {"mac": args.mac, "xid": xid}
    if args.collect:
        # Like PXE firmware next to a LAN DHCP server: gather every offer for two seconds,
        # note the proxy's (no address), take the one that hands out an address.
        answered, _ = srp(
            build(args, "discover", xid, []), iface=args.iface, timeout=2, multi=True, verbose=0
        )
        offers = [reply for _, reply in answered]
        out["servers"] = sorted({str(option(o, "server_id")) for o in offers})
        out["proxy_offer"] = any(o[BOOTP].yiaddr == "0.0.0.0" for o in offers)
        offer = next((o for o in offers if o[BOOTP].yiaddr != "0.0.0.0"), None)
    else:
        offer = srp1(build(args, "discover", xid, []), iface=args.iface, timeout=6, verbose=0)
    if offer is None or args.discover_only:
        out["offer"] = offer[BOOTP].yiaddr if offer is not None else None
        print(json.dumps(out))
        return 0 if offer is not None or args.discover_only else 1
    out["offer"] = offer[BOOTP].yiaddr
    server = option(offer, "server_id")
    request = build(args, "request", xid, [("requested_addr", out["offer"]), ("server_id", server)])
    ack = srp1(request, iface=args.iface, timeout=6, verbose=0)
    if ack is None:
        print(json.dumps(out))
        return 1
    out["ack"] = ack[BOOTP].yiaddr
    field = ack[BOOTP].file.rstrip(b"\x00") or option(ack, "boot-file-name") or b""
    out["bootfile"] = field.rstrip(b"\x00").decode(errors="replace")
    out["siaddr"] = ack[BOOTP].siaddr
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
