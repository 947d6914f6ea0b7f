"""``pxetui serve``: run the engine headless, printing every event on its own line.

The ad-hoc form needs no profile, like ``python -m http.server``::

    pxetui serve --root DIR [--bind ADDR] [--tftp-port N] [--http-port N] [--dhcp off]

The engine form (:mod:`pxetui.cli.serve_engine`) serves a profile, or the ad-hoc root with
dnsmasq (``--dhcp proxy|full --interface IF``), with a control socket and SIGHUP reload::

    pxetui serve --profile lab.yaml [--socket PATH] [--state-dir DIR] [--log-format json]

serves DIR over TFTP and HTTP until Ctrl-C or SIGTERM. Events are printed human-readable
by default, or as JSON lines (``--log-format json``, one :func:`event_to_dict` per line) for
log collectors and the benchmark. The ad-hoc path lives in :func:`serve_adhoc`; a profile
mode is a sibling function chosen in :func:`run`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from pxetui.cli.serve_engine import add_engine_args, default_tftp_workers, run_engine
from pxetui.core.events import (
    EngineMessage,
    Event,
    ServiceEvent,
)
from pxetui.engine.bus import EventBus
from pxetui.engine.http import HttpFileServer
from pxetui.engine.jsonlog import EventLog
from pxetui.engine.limits import guard_accept_errors, raise_fd_limit
from pxetui.engine.tftp import TftpServer


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``serve`` to the ``pxetui`` command line."""
    parser = subparsers.add_parser(
        "serve",
        help="serve boot files headless (TFTP + HTTP), printing events",
        description="Serve a directory over TFTP and HTTP until Ctrl-C, printing events.",
    )
    parser.add_argument("--root", type=Path, help="directory to serve (ad-hoc mode)")
    parser.add_argument("--bind", default="0.0.0.0", help="IPv4 address to listen on")
    parser.add_argument("--tftp-port", type=int, default=69, help="TFTP port (0: any free)")
    parser.add_argument("--http-port", type=int, default=80, help="HTTP port (0: any free)")
    parser.add_argument(
        "--dhcp",
        choices=["proxy", "full", "off"],
        default="off",
        help="ad-hoc mode: run dnsmasq as proxyDHCP or full DHCP on --interface (default off)",
    )
    parser.add_argument(
        "--log-format",
        choices=["json", "text", "human"],
        default=None,
        help="event lines: json (default with --profile) or text (default with --root);"
        " human = text",
    )
    parser.add_argument(
        "--tftp-workers",
        type=int,
        default=None,
        metavar="N",
        help="TFTP processes sharing the clients (default 1; see README, Benchmarks)",
    )
    add_engine_args(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Pick the mode from the arguments and run it to completion."""
    if args.profile is not None or args.dhcp != "off":
        return run_engine(args)  # the full engine: profile or ad-hoc with DHCP
    if args.root is None:
        print("pxetui serve: give --profile FILE or --root DIR", file=sys.stderr)
        return 2
    root = Path(args.root)
    if not root.is_dir():
        print(f"pxetui serve: {root} is not a directory", file=sys.stderr)
        return 2
    printer = EventLog("json" if args.log_format == "json" else "text")
    return asyncio.run(
        serve_adhoc(
            root,
            bind=args.bind,
            tftp_port=args.tftp_port,
            http_port=args.http_port,
            publish=printer,
            tftp_workers=args.tftp_workers or default_tftp_workers(),
        )
    )


async def serve_adhoc(
    root: Path,
    *,
    bind: str,
    tftp_port: int,
    http_port: int,
    publish: Callable[[Event], None],
    stop: asyncio.Event | None = None,
    tftp_workers: int = 1,
) -> int:
    """Serve *root* over TFTP and HTTP until SIGINT/SIGTERM (or *stop* is set)."""
    bus = EventBus()
    bus.subscribe(publish)
    fds = raise_fd_limit()
    guard_accept_errors(asyncio.get_running_loop(), bus.publish)
    tftp = TftpServer(root, host=bind, port=tftp_port, publish=bus.publish, workers=tftp_workers)
    http = HttpFileServer(root, host=bind, port=http_port, publish=bus.publish)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop.set)
    try:
        try:
            await tftp.start()
            await http.start()
        except OSError as exc:
            print(f"pxetui serve: {exc.strerror or exc}", file=sys.stderr)
            return 1
        bus.publish(ServiceEvent(service="tftp", state="running", address=f"{bind}:{tftp.port}"))
        bus.publish(ServiceEvent(service="http", state="running", address=f"{bind}:{http.port}"))
        bus.publish(ServiceEvent(service="dhcp", state="disabled", message="--dhcp off"))
        bus.publish(
            EngineMessage(
                text=f"{fds.sentence()}; HTTP takes at most {http.connection_cap} connections"
            )
        )
        await stop.wait()
        return 0
    finally:
        await tftp.stop()
        await http.stop()
        bus.publish(ServiceEvent(service="tftp", state="stopped"))
        bus.publish(ServiceEvent(service="http", state="stopped"))
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(signum)
