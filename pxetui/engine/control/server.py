"""The control API server: a unix stream socket, mode 0600, newline-delimited JSON.

Every UI (the TUI, ``pxetui status``/``assign``, scripts) is a client of this socket, so a
closed terminal never stops a boot. Requests on one connection are answered in order; a
``subscribe`` turns its connection into a one-way event stream (snapshot first, then the
events in ticks), fed through a bounded, coalescing :class:`SubscriberQueue`: a slow reader
gets fewer, bigger ticks with the newest client rows; one that stops reading is dropped with
``{"error": "too slow"}`` instead of stalling the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
import logging
import os
import socket
import time
from pathlib import Path
from typing import Any, Protocol

from pxetui.core.events import EngineMessage, event_to_dict
from pxetui.engine.bus import EventBus
from pxetui.engine.control.access import apply_access, describe_change, peer_name, peer_of
from pxetui.engine.control.fanout import DEFAULT_DEPTH, EVENTS_PER_TICK, SubscriberQueue, Tick
from pxetui.engine.control.protocol import (
    MAX_LINE,
    TOO_SLOW,
    ControlError,
    ProtocolError,
    encode,
    error_reply,
    ok_reply,
    parse_request,
)
from pxetui.engine.limits import LimitNotice

log = logging.getLogger(__name__)
# A subscriber whose socket buffer stays full this long has stopped reading: drop it.
DRAIN_TIMEOUT_S = 10.0
TICK_S = 0.2
"""A subscriber gets at most one write per tick (5 a second): what changed meanwhile, the
newest row per client. A slow reader gets fewer, bigger ticks (the next waits for the last
to drain), so its queue never grows with the event rate."""
# Bytes waiting in our buffer for one subscriber beyond its snapshot: more is a reader that
# cannot keep up, dropped at once rather than grown without bound.
WRITE_BUFFER_MAX = 8 << 20
BACKLOG = 512  # 200 UIs and scripts connecting at once must not be refused
READ_CHUNK = 64 << 10
LINGER_S = 2.0  # after refusing an oversize line, how long its rest is read and dropped


class ControlHandler(Protocol):
    """What the server needs from the engine."""

    def snapshot(self, summary: bool = False) -> dict[str, Any]:
        """The ``state`` result: profile, services, clients, entries, assignments;
        *summary*: client rows as the stream sends them (``subscribe``'s first reply)."""
        ...

    async def dispatch(self, op: str, args: dict[str, Any], who: str = "") -> Any:
        """Run one op for *who* (the peer as the kernel names it); raise
        ``ControlError``/``ValueError`` with a sentence on failure."""
        ...


_STAGING = itertools.count()


class SocketInUseError(RuntimeError):
    """Another live engine already answers on this control socket."""


class ControlServer:
    def __init__(
        self,
        path: Path,
        handler: ControlHandler,
        bus: EventBus,
        *,
        mode: int = 0o600,
        depth: int = DEFAULT_DEPTH,
        drain_timeout: float = DRAIN_TIMEOUT_S,
        write_buffer_max: int = WRITE_BUFFER_MAX,
        tick: float = TICK_S,
    ) -> None:
        self.path = path
        self._handler = handler
        self._bus = bus
        self._mode = mode
        self._depth = depth
        self._drain_timeout = drain_timeout
        self._write_buffer_max = write_buffer_max
        self._tick = tick
        self._too_slow = LimitNotice(
            bus.publish,
            "control subscriber dropped: it stopped reading or could not keep up "
            '(it got {"error": "too slow"})',
        )
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        """Bind the socket (replacing a dead engine's leftover), private from the first byte."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists() or self.path.is_symlink():
            if _alive(self.path):
                raise SocketInUseError(f"an engine is already listening on {self.path}")
            self.path.unlink()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # Bound under a hidden name, given its group and mode, then linked into place: the
        # socket's path never exists with any other mode (whoever waits for it to appear
        # finds it ready), and nobody can connect before it listens.
        # Short (sun_path has 108 bytes) and this server's own, even beside another in-process.
        staging = self.path.with_name(f".{os.getpid()}.{next(_STAGING)}~")
        try:
            with contextlib.suppress(FileNotFoundError):
                staging.unlink()
            sock.bind(str(staging))
            # 0660 + group when the operators' group exists, else 0600 (access.py says why).
            level, access = apply_access(staging, self._mode, shown=self.path)
            self._server = await asyncio.start_unix_server(
                self._serve, sock=sock, limit=MAX_LINE + 1, backlog=BACKLOG
            )
            try:  # a link, not a rename: never over a socket another engine put there since
                os.link(staging, self.path)
            except FileExistsError:
                raise SocketInUseError(f"an engine is already listening on {self.path}") from None
            staging.unlink()
        except BaseException:
            if self._server is not None:
                self._server.close()
                self._server = None
            sock.close()
            with contextlib.suppress(FileNotFoundError):
                staging.unlink()
            raise
        self._bus.publish(EngineMessage(level=level, text=access))

    @property
    def connections(self) -> int:
        """Open client connections (requests and subscriptions)."""
        return len(self._writers)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        # Closing our end gives each handler EOF, so it ends on its own; cancelling it
        # would make asyncio's stream callback log the CancelledError.
        for writer in list(self._writers):
            writer.close()
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=2.0)
            for task in pending:
                task.cancel()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        try:
            await self._requests(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _requests(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = peer_of(writer.get_extra_info("socket"))  # the kernel's word: who is connected
        while True:
            try:
                line = await reader.readline()
            except ValueError:  # longer than the stream limit
                writer.write(
                    encode(error_reply(None, f"request too long (at most {MAX_LINE} bytes)"))
                )
                await writer.drain()
                # Closing with the rest of the line unread would reset the connection
                # before the client read why: swallow what it still sends, for a while.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(_discard(reader), LINGER_S)
                return
            if not line:
                return
            if not line.strip():
                continue
            try:
                request = parse_request(line)
            except ProtocolError as exc:
                writer.write(encode(error_reply(exc.request_id, str(exc))))
                await writer.drain()
                continue
            if request.op == "subscribe":
                await self._stream(request.id, reader, writer)
                return
            who = peer_name(peer) + (f" via {request.via}" if request.via else "")
            reply = await self._answer(request.id, request.op, request.args, who)
            change = describe_change(who, request.op, request.args) if reply.get("ok") else None
            if change:  # who assigned, unassigned or reloaded what: in the log and the console
                self._bus.publish(EngineMessage(text=change))
            writer.write(encode(reply))
            await writer.drain()
            if request.op == "stop" and reply.get("ok"):
                return

    async def _answer(
        self, request_id: Any, op: str, args: dict[str, Any], who: str = ""
    ) -> dict[str, Any]:
        try:
            if op == "state":
                return ok_reply(request_id, self._handler.snapshot())
            return ok_reply(request_id, await self._handler.dispatch(op, args, who))
        except (ControlError, ValueError, KeyError, TypeError) as exc:
            text = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            return error_reply(request_id, str(text))
        except Exception as exc:
            log.exception("control op %s failed", op)
            return error_reply(request_id, f"internal error: {exc}")

    async def _stream(
        self, request_id: Any, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        queue = SubscriberQueue(self._depth)
        # Snapshot and subscription in the same loop step: no event is missed or doubled.
        snapshot = self._handler.snapshot(summary=True)
        unsubscribe = self._bus.subscribe(queue.put)
        # The client hanging up ends the stream; whatever it sends meanwhile is read and
        # thrown away in small chunks (reader.read() would buffer it all).
        eof = asyncio.ensure_future(_discard(reader))
        try:
            first = encode(ok_reply(request_id, snapshot))
            writer.write(first)
            if not await self._drained(writer):
                return await self._drop(writer, self._stalled())
            while not eof.done():
                waiter = asyncio.ensure_future(queue.wait())
                done, _ = await asyncio.wait({waiter, eof}, return_when=asyncio.FIRST_COMPLETED)
                if waiter not in done:
                    waiter.cancel()
                    return
                if queue.overflowed:
                    return await self._drop(writer, f"over {self._depth} events waiting")
                ticked = time.monotonic()
                # One write per tick: the newest row of each changed client, the log lines
                # (bounded), and what was coalesced or skipped since the last tick.
                writer.write(tick_bytes(queue.take(EVENTS_PER_TICK)))
                unsent = writer.transport.get_write_buffer_size()
                if unsent > self._write_buffer_max:
                    return await self._drop(writer, f"{unsent >> 10} KiB unsent")
                if not await self._drained(writer):
                    return await self._drop(writer, self._stalled())
                rest = self._tick - (time.monotonic() - ticked)
                if rest > 0:  # what arrives meanwhile waits for the next tick, coalescing
                    await asyncio.wait({eof}, timeout=rest)
        finally:
            unsubscribe()
            eof.cancel()

    async def _drained(self, writer: asyncio.StreamWriter) -> bool:
        """False if the subscriber's socket stayed full for the drain timeout."""
        try:
            await asyncio.wait_for(writer.drain(), self._drain_timeout)
        except TimeoutError:
            return False
        return True

    def _stalled(self) -> str:
        return f"its socket stayed full for {self._drain_timeout:g} s"

    async def _drop(self, writer: asyncio.StreamWriter, why: str) -> None:
        """The final ``{"error": "too slow"}`` line, then the connection goes.

        A reader that resumes gets everything buffered and then that line; one that never
        reads is cut off after a short wait, and its buffer is freed with it.
        """
        self._too_slow.hit(why)
        writer.write(encode({"error": TOO_SLOW}))
        try:
            await asyncio.wait_for(writer.drain(), 2.0)
        except (TimeoutError, ConnectionError):
            writer.transport.abort()


async def _discard(reader: asyncio.StreamReader) -> None:
    """Read until EOF, keeping nothing (a subscriber has nothing more to say)."""
    while await reader.read(READ_CHUNK):
        pass


def tick_bytes(tick: Tick) -> bytes:
    """A tick on the wire: one ``{"event": ...}`` line per event, then a ``{"tick": ...}``
    line with the counts when events were coalesced or skipped (older readers ignore it)."""
    lines = [encode({"event": event_to_dict(event)}) for event in tick.events]
    if tick.coalesced or tick.skipped:
        counts = {"coalesced": tick.coalesced, "skipped": tick.skipped}
        lines.append(encode({"tick": counts}))
    return b"".join(lines)


def _alive(path: Path) -> bool:
    """True if something accepts connections on the unix socket *path*."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(str(path))
    except OSError as exc:
        return exc.errno not in (errno.ECONNREFUSED, errno.ENOENT, errno.ENOTSOCK)
    finally:
        probe.close()
    return True
