"""``pxetui check --profile F``: will this profile boot its hosts? Every problem, at once.

Runs the loader (schema, references, templates), then the audit (files under the roots,
arch sanity, s390x limits, DHCP fit) and renders every host. Exit 0 when clean, 1 with
the full list otherwise — usable in CI before a profile reaches the lab.
"""

from __future__ import annotations

import argparse
import socket
import sys
from ipaddress import IPv4Address
from pathlib import Path

import psutil

from pxetui.core.profile import Profile, ProfileError, load_profile
from pxetui.core.profile.audit import profile_problems, profile_warnings
from pxetui.core.render import RenderContext
from pxetui.core.wording import counted

PLACEHOLDER_SERVER = IPv4Address("192.0.2.1")  # TEST-NET-1: never a real lab address


def server_address(profile: Profile, given: IPv4Address | None) -> tuple[IPv4Address, str]:
    """Our address for rendering, and where it came from (flag, profile, interface)."""
    if given is not None:
        return given, "--server"
    if profile.network.server is not None:
        return profile.network.server, "network.server"
    iface = profile.network.interface
    if iface:
        for addr in psutil.net_if_addrs().get(iface, []):
            if addr.family == socket.AF_INET:
                return IPv4Address(addr.address), f"interface {iface}"
    return PLACEHOLDER_SERVER, "placeholder (set network.server or pass --server)"


def context_for(profile: Profile, given: IPv4Address | None) -> tuple[RenderContext, str]:
    """The render context for a CLI run, with a note on where the address came from."""
    server, source = server_address(profile, given)
    return RenderContext.for_profile(profile, server=server), source


def add_profile_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", type=Path, required=True, help="profile YAML")
    parser.add_argument(
        "--server", type=IPv4Address, help="our IPv4 address (default: from the profile)"
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``check``."""
    parser = subparsers.add_parser(
        "check",
        help="validate a profile: schema, files, arch, s390x limits",
        description="Check that a profile is valid and its hosts can boot; list every problem.",
    )
    add_profile_args(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        profile = load_profile(args.profile)
    except ProfileError as exc:
        for line in exc.errors:
            print(line)
        print(f"{args.profile}: {len(exc.errors)} problem(s)", file=sys.stderr)
        return 1
    ctx, source = context_for(profile, args.server)
    problems = profile_problems(profile, ctx.server)  # what the engine refuses, too
    for line in problems:
        print(line)
    for line in profile_warnings(profile):  # served anyway: the machine may say otherwise
        print(line)
    if problems:
        print(f"{args.profile}: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(
        f"{args.profile}: OK ({counted(len(profile.entries), 'entry', 'entries')}, "
        f"{counted(len(profile.hosts), 'host')}, "
        f"server {ctx.server} from {source}, unknown clients get '{profile.unknown}')"
    )
    return 0
