"""One engine event as one line of text for the logs.

Lines are built as :class:`rich.text.Text` from plain strings, never parsed as markup, so a
filename like ``[red]x`` from the wire shows as typed (the engine already ran it through
``clean()``; this is the second lock on the door). The meaning is carried by words and
symbols (``ok``, ``FAIL``, ``miss``), colour only decorates, so the logs read the same with
``NO_COLOR``.
"""

from __future__ import annotations

from rich.text import Text

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
)
from pxetui.core.sanitize import clean
from pxetui.core.wording import clock as clock  # the logs' time column

# The console's colour scheme, one home for the table and both logs. Colour only decorates
# (the words carry the meaning): routine lines recede, progress stays neutral, and only what
# needs the operator is green (it worked), yellow (look) or red (it broke).
ROUTINE = "dim"
PROGRESS = ""
SUCCESS = "green"
WARNING = "yellow"
ERROR = "bold red"
BAR = "blue"
TRACK = "bright_black"
TONES: dict[str, str] = {
    "routine": ROUTINE,
    "progress": PROGRESS,
    "bar": BAR,
    "track": TRACK,
    "success": SUCCESS,
    "warning": WARNING,
    "error": ERROR,
}
"""Tone names (used by the table's cells) to Rich styles."""


def human_bytes(n: float | None, short: bool = False) -> str:
    """``1.5 MiB`` (or ``1.5M`` with *short*, for narrow panes) — sizes as operators read them."""
    if n is None:
        return "?"
    value = float(n)
    units = ("B", "K", "M", "G") if short else ("B", "KiB", "MiB", "GiB")
    sep = "" if short else " "
    for unit in units:
        if abs(value) < 1024 or unit == units[-1]:
            return f"{value:.0f}{sep}{unit}" if unit == "B" else f"{value:.1f}{sep}{unit}"
        value /= 1024
    raise AssertionError("unreachable")


_SERVICE_TONES = {"failed": ERROR, "restarting": WARNING, "stopped": WARNING}


def _summary(event: Event, own: bool = False) -> tuple[str, str, str]:
    """(tag, text, style) for an event; *own*: for its client's pane, which names the
    client already (no MAC, no client IP after a file name)."""
    to = "" if own else f" -> {getattr(event, 'client_ip', '')}"
    by = "" if own else f" <- {getattr(event, 'client_ip', '')}"
    if isinstance(event, DhcpEvent):
        parts = [event.msg_type]
        if event.ip:
            parts.append(event.ip)
        if event.mac is not None and not own:
            parts.append(event.mac.colon)
        if event.text:
            parts.append(event.text)
        if event.boot_file:
            parts.append(f"file {event.boot_file}")
        return "DHCP", " ".join(parts), ROUTINE
    if isinstance(event, TransferStarted):
        size = f" ({human_bytes(event.size)})" if event.size is not None else ""
        return (
            event.proto.upper(),
            f"send {event.filename}{to}{size}",
            PROGRESS,
        )
    if isinstance(event, TransferProgress):
        return event.proto.upper(), f"{event.filename} {human_bytes(event.bytes_sent)}", PROGRESS
    if isinstance(event, TransferFinished):
        rate = event.bytes_sent / event.seconds if event.seconds > 0 else 0.0
        retr = f", {event.retransmits} retransmits" if event.retransmits else ""
        return (
            event.proto.upper(),
            f"ok {event.filename} {human_bytes(event.bytes_sent)} in {event.seconds:.2f} s"
            f" ({human_bytes(rate)}/s{retr})",
            SUCCESS,
        )
    if isinstance(event, TransferFailed):
        return event.proto.upper(), f"FAIL {event.filename}: {event.reason}", ERROR
    if isinstance(event, SizeProbe):
        size = human_bytes(event.size)
        return event.proto.upper(), f"size probe {event.filename} ({size})", ROUTINE
    if isinstance(event, FileNotFound):
        # A miss is routine: pxelinux walks a dozen names before one exists. The misses that
        # matter (a kernel, an initrd) are hints, shown in the client pane in their colour.
        return event.proto.upper(), f"miss {event.filename}{by}", ROUTINE
    if isinstance(event, RequestRefused):
        return (
            event.proto.upper(),
            f"REFUSED {event.filename}{by}: {event.reason}",
            ERROR,
        )
    if isinstance(event, ServiceEvent):
        where = f" {event.address}" if event.address else ""
        pid = f" pid {event.pid}" if event.pid else ""
        why = f": {event.message}" if event.message else ""
        style = _SERVICE_TONES.get(event.state, ROUTINE)
        return "SVC", f"{event.service} {event.state}{where}{pid}{why}", style
    if isinstance(event, AssignmentChanged):
        what = event.entry if event.entry is not None else "(unassigned)"
        once = " once" if event.once else ""
        by_whom = f" by {event.by}" if event.by else ""
        who = "" if own else f"{event.mac.colon} "
        return "ASSIGN", f"{who}-> {what}{once} ({event.reason}{by_whom})", ROUTINE
    if isinstance(event, BootFilesWritten):
        whose = "" if own else f"{event.mac.colon if event.mac is not None else 'default'}: "
        files = ", ".join(event.files) or "-"
        removed = f"; removed {', '.join(event.removed)}" if event.removed else ""
        return "FILES", f"{whose}wrote {files}{removed}", ROUTINE
    if isinstance(event, ClientUpdated):
        return "CLIENT", f"{event.mac.colon} {event.state.get('phase', '')}", ROUTINE
    if isinstance(event, EngineMessage):
        style = {"error": ERROR, "warning": WARNING}.get(event.level, PROGRESS)
        return event.level.upper(), event.text, style
    if isinstance(event, RawLogEvent):
        return event.source.upper()[:6], event.line, ROUTINE
    return event.kind.upper()[:6], "", ""


EVENT_KINDS: tuple[str, ...] = ("dhcp", "tftp", "http", "assign", "service", "errors")
"""What the all-events pane can be narrowed to (``k`` cycles, ``:events KIND``)."""
_KIND_OF_TAG = {
    "DHCP": "dhcp",
    "TFTP": "tftp",
    "HTTP": "http",
    "ASSIGN": "assign",
    "FILES": "assign",
    "SVC": "service",
    "INFO": "service",
    "WARNING": "service",
    "ERROR": "service",
}


def event_kinds(event: Event) -> frozenset[str]:
    """The kinds an event's line belongs to: its source (from its tag: DHCP, TFTP, HTTP,
    assign for assignments and the files they write, service for services and the
    engine's own messages) and ``errors`` when it is red or yellow."""
    tag, _body, style = _summary(event)
    kinds = {kind} if (kind := _KIND_OF_TAG.get(tag)) else set()
    if isinstance(event, RawLogEvent):
        kinds.add("service")
    if style in (ERROR, WARNING):
        kinds.add("errors")
    return frozenset(kinds)


def event_line(event: Event, own: bool = False) -> Text:
    """``12:00:01 TFTP  ok pxelinux.0 42.0 KiB in 0.10 s`` as markup-free Text; *own*: in
    the client's pane (without the client's MAC and IP, which the pane names)."""
    tag, body, style = _summary(event, own)
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append(f"{clock(event.ts)} {clean(tag, 6):<6} ", style="dim")
    line.append(clean(body, 300), style=style)
    return line
