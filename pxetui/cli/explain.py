"""``pxetui explain MAC [--ip --uuid --arch] [--profile F] [--root DIR]``.

Answers "which file will this machine boot, and why": each loader's request order for the
MAC and which file wins on disk today.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from pxetui.core.explain import explain
from pxetui.core.mac import MacAddress, MacAddressError
from pxetui.core.profile import Profile, ProfileError, load_profile


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``explain``."""
    parser = subparsers.add_parser(
        "explain",
        help="which files a MAC's firmware will ask for, and which one wins",
        description="Show each loader's lookup order for a MAC and the file that wins today.",
    )
    parser.add_argument("mac", help="the client's MAC address")
    parser.add_argument("--ip", help="the client's IPv4 address (pxelinux tries it in hex)")
    parser.add_argument("--uuid", help="the client's UUID (option 97)")
    parser.add_argument("--arch", help="bios, uefi-x64, s390x … or an option-93 number")
    parser.add_argument("--profile", type=Path, help="profile YAML (host details, TFTP root)")
    parser.add_argument("--root", type=Path, help="TFTP root to look in (default: profile's)")
    parser.add_argument("--json", action="store_true", help="one JSON list of steps")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        mac = MacAddress.parse(args.mac)
        profile: Profile | None = load_profile(args.profile) if args.profile else None
        steps = explain(
            mac,
            ip=args.ip,
            uuid=args.uuid,
            arch=args.arch,
            profile=profile,
            tftp_root=args.root,
        )
    except ProfileError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        return 1
    except (MacAddressError, ValueError) as exc:
        print(f"pxetui explain: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([dataclasses.asdict(step) for step in steps], indent=1))
        return 0
    loader = None
    for step in steps:
        if step.loader != loader:
            loader = step.loader
            print(f"{loader}:")
        state = {True: "exists", False: "missing", None: ""}[step.exists]
        mark = "WINS" if step.wins else state
        print(f"  {step.order:2}. {step.path:<48} {mark:<8} {step.note}".rstrip())
    return 0
