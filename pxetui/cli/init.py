"""``pxetui init``: from nothing to a boot server in one command.

Writes a profile ``<etc>/<name>.yaml`` that ``pxetui check`` accepts, the TFTP/HTTP root
``<srv>/<name>/tftp`` with the loaders copied in, and the systemd template
``pxetui@.service`` whose ExecStart is *this* Python (a venv or pipx install is not on
systemd's PATH), then prints the two commands that start and attach to it. Flags answer the
questions; the questions are only asked when stdin is a terminal. An existing profile is the
operator's: it is kept unless ``--force``.
"""

from __future__ import annotations

import argparse
import grp
import os
import shlex
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib import resources
from ipaddress import IPv4Address
from pathlib import Path

import psutil

from pxetui.engine.runtime_paths import (
    SERVICE_RUNTIME_DIR,
    SERVICE_STATE_DIR,
    interface_address,
    safe_name,
    service_state_dir,
)

DHCP_MODES = ("proxy", "full", "off")
DEFAULT_GROUP = "pxetui"
UNIT_NAME = "pxetui@.service"
SYSTEM_UNIT_DIR = Path("/etc/systemd/system")


@dataclass(frozen=True)
class InitChoices:
    """What ``init`` writes, once every question has an answer."""

    name: str
    interface: str
    dhcp_mode: str
    etc_dir: Path
    srv_dir: Path
    unit_dir: Path
    group: str | None
    tftp_port: int
    http_port: int
    python: str
    lease_range: tuple[IPv4Address, IPv4Address] | None = None

    @property
    def profile_path(self) -> Path:
        return self.etc_dir / f"{self.name}.yaml"

    @property
    def tftp_root(self) -> Path:
        return self.srv_dir / self.name / "tftp"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "init",
        help="set up a boot server: profile, directories, loaders, systemd unit",
        description="Write a profile, the TFTP/HTTP root with the loaders and the "
        "pxetui@.service unit; print the commands that start and attach to it.",
    )
    parser.add_argument("--name", help="profile and service name (pxetui@NAME; default lab)")
    parser.add_argument("--interface", help="interface to serve on, e.g. br0 or eno1")
    parser.add_argument(
        "--dhcp-mode",
        choices=DHCP_MODES,
        help="proxy: the LAN keeps its DHCP server, pxetui adds boot info (default); "
        "full: pxetui hands out addresses (isolated nets only); off: no DHCP from pxetui",
    )
    parser.add_argument("--etc-dir", type=Path, default=Path("/etc/pxetui"), help="profiles")
    parser.add_argument(
        "--srv-dir", type=Path, default=Path("/srv/pxetui"), help="boot trees (<srv>/<name>/tftp)"
    )
    parser.add_argument(
        "--unit-dir",
        type=Path,
        default=SYSTEM_UNIT_DIR,
        help="where pxetui@.service is written",
    )
    parser.add_argument(
        "--group",
        help="group whose members may use the control socket (default: pxetui, once it exists)",
    )
    parser.add_argument(
        "--range",
        metavar="FIRST,LAST",
        help="--dhcp-mode full: the addresses to lease (default: the upper half of the "
        "interface's subnet, at most 100)",
    )
    parser.add_argument("--tftp-port", type=int, default=69, help="TFTP port (default 69)")
    parser.add_argument("--http-port", type=int, default=8080, help="HTTP port (default 8080)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing profile")
    parser.set_defaults(func=run)


def candidate_interfaces() -> list[tuple[str, str]]:
    """``(interface, first IPv4 address)`` of every interface that has one, loopback last."""
    found = []
    for name, addrs in sorted(psutil.net_if_addrs().items()):
        ipv4 = next((a.address for a in addrs if a.family == socket.AF_INET), None)
        if ipv4:
            found.append((name, ipv4))
    return sorted(found, key=lambda item: item[0] == "lo")


