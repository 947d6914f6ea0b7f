"""``pxetui render --profile F [--mac M] [--entry E] [--out DIR]``: the boot files, dry run.

Prints every file a profile produces (defaults and each host, or one MAC) with a header, so
an operator can read exactly what firmware will get; ``--out`` writes them through the same
atomic store the engine uses.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pxetui.cli.check import add_profile_args, context_for
from pxetui.core.mac import MacAddress, MacAddressError
from pxetui.core.profile import ProfileError, load_profile
from pxetui.core.render import (
    BootFiles,
    RenderError,
    render_defaults,
    render_entry_for,
    render_host,
)
from pxetui.engine.bootfiles import BootFileStore, StoreError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``render``."""
    parser = subparsers.add_parser(
        "render",
        help="print (or write) the boot files a profile produces",
        description="Render a profile's boot files: print them, or write them under --out.",
    )
    add_profile_args(parser)
    parser.add_argument("--mac", help="only this MAC (a host of the profile, or with --entry)")
    parser.add_argument("--entry", help="with --mac: render this entry instead of the host's")
    parser.add_argument("--out", type=Path, help="write into this TFTP root instead of printing")
    parser.set_defaults(func=run)


def _sets(args: argparse.Namespace) -> list[tuple[MacAddress | None, BootFiles]]:
    profile = load_profile(args.profile)
    ctx, source = context_for(profile, args.server)
    if source.startswith("placeholder"):
        print(f"note: server address is a {source}", file=sys.stderr)
    if args.mac is not None:
        mac = MacAddress.parse(args.mac)
        if args.entry:
            return [(mac, render_entry_for(profile, ctx, mac, args.entry))]
        return [(mac, render_host(profile, ctx, mac))]
    if args.entry:
        raise RenderError("--entry needs --mac")
    sets: list[tuple[MacAddress | None, BootFiles]] = [(None, render_defaults(profile, ctx))]
    sets += [(mac, render_host(profile, ctx, mac)) for mac in sorted(profile.hosts)]
    return sets


def run(args: argparse.Namespace) -> int:
    try:
        sets = _sets(args)
    except ProfileError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        return 1
    except (RenderError, MacAddressError) as exc:
        print(f"pxetui render: {exc}", file=sys.stderr)
        return 1
    if args.out is None:
        for _mac, files in sets:
            for path, data in files.items():
                print(f"==> {path} <==")
                sys.stdout.write(data.decode("utf-8", errors="replace"))
                print()
        return 0
    store = BootFileStore(args.out)
    try:
        for mac, files in sets:
            if mac is None:
                written = store.write_defaults(files)
            else:
                written, removed = store.apply(mac, files)
                for path in removed:
                    print(f"removed {args.out / path}")
            for path in written:
                print(f"wrote {args.out / path}")
    except StoreError as exc:
        print(f"pxetui render: {exc}", file=sys.stderr)
        return 1
    return 0
