"""``pxetui lab``: a throwaway lab — namespaces, pxetui, and a QEMU VM booting through it.

Nothing needs hardware: the lab builds a bridge in a network namespace (plus a router
namespace playing the LAN's DHCP server in proxy mode), serves ``pxetui/assets/lab/lab.yaml``
with ``pxetui serve``, assigns the VM's MAC to an entry, and boots BIOS (iPXE ROM), UEFI (OVMF's
own PXE) or s390x firmware. In a terminal it runs pxetui's real console (client table,
assign dialog, client detail) on the lab's engine beside the VM's serial line, until the
operator quits (keys boot the VM again, assign another entry and boot it, switch BIOS/UEFI);
the exit code is 0 when some boot reached the guest's marker. ``--no-tui`` (implied when stdin
or stdout is not a terminal: CI, a pipe, ``ssh host pxetui lab``) streams serial lines and
events to stdout and exits when the VM powers off: 0 when the guest printed its marker, 1
with the reason otherwise. Ctrl-C, SIGTERM or a crash
leave nothing behind: everything is torn down on the way out, and a re-run removes what a
killed run left.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from types import FrameType

from pxetui.lab.event_line import describe_event
from pxetui.lab.guest import CMDLINE_PREFIX
from pxetui.lab.qemu import FIRMWARES
from pxetui.lab.session import LabOptions, LabSession


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``lab`` to the ``pxetui`` command line."""
    parser = subparsers.add_parser(
        "lab",
        help="boot a QEMU VM through pxetui on a throwaway network (needs root)",
        description="Create a throwaway lab network, run pxetui on it and PXE-boot a VM.",
    )
    parser.add_argument("--firmware", choices=FIRMWARES, default="bios", help="VM firmware")
    parser.add_argument("--entry", help="entry of the lab profile to boot (default: tiny)")
    parser.add_argument(
        "--dhcp",
        choices=["proxy", "full"],
        help="proxy: a LAN router hands out addresses, pxetui only boot info (default; "
        "s390x: full)",
    )
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for a boot")
    parser.add_argument(
        "--no-tui",
        action="store_true",
        help="stream serial + events to stdout, exit at poweroff (the default without a terminal)",
    )
    parser.set_defaults(func=run)


def interactive() -> bool:
    """A terminal on both ends: the Textual console can read keys and draw."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def _terminate(signum: int, frame: FrameType | None) -> None:
    # SIGTERM takes the same way out as Ctrl-C, so every finally-block tears down.
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    if os.geteuid() != 0:
        print("pxetui lab: needs root (network namespaces, tap devices)", file=sys.stderr)
        return 2
    if args.firmware == "s390x" and args.dhcp == "proxy":
        print("pxetui lab: s390x firmware cannot boot behind proxyDHCP", file=sys.stderr)
        return 2
    options = LabOptions(args.firmware, args.entry, args.dhcp, args.timeout)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        if args.no_tui or not interactive():
            return asyncio.run(run_headless(options))
        from pxetui.ui.lab.app import LabApp

        app = LabApp(options)
        try:
            app.run()
        finally:
            app.session.close()  # idempotent backstop: the app tears down on its own
        return 0 if app.booted else 1
    finally:
        signal.signal(signal.SIGTERM, previous)


def _say(text: str) -> None:
    print(f"lab    | {text}", flush=True)


async def run_headless(options: LabOptions) -> int:
    """Set up, boot once with serial and events on stdout, tear down."""
    session = LabSession(options, say=_say)
    try:
        try:
            await asyncio.to_thread(session.setup)
        except (OSError, RuntimeError, ValueError) as exc:
            # GuestFetchError, NetnsError, PxetuiServerError …: a sentence, not a traceback.
            _say(f"setup failed: {exc}")
            return 1

        def serial(line: str, t: float) -> None:
            print(f"serial | {t:7.2f} {line}", flush=True)

        def event(item: dict[str, object]) -> None:
            state = item.get("state")
            if item.get("kind") == "client" and isinstance(state, dict):
                print(f"client | {item.get('mac')} phase={state.get('phase')}", flush=True)
                return
            text = describe_event(item)
            if text:
                print(f"event  | {text}", flush=True)

        result = await session.boot(serial, event)
        if result.outcome == "expected":
            _say(f"booted in {result.seconds:.1f} s (host clock, QEMU start -> marker)")
            cmdline = result.line_starting(CMDLINE_PREFIX)
            if cmdline:
                _say(f"guest kernel command line: {cmdline.removeprefix(CMDLINE_PREFIX).strip()}")
            return 0
        _say(f"no boot: {result.outcome} {result.matched}".rstrip())
        return 1
    finally:
        _say("tearing down (engine, dnsmasq, namespaces)")
        await asyncio.to_thread(session.close)
