"""The TFTP listener: takes read requests on port 69 and starts one :class:`Transfer` each.

Why not tftpy's own ``TftpServer``: measured here, eight different single packets stop it for
good, it accepts writes, follows symlinks out of its root, lets a stranger's ACK drive a
transfer, has no windowsize and serves 10 to 50 clients at about half tftpd-hpa's speed. So the
engine owns the loop (a data thread, one shared transfer socket per local address, see
:mod:`.mux`) and uses tftpy only for packets.

Every datagram is handled inside a ``try``: whatever one packet does, the listener keeps
listening. Requests are decided in a fixed order — decode, mode, caps, path, options — and
every refusal is answered (ERROR 1/2/4/8) and published as an event, because misses and
refusals are how an operator sees what the firmware is looking for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pxetui.core.events import EngineMessage, Event, FileNotFound, RequestRefused
from pxetui.core.sanitize import clean
from pxetui.engine.progress import TransferReporter
from pxetui.engine.tftp import fastpath, packets
from pxetui.engine.tftp.datapath import DataPath
from pxetui.engine.tftp.mux import SharedSocket
from pxetui.engine.tftp.netascii import NetasciiTooLarge, to_netascii
from pxetui.engine.tftp.options import DEFAULT_MAX_WINDOWSIZE, MAX_BLKSIZE, negotiate
from pxetui.engine.tftp.paths import PathError, open_served_file
from pxetui.engine.tftp.sockets import CMSG_SPACE, listening_socket, local_address, path_mtu
from pxetui.engine.tftp.sources import bytes_reader, bytes_readinto, file_reader, file_readinto
from pxetui.engine.tftp.transfer import Transfer
from pxetui.engine.tftp.window import RttMemory, requested_window, window_cap
from pxetui.engine.tftp.worker import WorkerProcesses

log = logging.getLogger(__name__)

# IPv4 + UDP + TFTP DATA headers: a block this much below the MTU never fragments.
_HEADERS = 20 + 8 + 4
_READ_BATCH = 64
_MAX_ROUTES = 4096
_MAX_SHARED = 64  # transfer sockets (one per local address); past it, one on 0.0.0.0


class TftpServer:
    """A read-only TFTP server for *root*. Binds nothing until :meth:`start`."""

    def __init__(
        self,
        root: Path,
        *,
        host: str = "0.0.0.0",
        port: int = 69,
        publish: Callable[[Event], None],
        max_sessions: int = 256,
        max_sessions_per_client: int = 64,
        max_blksize: int = MAX_BLKSIZE,
        max_windowsize: int = DEFAULT_MAX_WINDOWSIZE,
        timeout: float = 1.0,
        max_retries: int = 5,
        gso: bool = True,
        workers: int = 1,
        listen: bool = True,
    ) -> None:
        self.root = Path(root)
        self.host = host
        self._requested_port = port
        self._publish = publish
        self.max_sessions = max_sessions
        self.max_sessions_per_client = max_sessions_per_client
        self.max_blksize = max_blksize
        self.max_windowsize = max_windowsize
        self.timeout = timeout
        self.max_retries = max_retries
        self.gso = gso
        self.workers = max(1, workers)
        self._listen = listen
        self._pool: WorkerProcesses | None = None
        self._routes: dict[tuple[str, int], int] = {}  # client -> worker index (0 = us)
        self._next_worker = 0
        self._reply_sock: socket.socket | None = None
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sockets: DataPath | None = None
        self._transfers: dict[tuple[str, int], Transfer] = {}
        self._shared: dict[str, SharedSocket] = {}
        self._rtts = RttMemory()  # per client address, for the window offered (see .window)
        self._wildcard = host in ("", "0.0.0.0")

    # --- lifecycle --------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (useful with ``port=0``); the requested one before :meth:`start`."""
        if self._sock is None:
            return self._requested_port
        return int(self._sock.getsockname()[1])

    @property
    def transfers(self) -> int:
        """Transfers in progress."""
        return len(self._transfers)

    async def start(self) -> None:
        """Bind the listening socket; raise OSError naming the address if that fails.

        With ``workers > 1`` also start the worker processes: the listener stays here and
        hands each new client's requests to one process in turn (see :mod:`.worker`).
        """
        if self._sockets is not None:
            return
        self._loop = asyncio.get_running_loop()
        if self._listen:
            self._sock = listening_socket(self.host, self._requested_port, self._wildcard)
            self._loop.add_reader(self._sock.fileno(), self._on_readable)
        self._sockets = DataPath(self._loop, self._publish)
        if self._listen:  # once per server (not per worker): which TFTP data path runs
            self._publish(EngineMessage(text=fastpath.describe(self._sockets.lane)))
        if self.workers > 1:
            self._pool = WorkerProcesses(self.workers - 1, self._worker_config(), self._publish)
            try:
                await self._pool.start()
            except BaseException:
                self._pool = None
                await self.stop()
                raise

    def _worker_config(self) -> dict[str, Any]:
        """What a worker process needs to serve the requests we hand it like we would."""
        return {
            "root": str(self.root),
            "host": self.host,
            "max_sessions": self.max_sessions,
            "max_sessions_per_client": self.max_sessions_per_client,
            "max_blksize": self.max_blksize,
            "max_windowsize": self.max_windowsize,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "gso": self.gso,
        }

    async def stop(self) -> None:
        """Stop listening and end every transfer (each reported as failed), workers too."""
        if self._pool is not None:
            await self._pool.stop()
            self._pool = None
        if self._sock is not None and self._loop is not None:
            self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        if self._sockets is not None:
            self._sockets.stop()  # no data thread from here on; queued ACKs were handled
            with self._sockets.lock:
                for transfer in list(self._transfers.values()):
                    transfer.close(reason="server stopped")
                self._transfers.clear()
            for shared in self._shared.values():
                shared.close()
            self._shared.clear()
            self._sockets.close()  # also publishes the events still queued
            self._sockets = None
        if self._reply_sock is not None:
            self._reply_sock.close()
            self._reply_sock = None

    # --- the listener -----------------------------------------------------------------

    def _on_readable(self) -> None:
        sock = self._sock
        if sock is None:
            return
        for _ in range(_READ_BATCH):
            try:
                data, ancdata, _flags, addr = sock.recvmsg(packets.MAX_REQUEST_LEN + 1, CMSG_SPACE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            local_ip = local_address(ancdata)
            if self._pool is not None and packets.opcode_of(data) == packets.RRQ:
                worker = self._route(addr)
                if worker and self._pool.forward(worker - 1, data, addr, local_ip):
                    continue
            self.handle_request(data, addr, local_ip)

    def _route(self, addr: tuple[str, int]) -> int:
        """Which process serves *addr*: 0 is this one. Sticky, so a repeated RRQ meets its
        half-open transfer; new clients go round-robin over the processes still alive."""
        assert self._pool is not None
        known = self._routes.get(addr)
        if known is not None and (known == 0 or self._pool.alive(known - 1)):
            return known
        for _ in range(self.workers):
            self._next_worker = (self._next_worker + 1) % self.workers
            if self._next_worker == 0 or self._pool.alive(self._next_worker - 1):
                break
        if len(self._routes) >= _MAX_ROUTES:
            del self._routes[next(iter(self._routes))]
        self._routes[addr] = self._next_worker
        return self._next_worker

    def handle_request(self, data: bytes, addr: tuple[str, int], local_ip: str | None) -> None:
        """Serve one request datagram (from our listener, or handed over by the parent)."""
        try:
            self._on_datagram(data, addr, local_ip)
        except Exception:
            # No single packet may stop the service: log it and keep listening.
            log.exception("TFTP request from %s failed", addr)

    def _emit(self, event: Event) -> None:
        """Publish through the data path's queue, so refusals and misses keep their order
        relative to the transfer events the data thread queued before them."""
        if self._sockets is not None:
            self._sockets.publish(event)
        else:
            self._publish(event)

    def _reply_error(self, addr: tuple[str, int], code: int, message: str) -> None:
        sock = self._sock
        if sock is None:
            # A worker has no listener: answer from a socket of its own (any port is a
            # valid source for the reply to a refused request).
            if self._reply_sock is None:
                self._reply_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                self._reply_sock.setblocking(False)
            sock = self._reply_sock
        with contextlib.suppress(OSError):
            sock.sendto(packets.encode_error(code, message), addr)

    def _refuse(
        self, addr: tuple[str, int], filename: str, reason: str, code: int, message: str
    ) -> None:
        self._reply_error(addr, code, message)
        self._emit(
            RequestRefused(
                proto="tftp",
                client_ip=addr[0],
                client_port=addr[1],
                filename=clean(filename),
                reason=reason,
            )
        )

    def _on_datagram(self, data: bytes, addr: tuple[str, int], local_ip: str | None) -> None:
        opcode = packets.opcode_of(data)
        if opcode is None or opcode in (packets.DATA, packets.ACK, packets.ERROR, packets.OACK):
            return  # strays to the listener: silently dropped, never answered
        try:
            request = packets.decode_request(data)
        except packets.MalformedPacket as exc:
            self._refuse(addr, "", f"malformed request: {exc}", packets.ERR_ILLEGAL, str(exc))
            return
        if request.opcode == packets.WRQ:
            self._refuse(
                addr, request.filename, "write request", packets.ERR_ACCESS, "Read-only server"
            )
            return
        if request.mode not in ("octet", "netascii"):
            self._refuse(
                addr,
                request.filename,
                f"unsupported mode {clean(request.mode, 20)}",
                packets.ERR_ILLEGAL,
                "Unsupported mode",
            )
            return
        sockets = self._sockets
        if sockets is None:
            return  # stopped
        with sockets.lock:  # transfers run on the data thread (see datapath.py)
            existing = self._transfers.get(addr)
            if existing is not None:
                if existing.half_open:
                    return  # the client repeated its RRQ; our timer already retransmits
                existing.close(reason="superseded by a new request from the same port")
            room = self._make_room(addr[0])
        if not room:
            self._refuse(
                addr, request.filename, "too many sessions", packets.ERR_UNDEFINED, "Server busy"
            )
            return
        self._start_transfer(request, addr, local_ip)

    def _make_room(self, client_ip: str) -> bool:
        """Apply the session caps, evicting the oldest half-open session if one is in the way."""
        mine = [t for t in self._transfers.values() if t.client[0] == client_ip]
        if len(mine) >= self.max_sessions_per_client and not _evict_oldest_half_open(mine):
            return False
        if len(self._transfers) >= self.max_sessions:
            return _evict_oldest_half_open(list(self._transfers.values()))
        return True

    def _start_transfer(
        self, request: packets.Request, addr: tuple[str, int], local_ip: str | None
    ) -> None:
        try:
            served = open_served_file(self.root, request.filename)
        except PathError as exc:
            if exc.not_found:
                self._reply_error(addr, packets.ERR_NOT_FOUND, "File not found")
                self._emit(
                    FileNotFound(
                        proto="tftp",
                        client_ip=addr[0],
                        client_port=addr[1],
                        filename=clean(request.filename),
                    )
                )
            else:
                self._refuse(
                    addr, request.filename, exc.reason, packets.ERR_ACCESS, "Access violation"
                )
            return
        release: Callable[[], None] = lambda: os.close(served.fd)  # noqa: E731
        try:
            if request.mode == "netascii":
                content = to_netascii(served.fd, served.size)
                os.close(served.fd)
                release = lambda: None  # noqa: E731
                read, size = bytes_reader(content), len(content)
                readinto = bytes_readinto(content)
            else:
                read, size = file_reader(served.fd), served.size
                readinto = file_readinto(served.fd)
            bind_ip = self.host if not self._wildcard else (local_ip or "0.0.0.0")
            max_blksize = self.max_blksize
            if any(k.lower() == "blksize" for k in request.options):
                max_blksize = min(max_blksize, path_mtu(bind_ip, addr) - _HEADERS)
            assert self._loop is not None and self._sockets is not None
            with self._sockets.lock:
                shared = self._shared_socket(bind_ip)
                rtt = self._rtts.get(addr[0])
            negotiated = negotiate(
                request.options,
                size=size,
                max_blksize=max_blksize,
                max_windowsize=self.max_windowsize,
            )
            asked = requested_window(request.options)
            if rtt is not None and asked > negotiated.windowsize:
                # A far client asking for more than 64: a window that covers its RTT.
                cap = window_cap(self.max_windowsize, negotiated.blksize, asked, rtt)
                if cap != self.max_windowsize:
                    negotiated = negotiate(
                        request.options, size=size, max_blksize=max_blksize, max_windowsize=cap
                    )
        except NetasciiTooLarge as exc:
            release()
            self._refuse(addr, request.filename, str(exc), packets.ERR_ACCESS, "File too large")
            return
        except BaseException:
            release()
            raise
        reporter = TransferReporter(
            self._sockets.publish,
            proto="tftp",
            client_ip=addr[0],
            client_port=addr[1],
            filename=served.name,
            size=size,
            clock=time.monotonic,
        )
        transfer = Transfer(
            sockets=self._sockets,
            shared=shared,
            client=addr,
            read=read,
            readinto=readinto,
            size=size,
            negotiated=negotiated,
            reporter=reporter,
            on_close=self._forget,
            release=release,
            base_timeout=self.timeout,
            max_retries=self.max_retries,
            gso=self.gso,
            file_fd=None if request.mode == "netascii" else served.fd,
        )
        with self._sockets.lock:
            self._transfers[addr] = transfer
            try:
                transfer.start()
            except BaseException:
                transfer.close(reason="could not start")  # never leave one without a timer
                raise

    def _shared_socket(self, bind_ip: str) -> SharedSocket:
        """The transfer socket for *bind_ip*, made on first use (caller holds the lock)."""
        assert self._sockets is not None
        shared = self._shared.get(bind_ip)
        if shared is None and len(self._shared) >= _MAX_SHARED:
            bind_ip = "0.0.0.0"
            shared = self._shared.get(bind_ip)
            if shared is None:  # said once: from now on this socket answers the rest
                log.warning(
                    "TFTP: more than %d local addresses; replies from 0.0.0.0's socket",
                    _MAX_SHARED,
                )
        if shared is None:
            shared = SharedSocket(self._sockets, bind_ip)
            self._shared[bind_ip] = shared
        return shared

    def _forget(self, transfer: Transfer) -> None:
        self._rtts.remember(transfer.client[0], transfer.srtt)
        if self._transfers.get(transfer.client) is transfer:
            del self._transfers[transfer.client]


def _evict_oldest_half_open(transfers: list[Transfer]) -> bool:
    for transfer in sorted(transfers, key=lambda t: t.created):
        if transfer.half_open:
            transfer.close(reason="evicted: too many sessions, never acknowledged")
            return True
    return False