def default_group() -> str | None:
    try:
        grp.getgrnam(DEFAULT_GROUP)
    except KeyError:
        return None
    return DEFAULT_GROUP


def _ask(question: str, default: str | None, allowed: tuple[str, ...] = ()) -> str:
    """One question on the terminal; Enter takes the default."""
    suffix = f" [{default}]" if default else ""
    while True:
        answer = input(f"{question}{suffix}: ").strip() or (default or "")
        if answer and (not allowed or answer in allowed):
            return answer
        print(f"  one of: {', '.join(allowed)}" if allowed else "  an answer is needed")


def choose(args: argparse.Namespace, interactive: bool) -> InitChoices:
    """Flags first; what is missing is asked on a terminal, or is an error without one."""
    interfaces = candidate_interfaces()
    name = args.name or (_ask("Profile and service name", "lab") if interactive else "lab")
    if safe_name(name) != name:
        raise ValueError(f"name {name!r}: use letters, digits, '.', '_' or '-'")
    interface = args.interface
    if interface is None:
        listing = ", ".join(f"{n} ({a})" for n, a in interfaces) or "none with IPv4"
        if not interactive:
            raise ValueError(f"give --interface (interfaces with IPv4 here: {listing})")
        print(f"Interfaces: {listing}")
        interface = _ask("Serve on interface", interfaces[0][0] if interfaces else None)
    if interface not in psutil.net_if_addrs():
        raise ValueError(f"no interface {interface!r} on this machine")
    dhcp_mode = args.dhcp_mode or (
        _ask("DHCP mode: proxy (LAN keeps DHCP) / full (isolated net) / off", "proxy", DHCP_MODES)
        if interactive
        else "proxy"
    )
    lease_range = None
    if dhcp_mode == "full":
        lease_range = parse_range(args.range) if args.range else default_range(interface)
    group = args.group or default_group()
    if group is not None:
        try:
            grp.getgrnam(group)
        except KeyError:
            raise ValueError(f"no group {group!r}: groupadd {group} first") from None
    return InitChoices(
        name=name,
        interface=interface,
        dhcp_mode=dhcp_mode,
        etc_dir=args.etc_dir.resolve(),
        srv_dir=args.srv_dir.resolve(),
        unit_dir=args.unit_dir,
        group=group,
        tftp_port=args.tftp_port,
        http_port=args.http_port,
        python=sys.executable,
        lease_range=lease_range,
    )


def parse_range(text: str) -> tuple[IPv4Address, IPv4Address]:
    first, _, last = text.partition(",")
    try:
        return IPv4Address(first.strip()), IPv4Address(last.strip())
    except ValueError:
        raise ValueError(f"--range {text!r}: give FIRST,LAST addresses") from None


