"""The HTTP file server: boot files for loaders that can fetch over HTTP (iPXE, dracut livenet).

aiohttp does the HTTP; we do the file. ``web.FileResponse`` would follow symlinks anywhere
and has no progress hook, so one handler serves every GET/HEAD:

* the name goes through the same rules as TFTP (:mod:`pxetui.engine.tftp.paths`): regular,
  world-readable files whose real path is inside the root; misses → 404 + ``FileNotFound``,
  refusals (escapes, directories, 0600 files, devices) → 403 + ``RequestRefused``;
* one byte range (``Range: bytes=a-b``, ``a-``, ``-n``) → 206 with ``Content-Range``;
  unsatisfiable (past the end, or ``bytes=-0``) → 416; malformed → the whole file
  (RFC 9110 lets a server ignore Range);
* the body goes out with kernel ``sendfile(2)`` in chunks (:mod:`.body`), and the chunk
  boundaries are where progress is reported: cheap, and at most ~10 events/s;
* everything that is not GET or HEAD → 405 (read-only);
* bounded: a connection that sends no complete request head within ``idle_timeout`` of its
  connect (or its last response) is closed, and at most ``max_connections`` are open at once
  (at the cap the oldest idle connection is closed to make room; if every one is busy the
  newcomer is reset), so silent sockets can take neither the fds TFTP needs nor HTTP itself.
  Each limit hit is one rate-limited warning, never a traceback per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

from aiohttp import web

from pxetui.core.events import Event, FileNotFound, RequestRefused
from pxetui.core.sanitize import clean
from pxetui.engine.http.body import BodySender
from pxetui.engine.limits import LimitNotice, fd_soft_limit
from pxetui.engine.progress import TransferReporter
from pxetui.engine.tftp.paths import PathError, ServedFile, open_served_file

# sendfile in slices this big: large enough to stay fast, small enough for live progress.
CHUNK = 4 * 1024 * 1024
_ALLOWED = "GET, HEAD"
# asyncio accepts up to a backlog of sockets at once, before the cap can reset any of them:
# the automatic cap leaves this many fds (on top of fd_reserve) for such a burst.
BACKLOG = 128
MIN_CONNECTIONS = 16
_ZERO_SUFFIX = re.compile(r"\s*bytes\s*=\s*-\s*0+\s*")


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """How much of the machine the HTTP server may take (profile ``limits``)."""

    idle_timeout: float = 60.0
    max_connections: int = 0  # 0: the fd soft limit minus fd_reserve
    fd_reserve: int = 640
    min_rate: int = 64 << 10  # bytes/s a download must keep up per slice, else it is closed

    def connection_cap(self) -> int:
        if self.max_connections > 0:
            return self.max_connections
        return max(MIN_CONNECTIONS, fd_soft_limit() - self.fd_reserve - BACKLOG)


class _Refused(asyncio.Protocol):
    """Over the cap: reset at once, so the fd is back before the next accept."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.abort()


EVICT_SCAN = 64  # connections looked at (oldest first) for an idle one to close


def _evict_idle(server: web.Server) -> bool:
    """Close the oldest connection that is not serving a request; False if none is idle.

    At the cap, silent sockets must not lock out a firmware that wants its kernel now:
    a connection waiting for a request (idle, slow headers, keep-alive) makes room.
    """
    for handler in server.connections[:EVICT_SCAN]:
        if handler.transport is None:  # closed already, not yet gone from the list
            continue
        busy = getattr(handler, "_current_request", None) is not None
        if busy or getattr(handler, "_messages", None):
            continue
        handler.force_close()
        return True
    return False


class _CappedSite(web.BaseSite):
    """aiohttp's TCPSite with a connection cap in the protocol factory."""

    __slots__ = ("_cap", "_host", "_on_refused", "_port")

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        *,
        cap: int,
        on_refused: Callable[[], None],
    ) -> None:
        super().__init__(runner, backlog=BACKLOG)
        self._host, self._port, self._cap, self._on_refused = host, port, cap, on_refused

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None

        loop = asyncio.get_running_loop()
        # asyncio accepts a whole backlog in one go and calls connection_made a loop turn
        # after this factory: count the handlers made but not yet in server.connections.
        pending = 0

        def settled() -> None:
            nonlocal pending
            pending -= 1

        def factory() -> asyncio.Protocol:
            nonlocal pending
            if len(server.connections) + pending >= self._cap:
                self._on_refused()
                if not _evict_idle(server):
                    return _Refused()  # every connection is busy sending: the newcomer waits
            pending += 1
            # two hops: the transport schedules connection_made right after this returns
            loop.call_soon(loop.call_soon, settled)
            return server()

        self._server = await loop.create_server(
            factory, self._host, self._port, backlog=self._backlog, reuse_address=True
        )


