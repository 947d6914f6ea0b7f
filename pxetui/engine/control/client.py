"""The Python client of the control API (used by the TUI and ``pxetui status/assign``).

``request`` uses one connection and answers in order; ``subscribe`` opens its own
connection, because after ``subscribe`` the server only streams events on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from pxetui.core.events import Event, event_from_dict
from pxetui.engine.control.protocol import ControlError, encode

# A state snapshot with hundreds of clients can be large; one line must fit.
READ_LIMIT = 64 << 20


class ControlClient:
    def __init__(self, socket_path: Path | str) -> None:
        self.socket_path = Path(socket_path)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()
        self._streams: list[asyncio.StreamWriter] = []

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            return await asyncio.open_unix_connection(str(self.socket_path), limit=READ_LIMIT)
        except FileNotFoundError:
            raise ControlError(
                f"no engine at {self.socket_path} (is `pxetui serve` running?)"
            ) from None
        except PermissionError:
            raise ControlError(
                f"not allowed to use {self.socket_path} (it belongs to the engine's user)"
            ) from None
        except ConnectionRefusedError:
            raise ControlError(f"no engine listening on {self.socket_path}") from None

    async def connect(self) -> None:
        if self._writer is None:
            self._reader, self._writer = await self._open()

    async def request(self, op: str, **args: Any) -> Any:
        """Send one request and return its ``result``; raise :class:`ControlError` if not ok."""
        await self.connect()
        assert self._reader is not None and self._writer is not None
        async with self._lock:
            request_id = next(self._ids)
            self._writer.write(encode({"id": request_id, "op": op, **args}))
            await self._writer.drain()
            reply = await _read_message(self._reader)
        if reply.get("id") != request_id:
            raise ControlError(f"reply out of order: {reply!r:.200}")
        if not reply.get("ok"):
            raise ControlError(str(reply.get("error", "request failed")))
        return reply.get("result")

    async def subscribe(self) -> tuple[dict[str, Any], AsyncIterator[Event]]:
        """The engine's state now, and every event from then on (until :meth:`close`)."""
        reader, writer = await self._open()
        self._streams.append(writer)
        writer.write(encode({"id": 0, "op": "subscribe"}))
        await writer.drain()
        reply = await _read_message(reader)
        if not reply.get("ok"):
            writer.close()
            raise ControlError(str(reply.get("error", "subscribe failed")))
        return reply["result"], _events(reader, writer)

    async def close(self) -> None:
        writers = [w for w in (self._writer, *self._streams) if w is not None]
        self._writer = self._reader = None
        self._streams = []
        for writer in writers:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def __aenter__(self) -> ControlClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def _read_message(reader: asyncio.StreamReader) -> dict[str, Any]:
    line = await reader.readline()
    if not line:
        raise ControlError("the engine closed the connection")
    data = json.loads(line)
    if not isinstance(data, dict):
        raise ControlError(f"unexpected reply: {line[:200]!r}")
    return data


async def _events(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> AsyncIterator[Event]:
    try:
        while True:
            try:
                message = await _read_message(reader)
            except ControlError:
                return
            if "error" in message:
                raise ControlError(f"the engine dropped this subscription: {message['error']}")
            if "event" in message:
                try:
                    yield event_from_dict(message["event"])
                except (ValueError, TypeError):
                    continue  # an event kind newer than this client: skip it
    finally:
        writer.close()
