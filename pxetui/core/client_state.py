"""One machine as the operator sees it: who it is, what it is assigned, and its recent boots.

A machine is one row even with several NICs (the profile host's ``macs:``): ``mac`` is the
host's MAC, ``macs`` every NIC seen or declared, and each boot says which NIC it came from.
:meth:`ClientState.row` (:class:`pxetui.core.wire.ClientRow`) is the documented contract
(README, "Control API"): ``status``, the table row and the detail screen all read it, so they
cannot disagree. The top-level ``phase``/``phases``/``hints``/``transfers``/``outcome`` are
the latest boot's.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

from pxetui.core.arch import arch_name
from pxetui.core.boot import Boot, Phase
from pxetui.core.mac import MacAddress
from pxetui.core.wire import BootRow, ClientRow

BOOTS_KEPT = 8
SUMMARY_TRANSFERS = 4
"""Running transfers a stream row carries (a client fetches one or two files at once)."""


def arch_label(arch: int | None) -> str:
    """DHCP option 93 in words, empty while unknown."""
    return "" if arch is None else arch_name(arch)


@dataclass(slots=True)
class ClientState:
    """Everything the tracker knows about one machine."""

    mac: MacAddress
    first_seen: float
    last_seen: float
    hostname: str | None = None
    ip: str | None = None
    vendor_class: str = ""
    entry: str | None = None
    once: bool = False
    macs: list[MacAddress] = field(default_factory=list)
    boots: deque[Boot] = field(default_factory=lambda: deque(maxlen=BOOTS_KEPT))
    boots_started: int = 0
    last_dhcp: float = 0.0
    last_nic: MacAddress | None = None

    @property
    def boot(self) -> Boot | None:
        """The latest boot (the one the row shows), if any."""
        return self.boots[-1] if self.boots else None

    @property
    def phase(self) -> Phase:
        return self.boots[-1].phase if self.boots else "discovered"

    def new_boot(self, nic: MacAddress, ts: float) -> Boot:
        """Start the next boot with the current assignment; older boots stay as history."""
        self.boots_started += 1
        boot = Boot(
            n=self.boots_started,
            started=ts,
            nic=nic,
            entry=self.entry,
            once=self.once,
            last_event=ts,
        )
        boot.phases["discovered"] = ts
        if nic not in self.macs:
            self.macs.append(nic)
        self.boots.append(boot)
        return boot

    def row(self, full: bool = False) -> ClientRow:
        """The documented client shape. ``full`` includes every boot's DHCP steps and
        transfers; without it only the latest boot carries them (per-change updates)."""
        boot = self.boot
        boots = tuple(b.row(full=full or b is boot) for b in self.boots)
        return self._row(boots[-1] if boots else None, boots)

    def _row(self, latest: BootRow | None, boots: tuple[BootRow, ...]) -> ClientRow:
        return ClientRow(
            mac=self.mac.colon,
            macs=tuple(m.colon for m in self.macs) or (self.mac.colon,),
            nic=latest.nic if latest is not None else self.mac.colon,
            hostname=self.hostname,
            ip=self.ip,
            arch=latest.arch if latest is not None else "",
            arch_code=latest.arch_code if latest is not None else None,
            firmware=latest.firmware if latest is not None else "",
            vendor_class=self.vendor_class,
            entry=self.entry,
            once=self.once,
            boot_entry=latest.entry if latest is not None else None,
            phase=self.phase,
            phases=dict(latest.phases) if latest is not None else {},
            outcome=latest.outcome if latest is not None else "running",
            menu_item=latest.menu_item if latest is not None else None,
            first_seen=self.first_seen,
            last_seen=self.last_seen,
            last_error=latest.last_error if latest is not None else None,
            hints=latest.hints if latest is not None else (),
            transfers=latest.transfers if latest is not None else (),
            boots=boots,
        )

    def to_dict(self, full: bool = False) -> dict[str, Any]:
        """:meth:`row` as JSON-ready data (what crosses the control socket)."""
        return self.row(full).to_dict()

    def summary_dict(self) -> dict[str, Any]:
        """The stream's row (``ClientUpdated``): :meth:`row` without the boot history, and of
        the latest boot's transfers only the running ones (at most
        :data:`SUMMARY_TRANSFERS`) or else the last — a tenth of the whole row's bytes for a
        client with a few boots, and what the client table shows."""
        boot = self.boot
        if boot is None:
            return replace(self._row(None, ()), summary=True).to_dict()
        running = [t for t in boot.transfers if t.state == "running"]
        views = running[-SUMMARY_TRANSFERS:] if running else list(boot.transfers)[-1:]
        latest = boot.row(full=False)
        row = self._row(latest, ())
        return replace(row, transfers=tuple(t.row() for t in views), summary=True).to_dict()
