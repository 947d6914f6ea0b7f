"""dnsmasq ``--log-dhcp`` lines → :class:`DhcpEvent` / :class:`RawLogEvent`.

Two layers, both pure and synchronous so they are tested on the captured real lines:

* :func:`parse_line` understands one line. It accepts the syslog form
  (``Nov 22 01:59:47 dnsmasq-dhcp[5114]: 1461722186 PXE(br0) 52:54:00:e2:e0:01 proxy``),
  the form our child writes to stderr with ``--log-facility=-``
  (``dnsmasq-dhcp[5114]: …``, no timestamp) and bare bodies. It never raises.
* :class:`DhcpLogFolder` merges the detail lines of one packet into the events of its
  message lines (see its docstring for the rule).

Everything client-controlled (vendor/user class, boot file names echoed back, the free text
after the MAC) goes through :func:`clean` before it lands in an event.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Literal

from pxetui.core.arch import client_arch, guess_firmware
from pxetui.core.events import DhcpEvent, Event, RawLogEvent
from pxetui.core.mac import MacAddress, MacAddressError
from pxetui.core.sanitize import clean

LineKind = Literal["message", "detail"]

# How long a packet's block may stay open before the supervisor flushes it. dnsmasq writes
# all lines of one packet in one go, so a quiet 100 ms means the block is complete.
FLUSH_AFTER = 0.1

_SYSLOG_STAMP = re.compile(r"^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d ")
_PREFIX = re.compile(r"^(dnsmasq(?:-[a-z0-9]+)?)(?:\[(\d{1,10})\])?: ?")
_XID = re.compile(r"^(\d{1,10}) (.*)$", re.DOTALL)
_MESSAGE = re.compile(r"^([A-Z][A-Z0-9_-]{0,31})\(([^()\s]{0,64})\)(?: (.*))?$", re.DOTALL)
_DETAIL = re.compile(r"^([a-zA-Z][a-zA-Z -]{0,40}?):(?: (.*))?$", re.DOTALL)
_SENT = re.compile(r"^size:\s*\d+ option:\s*(\d+)\s+(?:([a-z][\w-]*)\s+)?(.*)$", re.DOTALL)
_OPTION_NUMBER = re.compile(r"^\s*(\d{1,3})\b")
_MAX_XID = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class DhcpLine:
    """One DHCP line of dnsmasq, split into its parts (values not yet sanitised).

    ``kind == "message"``: ``[<xid> ]<TYPE>(<iface>) [<ip> ]<mac>[ <text>]``.
    ``kind == "detail"``: ``<xid> <name>: <value>`` (or a bare ``<xid> <text>`` such as
    ``broadcast response``, with ``name`` = the text and an empty value).
    """

    kind: LineKind
    xid: int | None
    source: str = ""
    pid: int | None = None
    msg_type: str = ""
    interface: str = ""
    ip: str | None = None
    mac: MacAddress | None = None
    text: str = ""
    name: str = ""
    value: str = ""


def _strip_prefix(line: str) -> tuple[str, str, int | None]:
    body = line.rstrip("\r\n")
    stamp = _SYSLOG_STAMP.match(body)
    if stamp:
        body = body[stamp.end() :]
    prefix = _PREFIX.match(body)
    if prefix is None:
        return body, "", None
    pid = int(prefix.group(2)) if prefix.group(2) else None
    return body[prefix.end() :], prefix.group(1), pid


def _parse_message(xid: int | None, body: str, source: str, pid: int | None) -> DhcpLine | None:
    match = _MESSAGE.match(body)
    if match is None:
        return None
    msg_type, interface, rest = match.group(1), match.group(2), match.group(3) or ""
    if msg_type.startswith("RTR-"):
        return None  # IPv6 router advertisements: not a DHCP exchange
    tokens = rest.strip().split(" ", 2) if rest.strip() else []
    ip: str | None = None
    if tokens:
        try:
            ip = str(IPv4Address(tokens[0]))
            tokens = tokens[1:]
        except ValueError:
            ip = None
    mac: MacAddress | None = None
    if tokens:
        try:
            mac = MacAddress.parse(tokens[0])
            tokens = tokens[1:]
        except MacAddressError:
            mac = None
    return DhcpLine(
        kind="message",
        xid=xid,
        source=source,
        pid=pid,
        msg_type=msg_type,
        interface=interface,
        ip=ip,
        mac=mac,
        text=" ".join(tokens).strip(),
    )


def parse_line(line: str) -> DhcpLine | None:
    """Parse one dnsmasq line; ``None`` if it is not part of a DHCP exchange. Never raises.

    Startup and status lines (``started, version 2.90``, ``DHCP, proxy on subnet …``),
    errors, TFTP and router-advertisement lines return ``None``: the caller keeps them as raw
    log events.
    """
    try:
        if not isinstance(line, str):
            return None
        body, source, pid = _strip_prefix(line)
        if source and source not in ("dnsmasq", "dnsmasq-dhcp"):
            return None  # dnsmasq-tftp etc.: never ours to interpret here
        xid: int | None = None
        xid_match = _XID.match(body)
        if xid_match is not None and int(xid_match.group(1)) <= _MAX_XID:
            xid = int(xid_match.group(1))
            body = xid_match.group(2)
        message = _parse_message(xid, body, source, pid)
        if message is not None or xid is None:
            return message
        detail = _DETAIL.match(body)
        if detail is not None:
            name, value = detail.group(1).strip(), (detail.group(2) or "").strip()
        else:
            name, value = body.strip(), ""
        return DhcpLine(kind="detail", xid=xid, source=source, pid=pid, name=name, value=value)
    except Exception:  # defensive: the parser must never take the supervisor down
        return None


def requested_options(value: str) -> list[int]:
    """``1:netmask, 3:router, 4, 5, `` → ``[1, 3, 4, 5]`` (dnsmasq splits long lists)."""
    out: list[int] = []
    for item in value.split(","):
        match = _OPTION_NUMBER.match(item)
        if match is not None:
            out.append(int(match.group(1)))
    return out


@dataclass(slots=True)
class _Packet:
    """What dnsmasq logged about the client's packet (shared by request and reply lines)."""

    vendor_class: str = ""
    user_class: str = ""
    tags: tuple[str, ...] = ()
    requested: list[int] = field(default_factory=list)
    hostname: str = ""
    seen_message: bool = False


