"""The console's link to an engine over its control socket (newline-delimited JSON).

Two paths, on purpose:

* The **subscription** runs in a thread (a Textual thread worker calls :meth:`EngineLink.
  follow`): it reads and decodes the engine's ticks (a few a second: the newest row of each
  changed client, a bounded number of log lines, the counts of what was coalesced or left
  out) and folds them into a :class:`~pxetui.ui.console_state.ConsoleState`, off the UI's
  event loop, so 5,000 events/s cost the screen nothing but a drain ten times a second. It
  then posts :class:`EngineChanged` — a pulse that carries no data and replaces any pulse
  still queued (``can_replace``), so a slow screen never builds a backlog. ``post_message``
  is thread-safe.
* **Requests** (assign, preview, explain …) are awaited from the UI loop on a short-lived
  connection each, so a slow request never holds up the event stream.

Closing the console only closes these sockets: the engine keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import threading
import time
from collections.abc import Callable
from contextvars import Context
from pathlib import Path
from typing import Any

from textual.message import Message

from pxetui.core.events import event_from_dict
from pxetui.core.mac import MacAddress
from pxetui.ui.console_state import ConsoleState

PULSE_INTERVAL = 0.1
"""Seconds between pulses to the screen: the table and logs repaint at most at 10 Hz."""
RECONNECT_DELAY = 1.0
REQUEST_TIMEOUT = 15.0
_LINE_LIMIT = 64 * 1024 * 1024  # a snapshot with thousands of clients is one long line


class EngineError(Exception):
    """The engine answered ``ok: false`` (the text is the engine's) or could not be reached."""


class EngineChanged(Message):
    """Something in :class:`ConsoleState` changed: drain it. Coalesces while queued."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, EngineChanged)


class EngineLink:
    """One engine, by its control socket path."""

    def __init__(
        self, socket_path: Path | str, state: ConsoleState | None = None, *, via: str = ""
    ) -> None:
        self.socket_path = Path(socket_path)
        self.via = via
        """How the person reached this console (``web console``), sent with every request so
        the engine records it after the kernel's name for our process."""
        self.state = state if state is not None else ConsoleState()
        self._ids = itertools.count(1)
        self.connected = False

    # --- requests (UI loop) ---------------------------------------------------------------

    async def request(self, op: str, timeout: float = REQUEST_TIMEOUT, **params: Any) -> Any:
        """Send one request and return its ``result``; raise :class:`EngineError` otherwise.

        Runs in a task of its own with an empty context: asyncio keeps a finished request's
        timeout handle (and the context it was scheduled in) until the timeout's time, and
        the caller's context names its worker and so its screen — a screen that polls (the
        detail, twice a second) would live on for a request timeout after it closed, long
        enough for the console's collector to freeze it."""
        task = asyncio.create_task(self._request(op, timeout, params), context=Context())
        return await task

    async def _request(self, op: str, timeout: float, params: dict[str, Any]) -> Any:
        request_id = next(self._ids)
        payload = {"id": request_id, "op": op, **params}
        if self.via:
            payload["via"] = self.via
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_unix_connection(str(self.socket_path), limit=_LINE_LIMIT), timeout
            )
        except (OSError, TimeoutError) as exc:
            raise EngineError(f"engine not reachable at {self.socket_path}: {exc}") from exc
        try:
            writer.write(json.dumps(payload).encode() + b"\n")
            await writer.drain()
            while True:
                line = await asyncio.wait_for(reader.readline(), timeout)
                if not line:
                    raise EngineError(f"engine closed the connection during {op!r}")
                reply = json.loads(line)
                if reply.get("id") == request_id:
                    break
        except (OSError, TimeoutError, ValueError) as exc:
            raise EngineError(f"{op}: {exc or type(exc).__name__}") from exc
        finally:
            writer.close()
        if not reply.get("ok"):
            raise EngineError(str(reply.get("error") or f"{op} failed"))
        return reply.get("result")

    # --- subscription (a thread) ----------------------------------------------------------

    def follow(self, notify: Callable[[], object], stop: threading.Event) -> None:
        """Follow the engine until *stop* is set, reconnecting after a loss.

        *notify* is called (from this thread) at most every :data:`PULSE_INTERVAL` while
        something changed; pass a function that posts :class:`EngineChanged`.
        """
        while not stop.is_set():
            try:
                self._follow_once(notify, stop)
                reason = "engine closed the connection"
            except (OSError, ValueError, EngineError) as exc:
                reason = str(exc) or type(exc).__name__
            self.connected = False
            if stop.is_set():
                return
            self.state.set_meta(link="lost", link_error=reason)
            notify()
            stop.wait(RECONNECT_DELAY)

    def _follow_once(self, notify: Callable[[], object], stop: threading.Event) -> None:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5.0)
            sock.connect(str(self.socket_path))
            sock.sendall(json.dumps({"id": 0, "op": "subscribe"}).encode() + b"\n")
            sock.settimeout(PULSE_INTERVAL)
            buffer = b""
            got_snapshot = False
            last_notify = 0.0
            dirty = False
            while not stop.is_set():
                try:
                    chunk = sock.recv(1 << 20)
                except TimeoutError:
                    chunk = None
                if chunk == b"":
                    return
                if chunk:
                    buffer += chunk
                    *lines, buffer = buffer.split(b"\n")
                    rows: list[tuple[MacAddress, Any]] = []
                    for line in lines:
                        if line.strip():
                            got_snapshot |= self._handle_line(line, got_snapshot, rows)
                            dirty = True
                    if rows:  # a tick's rows: one fold, one lock
                        self.state.fold_clients(rows)
                now = time.monotonic()
                if dirty and now - last_notify >= PULSE_INTERVAL:
                    notify()
                    last_notify = now
                    dirty = False

    def _handle_line(
        self, line: bytes, got_snapshot: bool, rows: list[tuple[MacAddress, Any]]
    ) -> bool:
        """Fold one line (client rows are appended to *rows*, folded together by the
        caller); return True once it was the subscription's snapshot."""
        message = json.loads(line)
        if not got_snapshot and "id" in message:
            if rows:  # a re-attach's snapshot replaces what came before it
                rows.clear()
            if not message.get("ok"):
                raise EngineError(str(message.get("error") or "subscribe refused"))
            self.state.load_snapshot(message.get("result") or {})
            self.connected = True
            self.state.set_meta(link="attached", link_error="")
            return True
        if "error" in message and "event" not in message:
            raise EngineError(f"engine dropped the subscription: {message['error']}")
        event = message.get("event")
        if isinstance(event, dict):
            kind = event.get("kind")
            if kind == "transfer_progress":
                self.state.count_only()  # shown through ClientUpdated's transfers
                return False
            # An event kind newer than this console is skipped; the stream goes on.
            with contextlib.suppress(ValueError, TypeError):
                if kind == "client":
                    # The most frequent event: skip the generic decoder's regex MAC parse.
                    mac = MacAddress(str(event["mac"]).replace(":", "").lower())
                    rows.append((mac, event["state"]))
                else:
                    self.state.fold(event_from_dict(event))
            return False
        tick = message.get("tick")
        if isinstance(tick, dict):  # what the engine coalesced or left out of this tick
            self.state.note_tick(_count(tick.get("coalesced")), _count(tick.get("skipped")))
        return False


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
