"""Facts the engine reports, as frozen records that serialise to JSON.

Every event has a ``kind`` (its JSON tag) and a ``ts`` (``time.time()`` when it happened).
The same records flow through the engine's bus, the headless JSON-lines log, the control API
and the TUI, so they stay plain: strings, numbers, tuples, MACs as ``MacAddress``.
Client-controlled strings (filenames, vendor classes, hostnames) must already be passed
through :func:`pxetui.core.sanitize.clean` by whoever builds the event.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pxetui.core.mac import MacAddress

Proto = Literal["tftp", "http"]
ServiceName = Literal["dhcp", "tftp", "http", "engine", "store"]
ServiceState = Literal["starting", "running", "restarting", "stopped", "failed", "disabled"]


def _now() -> float:
    return time.time()


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of every engine fact."""

    kind: ClassVar[str] = "event"
    ts: float = field(default_factory=_now)


# --- file transfers (TFTP and HTTP) -------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferEvent(Event):
    """Common fields: which transfer, to whom, which file."""

    transfer_id: str
    proto: Proto
    client_ip: str
    client_port: int = 0
    filename: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferStarted(TransferEvent):
    kind: ClassVar[str] = "transfer_started"
    size: int | None = None
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferProgress(TransferEvent):
    """Coalesced by the producer: at most ~10 per second per transfer."""

    kind: ClassVar[str] = "transfer_progress"
    bytes_sent: int
    size: int | None = None
    rate_bps: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferFinished(TransferEvent):
    kind: ClassVar[str] = "transfer_finished"
    bytes_sent: int
    seconds: float
    retransmits: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferFailed(TransferEvent):
    kind: ClassVar[str] = "transfer_failed"
    reason: str
    bytes_sent: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class SizeProbe(TransferEvent):
    """UEFI asks for tsize, then aborts with ERROR 8 after the OACK: normal, not a failure."""

    kind: ClassVar[str] = "size_probe"
    size: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FileNotFound(Event):
    """A miss. Misses show the firmware's lookup trail, so every one is recorded."""

    kind: ClassVar[str] = "file_not_found"
    proto: Proto
    client_ip: str
    client_port: int = 0
    filename: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestRefused(Event):
    """A request refused for safety (write, path escape, unreadable, bad option, cap)."""

    kind: ClassVar[str] = "request_refused"
    proto: Proto
    client_ip: str
    client_port: int = 0
    filename: str
    reason: str


# --- DHCP (parsed from dnsmasq --log-dhcp) -------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class DhcpEvent(Event):
    """One DHCP exchange step as dnsmasq logged it, with the detail lines of the same xid.

    ``msg_type`` is dnsmasq's word: DHCPDISCOVER, DHCPOFFER, DHCPREQUEST, DHCPACK, DHCPNAK,
    PXE (proxy answer), … ``arch`` is DHCP option 93 when known (vendor class
    ``PXEClient:Arch:00007:…`` or dnsmasq's tags), ``firmware`` a best guess (``PXE ROM``,
    ``iPXE``, ``EDK2``, ``s390-ccw`` …).
    """

    kind: ClassVar[str] = "dhcp"
    xid: int | None = None
    msg_type: str
    interface: str = ""
    ip: str | None = None
    mac: MacAddress | None = None
    text: str = ""
    vendor_class: str = ""
    user_class: str = ""
    arch: int | None = None
    firmware: str = ""
    tags: tuple[str, ...] = ()
    boot_file: str = ""
    next_server: str = ""
    hostname: str = ""  # option 12 as the client sent it ("client provides name:"), cleaned


@dataclass(frozen=True, slots=True, kw_only=True)
class RawLogEvent(Event):
    """A child's log line we did not recognise. Kept, never dropped."""

    kind: ClassVar[str] = "raw_log"
    source: str
    line: str


# --- services, assignments, client state ---------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceEvent(Event):
    """A supervised service changed state; ``message`` says why in words."""

    kind: ClassVar[str] = "service"
    service: ServiceName
    state: ServiceState
    address: str = ""
    pid: int | None = None
    restarts: int = 0
    message: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class AssignmentChanged(Event):
    """A MAC got a new entry (or ``entry=None``: unassigned). ``reason``: operator, once, …"""

    kind: ClassVar[str] = "assignment"
    mac: MacAddress
    entry: str | None
    once: bool = False
    reason: str = "operator"
    by: str = ""
    """Who: ``alice (uid 1001)`` as the kernel named the control-socket peer; empty for the
    engine's own changes (a one-shot done)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BootFilesWritten(Event):
    """The store wrote (or, with ``removed``, deleted) these files, relative to their root."""

    kind: ClassVar[str] = "boot_files"
    mac: MacAddress | None
    entry: str | None
    files: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientUpdated(Event):
    """The tracker's new view of one client (a JSON-ready dict, see engine tracker)."""

    kind: ClassVar[str] = "client"
    mac: MacAddress
    state: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineMessage(Event):
    """A sentence for the operator: profile reloaded, profile rejected, …"""

    kind: ClassVar[str] = "message"
    level: Literal["info", "warning", "error"] = "info"
    text: str


# --- JSON ----------------------------------------------------------------------------------

EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        TransferStarted,
        TransferProgress,
        TransferFinished,
        TransferFailed,
        SizeProbe,
        FileNotFound,
        RequestRefused,
        DhcpEvent,
        RawLogEvent,
        ServiceEvent,
        AssignmentChanged,
        BootFilesWritten,
        ClientUpdated,
        EngineMessage,
    )
}


def _plain(value: Any) -> Any:
    if isinstance(value, MacAddress):
        return value.colon
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def event_to_dict(event: Event) -> dict[str, Any]:
    """``{"kind": ..., "ts": ..., <fields>}`` with MACs as colon strings."""
    out: dict[str, Any] = {"kind": event.kind}
    for f in dataclasses.fields(event):
        out[f.name] = _plain(getattr(event, f.name))
    return out


def event_from_dict(data: dict[str, Any]) -> Event:
    """Inverse of :func:`event_to_dict`. Unknown kinds raise ``ValueError``."""
    kind = data.get("kind")
    cls = EVENT_TYPES.get(str(kind))
    if cls is None:
        raise ValueError(f"unknown event kind: {kind!r}")
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        if f.name == "mac" and value is not None:
            value = MacAddress.parse(value)
        elif f.name in ("tags", "files", "removed") and value is not None:
            value = tuple(value)
        kwargs[f.name] = value
    return cls(**kwargs)