@dataclass(slots=True)
class _Pending:
    """A message line waiting for the detail lines that belong to it."""

    line: DhcpLine
    ts: float
    boot_file: str = ""
    next_server: str = ""


_PACKET_START = ("available DHCP subnet", "available DHCP range")
_CONSUMED = ("broadcast response", "server name", "requested options", "sent size")


class DhcpLogFolder:
    """Fold a stream of dnsmasq lines into events, one :class:`DhcpEvent` per message line.

    The rule, from how dnsmasq 2.90 logs one received packet (all in one go, in this order:
    ``available DHCP …``, ``vendor class:``, ``user class:``, the request's message line
    (full mode only), ``tags:``, the reply's message line, ``requested options:``,
    ``bootfile name:``, ``next server:``, ``sent size: … option: …``):

    * The *packet* details (vendor class, user class, tags, requested options, the host
      name the client provides) are shared
      by every message line of the packet: a ``DHCPDISCOVER`` and the ``DHCPOFFER`` it got
      both carry them.
    * The *reply* details (``bootfile name``, ``next server``, option 67/66 in ``sent``) go
      to the last message line seen.
    * A message line's event is emitted when the next message line arrives, when the
      packet ends (a line of another xid, a new ``available DHCP …`` / vendor / user class
      line after a message line, a line without xid) or on :meth:`flush`, which the
      supervisor calls after :data:`FLUSH_AFTER` seconds without output and at EOF.
    * Lines that are not part of a DHCP exchange, and detail lines we do not understand,
      become :class:`RawLogEvent` s at once — never dropped. Only known noise (``sent size``,
      ``broadcast response`` …) is consumed silently.
    """

    def __init__(self, *, source: str = "dnsmasq", clock: Callable[[], float] = time.time):
        self._source = source
        self._clock = clock
        self._xid: int | None = None
        self._open = False
        self._packet = _Packet()
        self._pending: _Pending | None = None

    @property
    def has_pending(self) -> bool:
        """True while a message line is waiting for its block to end."""
        return self._pending is not None

    def feed(self, line: str) -> list[Event]:
        """Take one line; return the events that became complete (possibly none)."""
        parsed = parse_line(line)
        if parsed is None:
            out = self.flush()
            text = line.rstrip("\r\n") if isinstance(line, str) else ""
            if text.strip():
                out.append(RawLogEvent(source=self._source, line=clean(text, 400)))
            return out
        out = []
        if not self._open or parsed.xid != self._xid or parsed.xid is None:
            out.extend(self.flush())
            self._xid, self._open = parsed.xid, True
        if parsed.kind == "message":
            if self._pending is not None:
                out.append(self._emit(self._pending))
            self._pending = _Pending(line=parsed, ts=self._clock())
            self._packet.seen_message = True
            return out
        out.extend(self._detail(parsed, line))
        return out

    def flush(self) -> list[Event]:
        """End the open block: emit the waiting message line, forget the packet."""
        out: list[Event] = []
        if self._pending is not None:
            out.append(self._emit(self._pending))
        self._pending = None
        self._packet = _Packet()
        self._open = False
        return out

    def _detail(self, parsed: DhcpLine, raw: str) -> list[Event]:
        name, value = parsed.name, parsed.value
        out: list[Event] = []
        starts_packet = name in _PACKET_START or name in ("vendor class", "user class")
        if starts_packet and self._packet.seen_message:
            xid = self._xid
            out.extend(self.flush())
            self._xid, self._open = xid, True
        if name in _PACKET_START:
            return out
        if name == "vendor class":
            self._packet.vendor_class = clean(value)
        elif name == "user class":
            self._packet.user_class = clean(value)
        elif name == "tags":
            self._packet.tags = tuple(clean(t.strip(), 64) for t in value.split(",") if t.strip())
        elif name == "client provides name":
            self._packet.hostname = clean(value, 64)
        elif name == "requested options":
            self._packet.requested.extend(requested_options(value))
        elif name == "bootfile name":
            if self._pending is not None:
                self._pending.boot_file = clean(value)
        elif name == "next server":
            if self._pending is not None:
                self._pending.next_server = clean(value, 64)
        elif name == "sent size":
            self._sent_option(value)
        elif name not in _CONSUMED:
            out.append(RawLogEvent(source=self._source, line=clean(raw.rstrip("\r\n"), 400)))
        return out

    def _sent_option(self, value: str) -> None:
        match = _SENT.match("size: " + value)
        if match is None or self._pending is None:
            return
        option, text = int(match.group(1)), match.group(3).strip()
        if option == 67 and not self._pending.boot_file:
            self._pending.boot_file = clean(text)
        elif option == 66 and not self._pending.next_server:
            self._pending.next_server = clean(text, 64)

    def _emit(self, pending: _Pending) -> DhcpEvent:
        line, packet = pending.line, self._packet
        arch = client_arch(packet.vendor_class, packet.tags)
        firmware = guess_firmware(
            packet.vendor_class,
            packet.user_class,
            arch=arch,
            requested_options=packet.requested,
        )
        return DhcpEvent(
            ts=pending.ts,
            xid=line.xid,
            msg_type=line.msg_type,
            interface=clean(line.interface, 64),
            ip=line.ip,
            mac=line.mac,
            text=clean(line.text),
            vendor_class=packet.vendor_class,
            user_class=packet.user_class,
            arch=arch,
            firmware=firmware,
            tags=packet.tags,
            boot_file=pending.boot_file,
            next_server=pending.next_server,
            hostname=packet.hostname,
        )
