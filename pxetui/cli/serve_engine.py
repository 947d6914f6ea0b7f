"""``pxetui serve --profile F`` (and ad-hoc ``--root DIR --dhcp proxy|full``): the engine.

Runs :class:`~pxetui.engine.engine.Engine` in the foreground: events on stdout (JSON lines
with ``--log-format json``, sentences otherwise), SIGHUP reloads the profile (a bad one is
rejected and the old one keeps serving), SIGTERM/SIGINT stop cleanly (dnsmasq included).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from pxetui.core.profile.engines import engine_profile
from pxetui.core.profile.errors import ProfileError
from pxetui.core.profile.loader import load_profile
from pxetui.core.profile.model import Profile
from pxetui.engine.jsonlog import EventLog
from pxetui.engine.runtime_paths import profile_state_dir

ENGINE_ENV = "PXETUI_ENGINE"


def add_engine_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", type=Path, help="profile YAML: serve it with the engine")
    parser.add_argument("--interface", help="ad-hoc --dhcp: the interface dnsmasq serves")
    parser.add_argument(
        "--range", help="ad-hoc --dhcp full: FIRST,LAST addresses to lease (e.g. a,b)"
    )
    parser.add_argument("--socket", type=Path, help="control socket (default <state>/control.sock)")
    parser.add_argument("--state-dir", type=Path, help="database, locks and sockets")
    parser.add_argument(
        "--engine",
        default=os.environ.get(ENGINE_ENV) or None,
        help=f"with a profile shared by several engines: which engines.<name> to serve "
        f"(default ${ENGINE_ENV})",
    )


def adhoc_profile(args: argparse.Namespace) -> Profile:
    """A profile equivalent to the ad-hoc flags: one root, local boot for everyone."""
    dhcp: dict[str, Any] = {"mode": args.dhcp}
    if args.range:
        first, _, last = args.range.partition(",")
        dhcp["range"] = (first.strip(), last.strip())
    bind = None if args.bind in ("", "0.0.0.0") else IPv4Address(args.bind)
    return Profile.model_validate(
        {
            "name": "adhoc",
            "network": {"interface": args.interface, "server": bind, "dhcp": dhcp},
            "tftp": {"root": Path(args.root).resolve(), "port": args.tftp_port, "bind": bind},
            "http": {"port": args.http_port, "bind": bind},
        }
    )


def run_engine(args: argparse.Namespace) -> int:
    """Build the profile from the arguments and serve it until stopped."""
    from pydantic import ValidationError

    profile_path: Path | None = args.profile
    try:
        if profile_path is not None:
            profile = load_profile(profile_path)
            if profile.engines and not args.engine:
                names = ", ".join(sorted(profile.engines))
                print(
                    f"pxetui serve: {profile_path} is shared by engines {names}: "
                    f"say which with --engine NAME (or {ENGINE_ENV})",
                    file=sys.stderr,
                )
                return 2
            if args.engine:
                profile = engine_profile(profile, args.engine)
        elif args.root is None:
            print("pxetui serve: --dhcp needs --root DIR (or use --profile)", file=sys.stderr)
            return 2
        else:
            profile = adhoc_profile(args)
    except (ProfileError, ValidationError, OSError) as exc:
        print(f"pxetui serve: {exc}", file=sys.stderr)
        return 2
    state_dir = profile_state_dir(args.state_dir or profile.state_dir, profile_path, profile.name)
    # JSON lines for the service (journald, jq), sentences for a person at an ad-hoc prompt.
    fmt = args.log_format or ("json" if args.profile is not None else "text")
    log = EventLog("json" if fmt == "json" else "text")
    workers = args.tftp_workers or default_tftp_workers()
    return asyncio.run(serve(profile, profile_path, state_dir, args.socket, log, workers))


def default_tftp_workers() -> int:
    """One TFTP process unless asked for more.

    Measured on the 2-core reference machine (bench/results/20261122T0423Z-pxetui-workers.md):
    at 50 clients one process used 2.17 s of CPU and reached 0.73x tftpd-hpa, two used more
    CPU and reached 0.43x, four 0.54x. Extra processes pay ~10 us per block in hand-offs; they
    only pay off where cores are idle. ``--tftp-workers N`` is there for such machines.
    """
    return 1


async def serve(
    profile: Profile,
    profile_path: Path | None,
    state_dir: Path,
    socket_path: Path | None,
    log: EventLog,
    tftp_workers: int = 1,
) -> int:
    from pxetui.engine.control.server import SocketInUseError
    from pxetui.engine.dnsmasq.preflight import PreflightError
    from pxetui.engine.engine import Engine, EngineError

    engine = Engine(
        profile,
        profile_path=profile_path,
        state_dir=state_dir,
        socket_path=socket_path,
        tftp_workers=tftp_workers,
    )
    engine.bus.subscribe(log)
    loop = asyncio.get_running_loop()
    reloads: set[asyncio.Task[Any]] = set()

    def reload() -> None:
        task = loop.create_task(_reload(engine))
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    handlers = {signal.SIGTERM: engine.request_stop, signal.SIGINT: engine.request_stop}
    handlers[signal.SIGHUP] = reload
    for signum, handler in handlers.items():
        loop.add_signal_handler(signum, handler)
    try:
        await engine.setup()
        await engine.start()
        await engine.wait_stopped()
        return 0
    except (EngineError, PreflightError, SocketInUseError, OSError) as exc:
        print(f"pxetui serve: {exc}", file=sys.stderr)
        return 1
    finally:
        for signum in handlers:
            loop.remove_signal_handler(signum)
        await engine.stop()


async def _reload(engine: Any) -> None:
    """SIGHUP: errors are already published as EngineMessage(level="error")."""
    from pxetui.engine.control.protocol import ControlError

    with contextlib.suppress(ControlError):
        await engine.reload_profile()