def default_range(interface: str) -> tuple[IPv4Address, IPv4Address]:
    """Full DHCP on an isolated net: up to 100 leases in the upper half of its subnet."""
    found = interface_address(interface)
    if found is None:
        raise ValueError(f"{interface} has no IPv4 address: give --range FIRST,LAST")
    ours, net = found
    if net.num_addresses < 8:
        raise ValueError(f"{net} is too small to lease from: give --range FIRST,LAST")
    first = net[net.num_addresses // 2]
    last = min(net[-2], first + 99)
    if first <= ours <= last:  # never lease our own address
        first = ours + 1
    return first, last


def profile_text(c: InitChoices) -> str:
    """The profile: absolute paths, the service's state dir, one example entry commented."""
    lease_line = (
        f"\n    range: [{c.lease_range[0]}, {c.lease_range[1]}]" if c.lease_range else ""
    )
    return f"""\
# Written by `pxetui init`. Yours to edit: `pxetui check --profile {c.profile_path}`
# validates it, `systemctl reload pxetui@{c.name}` applies it (a bad one is rejected and the
# old one keeps serving).
name: {c.name}
# The service's StateDirectory: assignments, one-shot flags and history survive restarts.
state_dir: {service_state_dir(c.name)}
network:
  interface: {c.interface}
  dhcp:
    mode: {c.dhcp_mode}   # proxy | full (with range: [first, last]) | off{lease_line}
tftp:
  root: {c.tftp_root}
  port: {c.tftp_port}
http:
  port: {c.http_port}     # root: the TFTP root (one tree)
loader: ipxe
# Put kernels under {c.tftp_root} and describe them here, e.g.
#   debian:
#     kind: linux
#     kernel: debian/linux
#     initrds: [debian/initrd.gz]
#     args: console=ttyS0,115200
entries: {{}}
# MAC -> entry; or assign from the console (`pxetui attach {c.name}`) without editing this.
hosts: {{}}
unknown: local            # machines not listed boot from their disk
"""


def unit_text(c: InitChoices) -> str:
    """The packaged unit template with this install's python, paths and socket group."""
    template = resources.files("pxetui").joinpath("assets/pxetui.service").read_text()
    group_env = (
        f"Environment=PXETUI_SOCKET_GROUP={c.group}"
        if c.group
        else f"# Environment=PXETUI_SOCKET_GROUP=GROUP  (unset: {DEFAULT_GROUP} once it exists)"
    )
    return (
        template.replace("@PYTHON@", c.python)
        .replace("@ETC_DIR@", str(c.etc_dir))
        .replace("@SRV_DIR@", str(c.srv_dir))
        .replace("@GROUP_ENV@", group_env)
    )


def write_atomic(path: Path, text: str, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def apply(c: InitChoices, force: bool) -> list[str]:
    """Write everything; one line per thing done."""
    from pxetui.core.profile.loader import load_profile
    from pxetui.engine.bootfiles import install_loaders

    done = []
    if c.profile_path.exists() and not force:
        done.append(f"kept     {c.profile_path} (exists; --force rewrites it)")
    else:
        write_atomic(c.profile_path, profile_text(c), 0o644)
        done.append(f"wrote    {c.profile_path}")
    load_profile(c.profile_path)  # what we wrote (or kept) must load: fail here, not at start
    c.tftp_root.mkdir(parents=True, exist_ok=True)
    done.append(f"created  {c.tftp_root}")
    done.extend(f"loader   {line}" for line in install_loaders(c.tftp_root))
    unit = c.unit_dir / UNIT_NAME
    write_atomic(unit, unit_text(c), 0o644)
    done.append(f"wrote    {unit} (ExecStart {shlex.quote(c.python)} -m pxetui serve)")
    if c.group is None:
        done.append(
            f"socket   root only (0600) until a group {DEFAULT_GROUP} exists (or --group GROUP)"
        )
    else:
        done.append(f"socket   {SERVICE_RUNTIME_DIR}/{c.name}/control.sock, 0660 group {c.group}")
    done.append(f"state    {SERVICE_STATE_DIR}/{c.name} (created by systemd at start)")
    if c.lease_range is not None:
        done.append(f"leases   {c.lease_range[0]} - {c.lease_range[1]} (full DHCP: --range)")
    return done


def run(args: argparse.Namespace) -> int:
    from pxetui.core.profile.errors import ProfileError

    try:
        choices = choose(args, interactive=sys.stdin.isatty())
        lines = apply(choices, args.force)
    except (ValueError, OSError, ProfileError) as exc:
        print(f"pxetui init: {exc}", file=sys.stderr)
        return 2
    except EOFError:
        print("pxetui init: no answer (stdin closed)", file=sys.stderr)
        return 2
    for line in lines:
        print(line)
    if args.unit_dir == SYSTEM_UNIT_DIR and Path("/run/systemd/system").is_dir():
        # systemd reads unit files at daemon-reload; without it `enable` finds the old one.
        subprocess.run(["systemctl", "daemon-reload"], check=False, timeout=60)
    print("\nNext:")
    print(f"  systemctl enable --now pxetui@{choices.name}")
    print(f"  pxetui attach {choices.name}")
    return 0