class HttpFileServer:
    """Serves *root* read-only over HTTP. Binds nothing until :meth:`start`."""

    def __init__(
        self,
        root: Path,
        *,
        host: str = "0.0.0.0",
        port: int = 80,
        publish: Callable[[Event], None],
        limits: HttpLimits | None = None,
    ) -> None:
        self.root = Path(root)
        self.limits = limits or HttpLimits()
        self.connection_cap = 0
        self._stalled = LimitNotice(
            publish,
            "HTTP client stopped reading a download: connection closed (limits.http_min_rate)",
        )
        self._refused = LimitNotice(
            publish,
            "HTTP connection cap reached: the oldest idle connection makes room, or the new "
            "one is reset if all are busy (limits.http_connections)",
        )
        self.host = host
        self._requested_port = port
        self._publish = publish
        self._runner: web.AppRunner | None = None
        self._bound_port: int | None = None

    @property
    def port(self) -> int:
        """The bound port (useful with ``port=0``); the requested one before :meth:`start`."""
        return self._bound_port if self._bound_port is not None else self._requested_port

    async def start(self) -> None:
        """Bind and serve; raise OSError naming the address if the port cannot be had."""
        if self._runner is not None:
            return
        app = web.Application()
        app.router.add_route("*", "/{name:.*}", self._handle)
        # keepalive_timeout is armed at connect and re-armed after each response, and closes
        # a connection still waiting for a complete request: idle, slow headers, keep-alive.
        runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            keepalive_timeout=self.limits.idle_timeout,
        )
        await runner.setup()
        self.connection_cap = self.limits.connection_cap()
        site = _CappedSite(
            runner,
            self.host or "0.0.0.0",
            self._requested_port,
            cap=self.connection_cap,
            on_refused=self._refused.hit,
        )
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise OSError(
                exc.errno,
                f"cannot bind HTTP to {self.host}:{self._requested_port}: {exc.strerror}",
            ) from exc
        self._runner = runner
        addresses = runner.addresses
        self._bound_port = int(addresses[0][1]) if addresses else self._requested_port

    async def stop(self) -> None:
        """Close the listener and every open connection."""
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner = None

    # --- one request ------------------------------------------------------------------

    def _client(self, request: web.Request) -> tuple[str, int]:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        if isinstance(peer, tuple) and len(peer) >= 2:
            return str(peer[0]), int(peer[1])
        return str(request.remote or ""), 0

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        ip, port = self._client(request)
        name = request.match_info.get("name", "")
        if request.method not in ("GET", "HEAD"):
            self._publish(
                RequestRefused(
                    proto="http",
                    client_ip=ip,
                    client_port=port,
                    filename=clean(name),
                    reason=f"method {clean(request.method, 20)}",
                )
            )
            raise web.HTTPMethodNotAllowed(request.method, ["GET", "HEAD"])
        try:
            served = open_served_file(self.root, name)
        except PathError as exc:
            if exc.not_found:
                self._publish(
                    FileNotFound(proto="http", client_ip=ip, client_port=port, filename=clean(name))
                )
                raise web.HTTPNotFound() from None
            self._publish(
                RequestRefused(
                    proto="http",
                    client_ip=ip,
                    client_port=port,
                    filename=clean(name),
                    reason=exc.reason,
                )
            )
            raise web.HTTPForbidden() from None
        try:
            return await self._send(request, served, ip, port)
        finally:
            os.close(served.fd)

    async def _send(
        self, request: web.Request, served: ServedFile, ip: str, port: int
    ) -> web.StreamResponse:
        size = served.size
        start, end = 0, size  # [start, end)
        status = 200
        try:
            rng = request.http_range
        except ValueError:
            rng = slice(None, None)
        if _ZERO_SUFFIX.fullmatch(request.headers.get("Range", "")):
            # aiohttp reads "-0" as "from byte 0"; RFC 9110: a zero-length suffix is unsatisfiable
            raise web.HTTPRequestRangeNotSatisfiable(headers={"Content-Range": f"bytes */{size}"})
        if rng.start is not None or rng.stop is not None:
            parsed = _satisfiable(rng, size)
            if parsed is None:
                raise web.HTTPRequestRangeNotSatisfiable(
                    headers={"Content-Range": f"bytes */{size}"}
                )
            start, end = parsed
            status = 206
        count = end - start
        response = web.StreamResponse(status=status)
        response.content_length = count
        response.content_type = "application/octet-stream"
        response.headers["Accept-Ranges"] = "bytes"
        response.headers["Last-Modified"] = formatdate(os.fstat(served.fd).st_mtime, usegmt=True)
        if status == 206:
            response.headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        if request.method == "HEAD":
            await response.prepare(request)
            await response.write_eof()
            return response

        reporter = TransferReporter(
            self._publish,
            proto="http",
            client_ip=ip,
            client_port=port,
            filename=served.name,
            size=count,
        )
        options = {"range": f"{start}-{end - 1}"} if status == 206 else {}
        reporter.started(options)
        sent = 0
        try:
            await response.prepare(request)
            transport = request.transport
            if transport is None or transport.is_closing():
                raise ConnectionResetError("client went away")
            loop = asyncio.get_running_loop()
            sock = transport.get_extra_info("socket")
            _cork(sock, True)
            reading = transport.is_reading()
            transport.pause_reading()  # as loop.sendfile does: no request read mid-body
            sender = BodySender(transport)
            try:
                while sent < count:
                    piece = min(CHUNK, count - sent)
                    # A client that stops reading would hold its socket and file forever.
                    budget = max(self.limits.idle_timeout, piece / self.limits.min_rate)
                    deadline = loop.time() + budget
                    try:
                        if not sent:
                            await sender.flushed(deadline)
                        done = await sender.send(served.fd, start + sent, piece, deadline)
                    except TimeoutError:
                        self._stalled.hit()
                        raise TimeoutError(
                            f"client stopped reading ({piece} bytes not taken in {budget:g} s)"
                        ) from None
                    if done <= 0:
                        raise ConnectionResetError("file shrank while sending")
                    sent += done
                    reporter.progress(sent)
            finally:
                sender.close()
                if reading and not transport.is_closing():
                    transport.resume_reading()
            _cork(sock, False)  # the tail goes now, and a keep-alive reply is not held back
            await response.write_eof()
        except (ConnectionError, asyncio.CancelledError, OSError, RuntimeError) as exc:
            reporter.failed(_why(exc), sent)
            if isinstance(exc, asyncio.CancelledError):
                raise
            with contextlib.suppress(Exception):
                if request.transport is not None:
                    request.transport.abort()  # close() would wait for a reader that is gone
            return response
        reporter.finished(sent)
        return response


