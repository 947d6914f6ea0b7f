"""``pxetui web``: the same console in a browser, through textual-serve.

Each browser tab runs ``pxetui attach --socket …`` as its own process behind a websocket:
one more client of the engine, like a terminal. The console can change what machines boot,
so it listens on localhost by default, and beyond localhost it refuses to start without
authentication: a token generated and printed once (the default there), or ``--password-file``
(:mod:`pxetui.cli.web_auth`). ``--cert/--key`` serve it over TLS; the URL the page gives the
browser for its assets and websocket is ``--public-url``, else derived from the listen address
(for 0.0.0.0, this machine's address — never 0.0.0.0 itself).
"""

from __future__ import annotations

import argparse
import secrets
import shlex
import stat
import sys
from pathlib import Path

from pxetui.cli.control_target import TargetError, add_target_args, socket_path
from pxetui.core.profile.errors import ProfileError

AUTH_CHOICES = ("token", "password", "none")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "web",
        help="serve the console to a browser (textual-serve)",
        description="Serve the console over HTTP/websocket with textual-serve. Beyond "
        "localhost it needs authentication: a generated token (default) or --password-file.",
    )
    add_target_args(parser)
    parser.add_argument("--host", default="localhost", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")
    parser.add_argument(
        "--auth",
        choices=AUTH_CHOICES,
        help="token: generate one and print it once (default beyond localhost); password: "
        "see --password-file; none: only on localhost",
    )
    parser.add_argument(
        "--password-file",
        type=Path,
        help="log in with the file's first line (implies --auth password)",
    )
    parser.add_argument(
        "--public-url",
        help="the URL browsers reach this at (behind a proxy or a tunnel); default from --host",
    )
    parser.add_argument("--cert", type=Path, help="TLS certificate (PEM), with --key")
    parser.add_argument("--key", type=Path, help="TLS private key (PEM), with --cert")
    parser.set_defaults(func=run)


WEB_VIA = "web console"
"""What the engine records after the user running ``pxetui web`` for a browser's change."""


def command_for(control: Path) -> str:
    """The shell command textual-serve runs per browser session."""
    return shlex.join(
        [sys.executable, "-m", "pxetui", "attach", "--socket", str(control), "--via", WEB_VIA]
    )


def auth_mode(args: argparse.Namespace) -> str:
    """Which login the flags ask for; raises ValueError for an open console beyond localhost."""
    from pxetui.cli.web_auth import is_loopback

    if args.password_file is not None:
        if args.auth not in (None, "password"):
            raise ValueError(f"--password-file and --auth {args.auth} contradict each other")
        return "password"
    if args.auth == "password":
        raise ValueError("--auth password needs --password-file FILE")
    local = is_loopback(args.host)
    mode: str = args.auth or ("none" if local else "token")
    if mode == "none" and not local:
        raise ValueError(
            f"refusing to serve the console on {args.host} without authentication: "
            "use --auth token (the default) or --password-file FILE, or listen on localhost"
        )
    return mode


def run(args: argparse.Namespace) -> int:
    from pxetui.cli import web_auth

    try:
        control = socket_path(args)
        mode = auth_mode(args)
        if (args.cert is None) != (args.key is None):
            raise ValueError("--cert and --key go together")
        tls = web_auth.tls_context(args.cert, args.key) if args.cert else None
        secret = ""
        if mode == "password":
            path: Path = args.password_file
            secret = web_auth.read_password_file(path)
            if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                print(f"pxetui web: warning: {path} is readable by others (chmod 600)")
        elif mode == "token":
            secret = secrets.token_urlsafe(24)
    except (TargetError, ProfileError, ValueError, OSError) as exc:
        print(f"pxetui web: {exc}", file=sys.stderr)
        return 2
    try:
        import textual_serve.server  # noqa: F401
    except ImportError:
        print("pxetui web: needs textual-serve (pip install 'pxetui[serve]')", file=sys.stderr)
        return 1
    url = (args.public_url or web_auth.public_url(args.host, args.port, tls is not None)).rstrip(
        "/"
    )
    gate = (
        web_auth.AuthGate(secret, mode, secure_cookie=tls is not None) if mode != "none" else None
    )
    print(f"pxetui web: {url}/  (engine {control}, listening on {args.host}:{args.port})")
    if mode == "token":
        # Printed once, stored nowhere: whoever has this line may use the console.
        print(f"pxetui web: log in at {url}/?token={secret}", flush=True)
    elif mode == "password":
        print(f"pxetui web: log in with the password in {args.password_file}", flush=True)
    if tls is None and not web_auth.is_loopback(args.host):
        print(
            "pxetui web: warning: plain HTTP beyond localhost — the login crosses the network "
            "in clear text; use --cert/--key or an ssh tunnel",
            flush=True,
        )
    server = web_auth.make_server(
        command_for(control), host=args.host, port=args.port, url=url, gate=gate, tls=tls
    )
    server.serve()
    return 0
