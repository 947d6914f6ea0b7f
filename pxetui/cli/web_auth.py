"""The browser console's gate: a login in front of textual-serve, TLS, and a correct public URL.

The web console runs ``pxetui attach`` as the user who started ``pxetui web`` (normally root)
for every browser tab, and decides what machines boot: beyond localhost nobody gets a page, a
websocket or a download without logging in first. Two secrets, chosen by the operator:

- a **token**, generated at start and printed once (never stored: a restart makes a new
  one) — right for an ad-hoc ``pxetui web`` from an ssh session;
- a **password file** (its first line) — right for a web view that runs as a service and
  restarts, with the file readable by root only.

Logging in (``/login``, or ``?token=`` in the printed link) sets a random session cookie
(HttpOnly, SameSite=Strict, Secure under TLS); the secret itself never goes into a cookie.
A websocket whose ``Origin`` is another site is refused (cross-site websocket hijacking).
"""

from __future__ import annotations

import asyncio
import hmac
import html
import ipaddress
import secrets
import signal
import socket
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil
from aiohttp import web

COOKIE = "pxetui_session"
LOGIN_PATH = "/login"
FAILED_LOGIN_DELAY_S = 1.0  # slows guessing; a real operator barely notices
MAX_SESSIONS = 1000

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_LOGIN_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>pxetui — log in</title></head>
<body style="font-family: sans-serif; margin: 4em auto; max-width: 28em">
<h1>pxetui</h1>
<p>This console decides what machines boot. Log in with the {what}.</p>
{error}
<form method="post" action="/login">
  <input id="secret" name="secret" type="password" autofocus size="40" autocomplete="off">
  <button id="login" type="submit">Log in</button>
</form>
</body></html>
"""


def is_loopback(host: str) -> bool:
    """Whether *host* (a name or an address we listen on) is reachable only from here."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_wildcard(host: str) -> bool:
    return host in ("", "0.0.0.0", "::", "*")


def primary_address() -> str:
    """The first non-loopback IPv4 address here (psutil), else the host name."""
    for addrs in psutil.net_if_addrs().values():
        for addr in addrs:
            if addr.family == socket.AF_INET and not ipaddress.ip_address(addr.address).is_loopback:
                return addr.address
    return socket.gethostname()


def public_url(host: str, port: int, tls: bool) -> str:
    """The URL browsers use: the listen address, or for a wildcard this machine's address."""
    scheme = "https" if tls else "http"
    name = primary_address() if is_wildcard(host) else host
    if ":" in name:  # an IPv6 literal
        name = f"[{name}]"
    default_port = 443 if tls else 80
    return f"{scheme}://{name}" if port == default_port else f"{scheme}://{name}:{port}"


def read_password_file(path: Path) -> str:
    """The first line of *path*; refused when empty."""
    lines = path.read_text(encoding="utf-8").splitlines()
    secret = lines[0].strip() if lines else ""
    if not secret:
        raise ValueError(f"{path}: the first line (the password) is empty")
    return secret


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    return context


class AuthGate:
    """Sessions behind one shared secret; an aiohttp middleware plus the login routes."""

    def __init__(self, secret: str, kind: str, *, secure_cookie: bool) -> None:
        self._secret = secret.encode()
        self.kind = kind  # "token" or "password": what the login page asks for
        self._secure = secure_cookie
        self._sessions: dict[str, None] = {}  # insertion-ordered: the oldest is dropped first
        self._failing = asyncio.Lock()  # failed attempts wait in line: one guess a second

    def matches(self, candidate: str) -> bool:
        return hmac.compare_digest(candidate.encode(), self._secret)

    async def _failed(self) -> None:
        """A wrong secret costs a second, and parallel guesses queue behind each other."""
        async with self._failing:
            await asyncio.sleep(FAILED_LOGIN_DELAY_S)

    def _new_session(self, response: web.StreamResponse) -> None:
        session = secrets.token_urlsafe(32)
        self._sessions[session] = None
        while len(self._sessions) > MAX_SESSIONS:
            del self._sessions[next(iter(self._sessions))]
        response.set_cookie(
            COOKIE, session, httponly=True, samesite="Strict", secure=self._secure, path="/"
        )

    def _logged_in(self, request: web.Request) -> bool:
        session = request.cookies.get(COOKIE, "")
        return bool(session) and session in self._sessions

    def install(self, app: web.Application) -> None:
        app.middlewares.append(self.middleware)
        app.router.add_get(LOGIN_PATH, self.login_page)
        app.router.add_post(LOGIN_PATH, self.login)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin and urlsplit(origin).netloc != request.host:
            raise web.HTTPForbidden(text="cross-origin request refused\n")
        if request.path == LOGIN_PATH:
            return await handler(request)
        token = request.query.get("token")
        if token is not None and request.method == "GET":
            if not self.matches(token):
                await self._failed()
                raise web.HTTPUnauthorized(text="wrong token\n")
            # The link's token becomes a session; the address bar loses the secret.
            response = web.HTTPFound(request.path)
            self._new_session(response)
            raise response
        if self._logged_in(request):
            return await handler(request)
        if request.path == "/" and request.method == "GET":
            raise web.HTTPFound(LOGIN_PATH)
        raise web.HTTPUnauthorized(text="log in first: /login\n")

    async def login_page(self, request: web.Request, error: str = "") -> web.Response:
        what = "token printed by pxetui web" if self.kind == "token" else "password"
        body = _LOGIN_PAGE.format(
            what=what, error=f'<p id="error" style="color: #b00">{html.escape(error)}</p>'
            if error
            else "",
        )
        return web.Response(
            text=body,
            content_type="text/html",
            status=401 if error else 200,
            headers={"Cache-Control": "no-store"},
        )

    async def login(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        secret = form.get("secret")
        if not isinstance(secret, str) or not self.matches(secret):
            await self._failed()
            return await self.login_page(request, error=f"wrong {self.kind}")
        response = web.HTTPFound("/")
        self._new_session(response)
        return response


def make_server(
    command: str,
    *,
    host: str,
    port: int,
    url: str,
    gate: AuthGate | None,
    tls: ssl.SSLContext | None,
) -> Any:
    """A textual-serve Server with the gate in front and TLS under it."""
    from textual_serve.server import Server

    class GatedServer(Server):
        async def _make_app(self) -> web.Application:
            app: web.Application = await super()._make_app()
            if gate is not None:
                gate.install(app)
            return app

        def serve(self, debug: bool = False) -> None:
            # Server.serve without TLS support: the same steps, with ssl_context.
            self.debug = debug
            self.initialize_logging()
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, self.request_exit)
            web.run_app(
                self._make_app(),
                host=host,
                port=port,
                ssl_context=tls,
                handle_signals=False,
                loop=loop,
                print=lambda *args: None,
            )

    return GatedServer(command, host=host, port=port, title="pxetui", public_url=url)
