"""What the console knows about the engine, folded from its event stream.

The subscription thread folds every event in here (cheap: a dict update and a deque append);
the screen drains the *changes* at most ~10 times a second. Everything is bounded — the event
ring, each client's log ring and the number of clients we keep logs for — so 5,000 events/s
for hours costs the same memory as for a minute. The per-client state itself is the engine
tracker's client row, read once at this boundary into a typed
:class:`~pxetui.core.wire.ClientRow` (``ClientUpdated.state``): the engine folds, the console
shows.

Pure (no Textual, no sockets) so it can be tested on its own.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

from pxetui.core.correlate import mac_in_filename
from pxetui.core.events import (
    AssignmentChanged,
    ClientUpdated,
    DhcpEvent,
    Event,
    FileNotFound,
    RequestRefused,
    ServiceEvent,
    TransferEvent,
    TransferProgress,
    event_from_dict,
    event_to_dict,
)
from pxetui.core.mac import MacAddress
from pxetui.core.wire import ClientRow

EVENT_RING = 2_000
"""All-events ring: what the event log can scroll back to."""
CLIENT_LOG_RING = 50
"""Lines kept per client for its live log (``history`` fills in older ones on demand)."""
CLIENT_LOGS_KEPT = 1_000
"""Clients whose logs we keep; the least recently active lose theirs first. With the ring
above that caps the per-client logs at 50,000 events (measured ~0.5 KB each in RSS)
however long it runs."""
UNROUTED_PER_IP = 16
UNROUTED_IPS = 256
"""File events from an IP whose MAC we do not know yet wait here (bounded) until a client
state names that IP: the engine's ClientUpdated can arrive after the transfer's events."""


@dataclass
class Changes:
    """What happened since the last drain: only the latest state of each changed client."""

    clients: dict[MacAddress, ClientRow] = field(default_factory=dict)
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    events_dropped: int = 0
    logs: dict[MacAddress, list[Event]] = field(default_factory=dict)
    """New log lines per client since the last drain (each capped at the client ring)."""
    past: list[Event] = field(default_factory=list)
    """The engine's recent events from a (re)attach snapshot, oldest first: what happened
    before this console was listening (the all-events log starts with them)."""
    meta: dict[str, Any] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(
            self.clients or self.services or self.events or self.logs or self.meta or self.past
        ) or bool(self.events_dropped)


def client_mac_of(event: Event, ip_to_mac: dict[str, MacAddress]) -> MacAddress | None:
    """The client an event is about: its MAC, the MAC its per-MAC file names, or the MAC
    last seen with its IP (the engine's tracker decides for the table; this only routes
    log lines, with the same first two rules of :mod:`pxetui.core.correlate`)."""
    mac = getattr(event, "mac", None)
    if isinstance(mac, MacAddress):
        return mac
    if isinstance(event, TransferEvent | FileNotFound | RequestRefused):
        return mac_in_filename(event.filename) or ip_to_mac.get(event.client_ip)
    return None


def past_events(raw: object) -> list[Event]:
    """Decode a snapshot's ``recent_events`` (older engines send none: an empty list).

    Kinds this console does not know, and the ones shown as state rather than as lines
    (an engine never sends them here, but a log must not depend on that), are skipped."""
    past: list[Event] = []
    for item in raw if isinstance(raw, list) else ():
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            event = event_from_dict(item)
            if not isinstance(event, TransferProgress | ClientUpdated):
                past.append(event)
    return past


class ConsoleState:
    """Thread-safe fold of the engine's snapshot and events, drained by the UI."""

    def __init__(self, event_ring: int = EVENT_RING, client_log_ring: int = CLIENT_LOG_RING):
        self._lock = threading.Lock()
        self._event_ring = event_ring
        self._client_log_ring = client_log_ring
        self.clients: dict[MacAddress, ClientRow] = {}
        self.services: dict[str, dict[str, Any]] = {}
        self.profile: dict[str, Any] = {}
        self.entries: dict[str, dict[str, Any]] = {}
        self.assignments: dict[str, dict[str, Any]] = {}
        self.unknown: str = ""
        self.events: deque[Event] = deque(maxlen=event_ring)
        self.logs: OrderedDict[MacAddress, deque[Event]] = OrderedDict()
        self.ip_to_mac: dict[str, MacAddress] = {}
        self._unrouted: OrderedDict[str, deque[Event]] = OrderedDict()
        self.events_total = 0
        self._pending = Changes()
        self._pending_events: deque[Event] = deque(maxlen=event_ring)

    # --- writers (the subscription thread) -------------------------------------------------

    def load_snapshot(self, snapshot: dict[str, Any]) -> None:
        """Replace everything with the engine's ``state``/``subscribe`` result."""
        past = past_events(snapshot.get("recent_events"))  # decoded outside the lock
        with self._lock:
            self.profile = dict(snapshot.get("profile") or {})
            self.services = {k: dict(v) for k, v in (snapshot.get("services") or {}).items()}
            self.entries = dict(snapshot.get("entries") or {})
            self.assignments = dict(snapshot.get("assignments") or {})
            self.unknown = str(snapshot.get("unknown") or "")
            self.clients = {}
            self.ip_to_mac = {}
            for raw in snapshot.get("clients") or []:
                if not isinstance(raw, dict):
                    continue
                try:
                    mac = MacAddress.parse(str(raw.get("mac", "")))
                except ValueError:
                    continue
                self._set_client(mac, ClientRow.from_dict(raw))
            if past:
                # Whatever is still pending from before a re-attach is in the engine's ring
                # too: the event log takes it from there (Changes.past), not twice.
                self._pending_events.clear()
                newest = self.events[-1].ts if self.events else None
                self.events.extend(e for e in past if newest is None or e.ts > newest)
            self._pending = Changes(
                clients=dict(self.clients),
                services=dict(self.services),
                meta={"snapshot": True},
                past=past,
            )

    def fold(self, event: Event) -> None:
        """Fold one engine event in (called for every event: keep it cheap)."""
        with self._lock:
            self.events_total += 1
            pending = self._pending
            if isinstance(event, ClientUpdated):
                row = ClientRow.from_dict(event.state)
                self._set_client(event.mac, row)
                pending.clients[event.mac] = row
                return  # state, not a log line
            if isinstance(event, ServiceEvent):
                data = event_to_dict(event)
                self.services[event.service] = data
                pending.services[event.service] = data
            elif isinstance(event, AssignmentChanged):
                if event.entry is None:
                    self.assignments.pop(event.mac.colon, None)
                else:
                    self.assignments[event.mac.colon] = {
                        "entry": event.entry,
                        "once": event.once,
                        "source": event.reason,
                        "by": event.by,
                        "updated": event.ts,
                    }
                pending.meta["assignments"] = True
            mac = client_mac_of(event, self.ip_to_mac)
            if isinstance(event, DhcpEvent) and mac is not None and event.ip:
                self._learn_ip(event.ip, mac)
            if isinstance(event, TransferProgress):
                return  # shown as progress bars through ClientUpdated, not as lines
            self.events.append(event)
            if len(self._pending_events) == self._pending_events.maxlen:
                pending.events_dropped += 1
            self._pending_events.append(event)
            if mac is not None:
                self._log(mac, event)
            elif isinstance(event, TransferEvent | FileNotFound | RequestRefused):
                waiting = self._unrouted.get(event.client_ip)
                if waiting is None:
                    waiting = self._unrouted[event.client_ip] = deque(maxlen=UNROUTED_PER_IP)
                    while len(self._unrouted) > UNROUTED_IPS:
                        self._unrouted.popitem(last=False)
                waiting.append(event)

    def _log(self, mac: MacAddress, event: Event) -> None:
        log = self.logs.get(mac)
        if log is None:
            log = self.logs[mac] = deque(maxlen=self._client_log_ring)
            while len(self.logs) > CLIENT_LOGS_KEPT:
                self.logs.popitem(last=False)
        else:
            self.logs.move_to_end(mac)
        log.append(event)
        fresh = self._pending.logs.setdefault(mac, [])
        fresh.append(event)
        if len(fresh) > self._client_log_ring:
            del fresh[: len(fresh) - self._client_log_ring]

    def fold_client(self, mac: MacAddress, state: Any) -> None:
        """:meth:`fold` for ``ClientUpdated`` without building the event (the hot path)."""
        # Parsed outside the lock: the UI thread never waits on it.
        row = ClientRow.from_dict(state if isinstance(state, dict) else {})
        with self._lock:
            self.events_total += 1
            self._set_client(mac, row)
            self._pending.clients[mac] = row

    def fold_clients(self, rows: list[tuple[MacAddress, Any]]) -> None:
        """:meth:`fold_client` for a tick's rows at once: parsed outside the lock, folded
        under it once."""
        parsed = [(mac, ClientRow.from_dict(s if isinstance(s, dict) else {})) for mac, s in rows]
        with self._lock:
            self.events_total += len(parsed)
            pending = self._pending.clients
            for mac, row in parsed:
                self._set_client(mac, row)
                pending[mac] = row

    def note_tick(self, coalesced: int, skipped: int) -> None:
        """Events the engine did not send this tick: rows replaced by newer ones (counted)
        and log lines left out under a flood (counted, and said in the event log)."""
        with self._lock:
            self.events_total += coalesced + skipped
            self._pending.events_dropped += skipped

    def count_only(self) -> None:
        """An event the console shows through other events (transfer progress)."""
        with self._lock:
            self.events_total += 1

    def set_meta(self, **values: Any) -> None:
        """Link facts (attached, lost, error text) that the service bar shows."""
        with self._lock:
            self._pending.meta.update(values)

    def _set_client(self, mac: MacAddress, row: ClientRow) -> None:
        self.clients[mac] = row
        if row.ip:
            self._learn_ip(row.ip, mac)

    def _learn_ip(self, ip: str, mac: MacAddress) -> None:
        """Route by *ip* from now on, and hand over what waited for it."""
        self.ip_to_mac[ip] = mac
        if self._unrouted:
            for event in self._unrouted.pop(ip, ()):
                self._log(mac, event)

    # --- readers (the UI thread) ----------------------------------------------------------

    def drain(self) -> Changes:
        """Take what changed since the last drain (bounded by the rings)."""
        with self._lock:
            changes = self._pending
            changes.events = list(self._pending_events)
            self._pending_events.clear()
            self._pending = Changes()
            return changes

    def client_log(self, mac: MacAddress) -> list[Event]:
        with self._lock:
            log = self.logs.get(mac)
            return list(log) if log is not None else []

    def client(self, mac: MacAddress) -> ClientRow | None:
        with self._lock:
            return self.clients.get(mac)

    def log_lines_kept(self) -> int:
        """Lines held in all per-client logs (the bench watches it level off)."""
        with self._lock:
            return sum(len(log) for log in self.logs.values())

    def recent_events(self, limit: int) -> list[Event]:
        with self._lock:
            return list(self.events)[-limit:]
