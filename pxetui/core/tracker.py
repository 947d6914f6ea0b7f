"""Per-client boot state, folded from DHCP and file-transfer events.

The operator's question is "where is machine X in its boot, and if it is stuck, why?". DHCP
events name a MAC; TFTP/HTTP events only an IP (see :mod:`pxetui.core.correlate`). The
tracker folds both into one :class:`ClientState` per MAC: the furthest phase of the current
boot with a timestamp per phase, the last error, recent transfers, and hints in words.

Pure: time comes from the events (and from :meth:`ClientTracker.tick`), the only outside
knowledge is an optional ``neighbor`` lookup (the kernel's ARP table) the engine injects.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable

from pxetui.core import layout
from pxetui.core.arch import FW_EDK2, FW_EDK2_HTTP, FW_PXE_ROM, FW_S390_CCW
from pxetui.core.boot_stage import Stage, StageMap, delivered, normalize
from pxetui.core.client_hints import (
    BIG_OVER_TFTP,
    IPXE_SILENT_S,
    LOADER_WAIT_S,
    big_over_tftp_hint,
    ipxe_silent_hint,
    miss_then_default_hint,
    no_loader_hint,
    size_probe_hint,
)
from pxetui.core.client_state import RANK, ClientState, Phase, TransferView, arch_label
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
    TransferStarted,
)
from pxetui.core.mac import MacAddress

_FileEvent = TransferEvent | FileNotFound | RequestRefused

_STAGE_PHASE: dict[Stage, Phase] = {
    "loader": "loader",
    "config": "config",
    "kernel": "kernel",
    "initrd": "initrd",
    "root_image": "root_image",
}
_UNMATCHED_PER_IP = 16
_TRANSFERS_REMEMBERED = 4096
STALE_AFTER_S = 300.0
MAX_CLIENTS = 5000
_HOSTNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,62}")
_DEFAULT_CONFIGS = frozenset(
    {layout.PXELINUX_DEFAULT, layout.IPXE_DEFAULT, layout.GRUB_DEFAULT, layout.S390X_DEFAULT}
)
_DISPATCHERS = frozenset({layout.BOOT_IPXE, layout.GRUB_DISPATCHER})
_IPXE_LOADERS = frozenset({layout.UNDIONLY, layout.IPXE_EFI})
_BOOT_FIRMWARE = frozenset({FW_PXE_ROM, FW_EDK2, FW_EDK2_HTTP, FW_S390_CCW, "UEFI PXE"})


class ClientTracker:
    """Folds events into :class:`ClientState` per MAC; tells the caller which MACs changed."""

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
        self._default: str | None = None
        self.max_clients = MAX_CLIENTS

    # --- queries -------------------------------------------------------------------------

    def get(self, mac: MacAddress) -> ClientState | None:
        return self._clients.get(mac)

    def clients(self) -> list[ClientState]:
        return sorted(self._clients.values(), key=lambda c: c.first_seen)

    def mac_for_transfer(self, transfer_id: str) -> MacAddress | None:
        return self._transfer_mac.get(transfer_id)

    def mac_for_ip(self, ip: str) -> MacAddress | None:
        return self._ip_mac.get(ip)

    def boot_delivered(self, mac: MacAddress) -> bool:
        """Were the assigned entry's kernel + initrds (or root image) fully sent this boot?"""
        client = self._clients.get(mac)
        if client is None:
            return False
        needs = self._stages.needs(client.entry)
        return needs is not None and delivered(needs, client.finished_files)

    # --- configuration -------------------------------------------------------------------

    def abandon_running(self, reason: str) -> set[MacAddress]:
        """Mark transfers still shown as running as failed (their server went away)."""
        changed: set[MacAddress] = set()
        for client in self._clients.values():
            for view in client.transfers:
                if view.state == "running":
                    view.state = "failed"
                    changed.add(client.mac)
            if client.mac in changed:
                client.last_error = reason
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
        client = self._clients.get(mac)
        if client is None or client.hostname:
            return False
        client.hostname = hostname
        return True

    def set_assignment(
        self, mac: MacAddress, entry: str | None, once: bool, hostname: str | None = None
    ) -> bool:
        """The engine's view of what *mac* boots; returns True if a known client changed."""
        self._assigned[mac] = (entry, once, hostname)
        client = self._clients.get(mac)
        if client is None:
            return False
        before = (client.entry, client.once, client.hostname)
        if (client.entry, client.once) != (entry, once):
            # Delivery counts from the assignment on: files sent for the previous entry
            # must not complete a new one-shot.
            client.finished_files = set()
        client.entry, client.once = entry, once
        client.hostname = hostname or client.hostname
        return before != (client.entry, client.once, client.hostname)

    # --- folding -------------------------------------------------------------------------

    def apply(self, event: Event) -> set[MacAddress]:
        """Fold one event; return the MACs whose state changed."""
        if isinstance(event, DhcpEvent):
            return self._dhcp(event)
        if isinstance(event, TransferEvent | FileNotFound | RequestRefused):
            return self._file_event(event)
        return set()

    def tick(self, now: float) -> set[MacAddress]:
        """Time-based hints: silence after iPXE loaded, an offer never followed by a fetch."""
        changed: set[MacAddress] = set()
        for client in self._clients.values():
            if now - client.last_seen > STALE_AFTER_S:
                continue  # a machine gone for a while (or replayed from history): no new hints
            if (
                client.ipxe_loaded_at is not None
                and now - client.ipxe_loaded_at >= IPXE_SILENT_S
                and 0 < client.last_dhcp < client.ipxe_loaded_at  # we do see its DHCP
                and client.phase == "loader"  # and it fetched nothing since
                and client.hints.add(ipxe_silent_hint())
            ):
                changed.add(client.mac)
            offered = client.phases.get("offered")
            if (
                client.phase == "offered"
                and offered is not None
                and now - offered >= LOADER_WAIT_S
                and client.hints.add(no_loader_hint())
            ):
                changed.add(client.mac)
        return changed

    def _client(self, mac: MacAddress, ts: float) -> ClientState:
        client = self._clients.get(mac)
        if client is None:
            entry, once, hostname = self._assigned.get(mac, (self._default, False, None))
            client = ClientState(mac=mac, first_seen=ts, last_seen=ts, entry=entry, once=once)
            client.hostname = hostname
            client.phases["discovered"] = ts
            if len(self._clients) >= self.max_clients:  # runs for days: forget the stalest
                stalest = min(self._clients.values(), key=lambda c: c.last_seen)
                del self._clients[stalest.mac]
            self._clients[mac] = client
        client.last_seen = max(client.last_seen, ts)
        return client

    def _learn_ip(self, mac: MacAddress, ip: str) -> set[MacAddress]:
        """Pair *ip* with *mac*, then replay transfers that came from it before we knew."""
        old = self._ip_mac.get(ip)
        self._ip_mac[ip] = mac
        client = self._clients.get(mac)
        if client is not None:
            client.ip = ip
        changed: set[MacAddress] = set()
        backlog = self._unmatched.pop(ip, None)
        if old != mac and backlog:
            for event in backlog:
                changed |= self._file_event(event)
        return changed

    def _dhcp(self, event: DhcpEvent) -> set[MacAddress]:
        if event.mac is None:
            return set()
        mac, ts = event.mac, event.ts
        is_new = mac not in self._clients
        client = self._client(mac, ts)
        msg = event.msg_type.upper()
        ipxe = event.user_class == "iPXE" or event.firmware == "iPXE"
        # Boot firmware starting over means a new boot; the booted OS's own DHCP client
        # (udhcpc in an initrd, dhclient) does not.
        from_firmware = (
            event.vendor_class.startswith("PXEClient")
            or event.arch is not None
            or event.firmware in _BOOT_FIRMWARE
        )
        client_asks = msg in ("DHCPDISCOVER", "DHCPREQUEST") or (msg == "PXE" and not event.ip)
        if (
            not is_new
            and client_asks
            and from_firmware
            and not ipxe
            and RANK[client.phase] >= RANK["loader"]
        ):
            client.new_boot(ts)
        client.last_dhcp = ts
        if event.vendor_class:
            client.vendor_class = event.vendor_class
        if event.arch is not None:
            client.arch, client.arch_code = arch_label(event.arch), event.arch
        if ipxe:
            client.firmware = "iPXE"
        elif event.firmware and client.firmware != "iPXE":
            client.firmware = event.firmware
        if msg in ("DHCPDISCOVER", "DHCPREQUEST", "PXE"):
            client.reach("discovered", ts)
        if msg in ("DHCPOFFER", "DHCPACK", "PXE"):
            client.reach("offered", ts)
        if msg == "DHCPNAK":
            client.last_error = f"DHCPNAK {event.text}".strip()
        elif msg == "DHCPDISCOVER" and "no address" in event.text.lower():
            client.last_error = f"no address for it: {event.text}"
        elif msg == "DHCPACK" and not client.hostname and _HOSTNAME.fullmatch(event.text):
            client.hostname = event.text  # dnsmasq logs the name the client sent (option 12)
        changed = {mac}
        if event.ip and msg in ("DHCPOFFER", "DHCPACK", "DHCPREQUEST", "PXE"):
            changed |= self._learn_ip(mac, event.ip)
        return changed

    def _pending(self) -> list[Pending]:
        return [
            Pending(c.mac, c.last_dhcp)
            for c in self._clients.values()
            if c.ip is None and c.last_dhcp > 0
        ]

    def _resolve(self, event: TransferEvent | FileNotFound | RequestRefused) -> MacAddress | None:
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
        return verdict.mac

    def _file_event(self, event: TransferEvent | FileNotFound | RequestRefused) -> set[MacAddress]:
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
        if isinstance(event, TransferEvent):
            self._transfer_mac[event.transfer_id] = mac
            if len(self._transfer_mac) > _TRANSFERS_REMEMBERED:  # runs for days: stay bounded
                del self._transfer_mac[next(iter(self._transfer_mac))]
            self._transfer(client, event)
        elif isinstance(event, FileNotFound):
            self._miss(client, event)
        else:
            client.last_error = f"refused {event.filename}: {event.reason}"
        return changed

    def _transfer(self, client: ClientState, event: TransferEvent) -> None:
        view = next((t for t in client.transfers if t.transfer_id == event.transfer_id), None)
        if view is None:
            view = TransferView(event.transfer_id, event.proto, event.filename, started=event.ts)
            client.transfers.append(view)
        name = normalize(event.filename)
        stage = self._stages.classify(name)
        if isinstance(event, TransferStarted):
            view.size = event.size
            phase = _STAGE_PHASE.get(stage)
            if phase is not None:
                client.reach(phase, event.ts)
            big = event.size is not None and event.size >= BIG_OVER_TFTP
            if big and event.proto == "tftp" and stage in ("kernel", "initrd", "root_image"):
                client.hints.add(big_over_tftp_hint(event.filename, event.size or 0))
        elif isinstance(event, TransferProgress):
            view.bytes, view.rate_bps = event.bytes_sent, event.rate_bps
            view.size = event.size if event.size is not None else view.size
        elif isinstance(event, SizeProbe):
            view.state, view.size, view.finished = "probe", event.size, event.ts
            client.hints.add(size_probe_hint(event.filename))
        elif isinstance(event, TransferFinished):
            view.state, view.bytes, view.finished = "done", event.bytes_sent, event.ts
            view.rate_bps = event.bytes_sent / event.seconds if event.seconds > 0 else 0.0
            self._finished(client, name, stage, event.ts)
        elif isinstance(event, TransferFailed):
            view.state, view.bytes, view.finished = "failed", event.bytes_sent, event.ts
            client.last_error = f"{event.filename}: {event.reason}"

    def _finished(self, client: ClientState, name: str, stage: Stage, ts: float) -> None:
        client.finished_files.add(name)
        phase = _STAGE_PHASE.get(stage)
        if phase is not None:
            client.reach(phase, ts)
        if name in _IPXE_LOADERS:
            client.ipxe_loaded_at = ts
        if stage == "config" and name in _DEFAULT_CONFIGS and client.misses:
            own = [m for m in client.misses if client.mac.hexhyp in m]
            client.hints.add(miss_then_default_hint((own or client.misses)[0], name))
        if self._handed_over(client, name, stage):
            client.reach("handed_over", ts)

    def _handed_over(self, client: ClientState, name: str, stage: Stage) -> bool:
        """Kernel + initrds (+ image) delivered, or a local entry's config was read."""
        needs = self._stages.needs(client.entry)
        if needs is None:
            return False
        if needs.kind == "local":
            return stage == "config" and name not in _DISPATCHERS
        return delivered(needs, client.finished_files)

    def _miss(self, client: ClientState, event: FileNotFound) -> None:
        name = normalize(event.filename)
        stage = self._stages.classify(name)
        if stage == "config":
            # A config miss is the firmware's normal search trail, remembered for hints.
            if name not in _DEFAULT_CONFIGS and len(client.misses) < 16:
                client.misses.append(name)
            else:
                client.last_error = f"{name} not found (no default config)"
        else:
            client.last_error = f"{event.proto} {name}: not found"
