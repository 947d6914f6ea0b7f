"""The headless engine's log: one JSON object per event on stdout, or a line for people.

``pxetui serve`` runs under systemd or in a terminal; journald and log shippers want JSON
lines, a person at a terminal wants ``02:00:05 tftp done pxelinux.0 → 10.0.0.129 (42 kB)``.
Derived or high-rate events (``ClientUpdated``, ``TransferProgress``) are left out unless asked
for: the facts they derive from are already in the log.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Literal, TextIO

from pxetui.core.events import (
    AssignmentChanged,
    BootFilesWritten,
    ClientUpdated,
    DhcpEvent,
    EngineMessage,
    Event,
    FileNotFound,
    RawLogEvent,
    RequestRefused,
    ServiceEvent,
    SizeProbe,
    TransferFailed,
    TransferFinished,
    TransferProgress,
    TransferStarted,
    event_to_dict,
)

LogFormat = Literal["json", "text"]
_NOISY = (ClientUpdated, TransferProgress)


def _size(n: int | None) -> str:
    if n is None:
        return "?"
    value = float(n)
    for unit in ("B", "kB", "MB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def describe(event: Event) -> str:
    """One readable line (without the time) for *event*."""
    if isinstance(event, DhcpEvent):
        who = f"{event.mac or '?'}" + (f" {event.ip}" if event.ip else "")
        extra = " ".join(x for x in (event.vendor_class, event.boot_file, event.text) if x)
        return f"dhcp {event.msg_type} {who} {extra}".rstrip()
    if isinstance(event, TransferStarted):
        return f"{event.proto} start {event.filename} → {event.client_ip} ({_size(event.size)})"
    if isinstance(event, TransferFinished):
        return (
            f"{event.proto} done {event.filename} → {event.client_ip} "
            f"({_size(event.bytes_sent)} in {event.seconds:.2f} s)"
        )
    if isinstance(event, TransferFailed):
        return f"{event.proto} FAILED {event.filename} → {event.client_ip}: {event.reason}"
    if isinstance(event, SizeProbe):
        return f"{event.proto} size probe {event.filename} ← {event.client_ip}"
    if isinstance(event, FileNotFound):
        return f"{event.proto} not found {event.filename} ← {event.client_ip}"
    if isinstance(event, RequestRefused):
        return f"{event.proto} refused {event.filename} ← {event.client_ip}: {event.reason}"
    if isinstance(event, ServiceEvent):
        where = f" {event.address}" if event.address else ""
        why = f": {event.message}" if event.message else ""
        return f"service {event.service} {event.state}{where}{why}"
    if isinstance(event, AssignmentChanged):
        once = " once" if event.once else ""
        return f"assign {event.mac} → {event.entry or '(profile)'}{once} ({event.reason})"
    if isinstance(event, BootFilesWritten):
        owner = event.mac or "defaults"
        return f"files wrote {len(event.files)} removed {len(event.removed)} for {owner}"
    if isinstance(event, EngineMessage):
        return f"{event.level}: {event.text}"
    if isinstance(event, RawLogEvent):
        return f"{event.source}: {event.line}"
    return json.dumps(event_to_dict(event), separators=(",", ":"))


class EventLog:
    """A bus subscriber that writes each event to *stream* (stdout by default)."""

    def __init__(
        self, fmt: LogFormat = "json", stream: TextIO | None = None, *, verbose: bool = False
    ) -> None:
        self._fmt = fmt
        self._stream = stream
        self._verbose = verbose

    def __call__(self, event: Event) -> None:
        if not self._verbose and isinstance(event, _NOISY):
            return
        stream = self._stream or sys.stdout
        if self._fmt == "json":
            line = json.dumps(event_to_dict(event), separators=(",", ":"), ensure_ascii=False)
        else:
            stamp = time.strftime("%H:%M:%S", time.localtime(event.ts))
            line = f"{stamp} {describe(event)}"
        try:
            stream.write(line + "\n")
            stream.flush()
        except (BrokenPipeError, ValueError):
            pass  # stdout gone (pipe closed): the engine keeps serving
