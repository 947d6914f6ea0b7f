"""Per-machine boots, folded from DHCP and file-transfer events.

The operator's question is "where is machine X in its boot, and if it is stuck, why?". DHCP
events name a MAC; TFTP/HTTP events only an IP (see :mod:`pxetui.core.correlate`). The
tracker folds both into one :class:`ClientState` per machine (all NICs of a profile host fold
into the host's row) holding its recent :class:`~pxetui.core.boot.Boot` records. When a boot
starts and ends is decided by :mod:`pxetui.core.boot_rules`; what a DHCP line or a request
means for a boot by :mod:`pxetui.core.boot_dhcp` and :mod:`pxetui.core.boot_requests`; the
hints' words live in :mod:`pxetui.core.hints`.

Pure: time comes from the events (and from :meth:`ClientTracker.tick`), the only outside
knowledge is an optional ``neighbor`` lookup (the kernel's ARP table) the engine injects.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

from pxetui.core import boot_dhcp as dhcp
from pxetui.core import boot_requests as requests
from pxetui.core import boot_rules as rules
from pxetui.core import hints
from pxetui.core.boot import ENDED, Boot, Outcome
from pxetui.core.boot_stage import Stage, StageMap, normalize
from pxetui.core.client_state import ClientState, arch_label
from pxetui.core.correlate import Pending, correlate
from pxetui.core.events import (
    DhcpEvent,
    Event,
    FileNotFound,
    RequestRefused,
    SizeProbe,
    TransferEvent,
    TransferFailed,
    TransferFinished,
    TransferProgress,
)
from pxetui.core.mac import MacAddress
from pxetui.core.tracker_ticks import tick_boot
from pxetui.core.wording import clock

_FileEvent = TransferEvent | FileNotFound | RequestRefused

_UNMATCHED_PER_IP = 16
_TRANSFERS_REMEMBERED = 4096
MAX_CLIENTS = 5000
# Hints whose condition is "nothing was fetched": any request ends them.
_WAITING = ("ra_wait", "no_loader_fetch", "loader_silent", "dhcp_race_lost")


class ClientTracker:
    """Folds events into :class:`ClientState` per machine; tells the caller what changed."""

    def __init__(
        self,
        stages: StageMap | None = None,
        *,
        neighbor: Callable[[str], MacAddress | None] | None = None,
    ) -> None:
        self._stages = stages or StageMap()
        self._neighbor = neighbor
        self._clients: dict[MacAddress, ClientState] = {}
        self._ip_mac: dict[str, MacAddress] = {}
        self._transfer_mac: dict[str, MacAddress] = {}
        self._unmatched: dict[str, deque[_FileEvent]] = {}
        self._assigned: dict[MacAddress, tuple[str | None, bool, str | None]] = {}
        self._nic_host: dict[MacAddress, MacAddress] = {}
        self._default: str | None = None
        self.max_clients = MAX_CLIENTS

    # --- queries -------------------------------------------------------------------------

    @property
    def stages(self) -> StageMap:
        """What the current profile's files mean (kernels, initrds, images, menus)."""
        return self._stages

    def get(self, mac: MacAddress) -> ClientState | None:
        """The machine *mac* belongs to (any of its NICs)."""
        return self._clients.get(self._nic_host.get(mac, mac))

    def clients(self) -> list[ClientState]:
        return sorted(self._clients.values(), key=lambda c: c.first_seen)

    def mac_for_transfer(self, transfer_id: str) -> MacAddress | None:
        return self._transfer_mac.get(transfer_id)

    def mac_for_ip(self, ip: str) -> MacAddress | None:
        return self._ip_mac.get(ip)

    def boot_completed(self, mac: MacAddress) -> bool:
        """Did the latest boot of a one-shot assignment end (handed over or local)?"""
        client = self.get(mac)
        boot = client.boot if client is not None else None
        return (
            client is not None
            and boot is not None
            and boot.once
            and boot.outcome in ENDED
            and boot.entry == client.entry
        )

    # --- configuration -------------------------------------------------------------------

    def abandon_running(self, reason: str) -> set[MacAddress]:
        """Mark transfers still shown as running as failed (their server went away)."""
        changed: set[MacAddress] = set()
        for client in self._clients.values():
            boot = client.boot
            if boot is None:
                continue
            for view in boot.transfers:
                if view.state == "running":
                    view.state = "failed"
                    changed.add(client.mac)
            if client.mac in changed:
                boot.last_error = reason
        return changed

    def set_stages(self, stages: StageMap) -> None:
        """A reloaded profile changes which files are kernels, initrds and images."""
        self._stages = stages

    def set_default(self, entry: str | None) -> set[MacAddress]:
        """The entry unassigned clients boot; returns the clients whose entry changed."""
        self._default = entry
        changed: set[MacAddress] = set()
        for client in self._clients.values():
            if client.mac not in self._assigned and client.entry != entry:
                client.entry, client.once = entry, False
                changed.add(client.mac)
        return changed

    def set_nics(self, host: MacAddress, nics: Iterable[MacAddress]) -> set[MacAddress]:
        """*nics* are other NICs of the machine *host*: their events fold into its row."""
        changed: set[MacAddress] = set()
        for nic, owner in list(self._nic_host.items()):
            if owner == host:
                del self._nic_host[nic]
        for nic in nics:
            if nic == host:
                continue
            self._nic_host[nic] = host
            stray = self._clients.pop(nic, None)
            if stray is not None:  # seen before the profile said whose NIC it is
                self._merge(host, stray)
                changed.add(host)
            for ip, mac in list(self._ip_mac.items()):
                if mac == nic:
                    self._ip_mac[ip] = host
        return changed

    def clear_assignment(self, mac: MacAddress) -> bool:
        """*mac* lost its assignment and boots the default again."""
        self._assigned.pop(mac, None)
        client = self._clients.get(mac)
        if client is None or (client.entry, client.once) == (self._default, False):
            return False
        client.entry, client.once = self._default, False
        return True

    def set_hostname(self, mac: MacAddress, hostname: str) -> bool:
        """A name learnt elsewhere (reverse DNS); the profile's hostname wins over it."""
        client = self.get(mac)
        if client is None or client.hostname:
            return False
        client.hostname = hostname
        return True

    def set_assignment(
        self, mac: MacAddress, entry: str | None, once: bool, hostname: str | None = None
    ) -> bool:
        """The engine's view of what *mac* boots; returns True if a known client changed.

        A running boot that has not read its config yet boots the new assignment; one that
        has keeps what its files said (a one-shot completes only for what it really booted).
        """
        self._assigned[mac] = (entry, once, hostname)
        client = self._clients.get(mac)
        if client is None:
            return False
        before = (client.entry, client.once, client.hostname)
        client.entry, client.once = entry, once
        client.hostname = hostname or client.hostname
        boot = client.boot
        if boot is not None and boot.active and boot.config_at is None:
            boot.entry, boot.once = entry, once
        return before != (client.entry, client.once, client.hostname)

    # --- folding -------------------------------------------------------------------------

    def apply(self, event: Event) -> set[MacAddress]:
        """Fold one event; return the MACs (rows) whose state changed."""
        if isinstance(event, DhcpEvent):
            return self._dhcp(event)
        if isinstance(event, TransferEvent | FileNotFound | RequestRefused):
            return self._file_event(event)
        return set()

    def tick(self, now: float) -> set[MacAddress]:
        """Time-based facts: waits that became hints, menus that timed out, stalled boots."""
        changed: set[MacAddress] = set()
        for client in self._clients.values():
            boot = client.boot
            if boot is not None and boot.active and tick_boot(boot, self._stages, now):
                changed.add(client.mac)
        return changed

    # --- clients and boots ---------------------------------------------------------------

    def _row(self, mac: MacAddress) -> MacAddress:
        return self._nic_host.get(mac, mac)

    def _client(self, mac: MacAddress, ts: float) -> ClientState:
        client = self._clients.get(mac)
        if client is None:
            entry, once, hostname = self._assigned.get(mac, (self._default, False, None))
            client = ClientState(mac=mac, first_seen=ts, last_seen=ts, entry=entry, once=once)
            client.hostname = hostname
            client.macs.append(mac)
            if len(self._clients) >= self.max_clients:  # runs for days: forget the stalest
                stalest = min(self._clients.values(), key=lambda c: c.last_seen)
                del self._clients[stalest.mac]
            self._clients[mac] = client
        client.last_seen = max(client.last_seen, ts)
        return client

    def _merge(self, host: MacAddress, stray: ClientState) -> None:
        client = self._client(host, stray.first_seen)
        client.first_seen = min(client.first_seen, stray.first_seen)
        client.last_seen = max(client.last_seen, stray.last_seen)
        for nic in stray.macs:
            if nic not in client.macs:
                client.macs.append(nic)
        boots = sorted([*client.boots, *stray.boots], key=lambda b: b.started)
        client.boots.clear()
        for n, boot in enumerate(boots[-client.boots.maxlen :] if client.boots.maxlen else boots):
            boot.n = n + 1
            client.boots.append(boot)
        client.boots_started = len(client.boots)
        client.ip = client.ip or stray.ip

    def _start_boot(self, client: ClientState, nic: MacAddress, ts: float) -> Boot:
        """Close the running boot (if any) and start the next one."""
        carried: hints.Hint | None = None
        prev = client.boot
        if prev is not None and prev.active:
            refused = rules.loader_refused_by(prev, ts, hints.LOADER_REFUSED_S)
            if refused is not None:
                carried = hints.loader_refused(refused[0], refused[1], ts, prev.firmware)
                prev.add_hint(carried)
            failed = any(h.severity == "error" for h in prev.hints.values())
            stalled = ts - prev.last_event >= rules.STALL_S
            outcome: Outcome = "failed" if failed else "stalled" if stalled else "superseded"
            prev.end(outcome, ts, f"boot #{prev.n + 1} started at {clock(ts)}")
        boot = client.new_boot(nic, ts)
        if carried is not None:  # holds until this boot gets past its loader
            boot.add_hint(carried)
        return boot

    def _context(self, client: ClientState) -> requests.RequestContext:
        return requests.RequestContext(self._stages, client.entry, client.once, self._default)

    # --- DHCP ----------------------------------------------------------------------------

    def _dhcp(self, event: DhcpEvent) -> set[MacAddress]:
        if event.mac is None:
            return set()
        nic, ts = event.mac, event.ts
        row = self._row(nic)
        client = self._client(row, ts)
        msg = event.msg_type.upper()
        firmware = dhcp.firmware_of(event)
        from_firmware = dhcp.from_firmware(event, firmware)
        boot = client.boot
        if from_firmware and (
            boot is None
            or (
                # only the first line of an exchange, and not one already seen, can start a
                # boot: dnsmasq's lines can be read after the files they led to
                dhcp.first_step(event, msg)
                and not rules.same_exchange(boot, event.xid, ts)
                and rules.dhcp_starts_boot(boot, nic, firmware, ts)
            )
        ):
            boot = self._start_boot(client, nic, ts)
        client.last_dhcp, client.last_nic = ts, nic
        if event.vendor_class:
            client.vendor_class = event.vendor_class
        if msg == "DHCPACK" and event.ip:
            client.ip = event.ip
        if msg == "DHCPACK" and not client.hostname and dhcp.HOSTNAME.fullmatch(event.text):
            client.hostname = event.text  # dnsmasq logs the name the client sent (option 12)
        changed = {row}
        if event.ip and msg in ("DHCPOFFER", "DHCPACK", "DHCPREQUEST", "PXE"):
            changed |= self._learn_ip(row, event.ip, shown=msg != "DHCPOFFER")
        if boot is None:
            return changed
        boot.last_event = max(boot.last_event, ts)
        boot.dhcp.append(dhcp.step(event, msg, firmware))
        if from_firmware:
            boot.saw_firmware(firmware)
            if event.arch is not None:
                boot.arch, boot.arch_code = arch_label(event.arch), event.arch
                requests.check_arch(boot, self._stages, ts)
        if from_firmware or boot.active:  # not the booted OS's own DHCP client
            dhcp.exchange(boot, event, msg, firmware, nic, ts)
        return changed

    def _learn_ip(self, mac: MacAddress, ip: str, shown: bool = True) -> set[MacAddress]:
        """Pair *ip* with *mac*, then replay transfers that came from it before we knew.

        An offered address pairs for correlation but is not shown as the client's address
        until the client takes it (a client may take another server's offer).
        """
        old = self._ip_mac.get(ip)
        self._ip_mac[ip] = mac
        client = self._clients.get(mac)
        if client is not None and shown:
            client.ip = ip
        changed: set[MacAddress] = set()
        backlog = self._unmatched.pop(ip, None)
        if old != mac and backlog:
            for event in backlog:
                changed |= self._file_event(event)
        return changed

    # --- files ---------------------------------------------------------------------------

    def _pending(self) -> list[Pending]:
        return [
            Pending(c.mac, c.last_dhcp)
            for c in self._clients.values()
            if c.ip is None and c.last_dhcp > 0
        ]

    def _resolve(self, event: _FileEvent) -> MacAddress | None:
        if isinstance(event, TransferEvent):
            known = self._transfer_mac.get(event.transfer_id)
            if known is not None:
                return known
        ip_map: dict[str, MacAddress] = dict(self._ip_mac)
        if event.client_ip not in ip_map and self._neighbor is not None:
            found = self._neighbor(event.client_ip)
            if found is not None:
                ip_map[event.client_ip] = found
        verdict = correlate(
            event.client_ip, event.filename, event.ts, known=ip_map, pending=self._pending()
        )
        return None if verdict.mac is None else self._row(verdict.mac)

    def _file_event(self, event: _FileEvent) -> set[MacAddress]:
        mac = self._resolve(event)
        if mac is None:
            backlog = self._unmatched.setdefault(event.client_ip, deque(maxlen=_UNMATCHED_PER_IP))
            if not isinstance(event, TransferProgress):
                backlog.append(event)
            return set()
        changed = {mac}
        client = self._client(mac, event.ts)
        if self._ip_mac.get(event.client_ip) != mac:
            changed |= self._learn_ip(mac, event.client_ip)
        name = normalize(event.filename)
        stage = self._stages.classify(name)
        boot = self._boot_for_request(client, event, name, stage)
        boot.last_event = max(boot.last_event, event.ts)
        if isinstance(event, TransferEvent):
            self._transfer_mac[event.transfer_id] = mac
            if len(self._transfer_mac) > _TRANSFERS_REMEMBERED:  # runs for days: stay bounded
                del self._transfer_mac[next(iter(self._transfer_mac))]
            requests.transfer(boot, event, name, stage, self._context(client))
        elif isinstance(event, FileNotFound):
            requests.miss(boot, event, name, stage)
        else:
            requests.refused(boot, event, name)
        return changed

    def _boot_for_request(
        self, client: ClientState, event: _FileEvent, name: str, stage: Stage
    ) -> Boot:
        boot = client.boot
        opening = not isinstance(event, TransferProgress | TransferFinished | TransferFailed)
        if boot is None or (
            opening
            and rules.fetch_starts_boot(boot, name, stage, isinstance(event, SizeProbe), event.ts)
        ):
            boot = self._start_boot(client, client.last_nic or client.mac, event.ts)
        if opening:
            boot.last_fetch = event.ts
            for code in _WAITING:
                boot.clear(code)
        return boot