def _cork(sock: socket.socket | None, on: bool) -> None:
    """TCP_CORK around the body, as nginx's ``tcp_nopush``: only full segments leave while a
    small receive window opens in steps (GRUB 2.06: 8 KB, 536-byte segments), not a part-filled
    one at each step — 4% fewer frames per GRUB boot, as many as nginx (README "Secure Boot")."""
    if sock is not None and hasattr(socket, "TCP_CORK"):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, int(on))


def _satisfiable(rng: slice, size: int) -> tuple[int, int] | None:
    """``[start, end)`` for aiohttp's parsed single range, or None if it cannot be met."""
    if rng.start is None:
        # suffix range "-n": the last n bytes (aiohttp gives start=-n, so this is stop-only)
        length = -int(rng.stop) if rng.stop is not None and rng.stop < 0 else int(rng.stop or 0)
        if length <= 0 or size == 0:
            return None
        return max(0, size - length), size
    start = int(rng.start)
    if start < 0:  # aiohttp encodes "bytes=-n" as slice(-n, None)
        if size == 0:
            return None
        return max(0, size + start), size
    if start >= size:
        return None
    end = size if rng.stop is None else min(int(rng.stop), size)
    if end <= start:
        return None
    return start, end


def _why(exc: BaseException) -> str:
    if isinstance(exc, asyncio.CancelledError):
        return "client disconnected"
    return f"{exc.__class__.__name__}: {exc}" if str(exc) else exc.__class__.__name__
