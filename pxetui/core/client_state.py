"""One client's boot as the operator sees it: the shape the control API and the TUI show.

:meth:`ClientState.to_dict` is a documented contract (README, "Control API"): UIs replace a
row with it on every ``ClientUpdated`` event.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

from pxetui.core.arch import arch_name
from pxetui.core.client_hints import Hints
from pxetui.core.mac import MacAddress

TRANSFER_RING = 8
Phase = Literal[
    "discovered", "offered", "loader", "config", "kernel", "initrd", "root_image", "handed_over"
]
PHASES: tuple[Phase, ...] = (
    "discovered",
    "offered",
    "loader",
    "config",
    "kernel",
    "initrd",
    "root_image",
    "handed_over",
)
RANK = {p: i for i, p in enumerate(PHASES)}


def arch_label(arch: int | None) -> str:
    """DHCP option 93 in words, empty while unknown."""
    return "" if arch is None else arch_name(arch)


@dataclass(slots=True)
class TransferView:
    """One transfer as a client row shows it."""

    transfer_id: str
    proto: str
    filename: str
    bytes: int = 0
    size: int | None = None
    rate_bps: float = 0.0
    state: Literal["running", "done", "failed", "probe"] = "running"
    started: float = 0.0
    finished: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "transfer_id": self.transfer_id,
            "proto": self.proto,
            "filename": self.filename,
            "bytes": self.bytes,
            "size": self.size,
            "rate_bps": self.rate_bps,
            "state": self.state,
            "started": self.started,
            "finished": self.finished,
        }


@dataclass(slots=True)
class ClientState:
    """Everything the tracker knows about one MAC; :meth:`to_dict` is the documented shape."""

    mac: MacAddress
    first_seen: float
    last_seen: float
    hostname: str | None = None
    ip: str | None = None
    arch: str = ""
    arch_code: int | None = None
    firmware: str = ""
    vendor_class: str = ""
    entry: str | None = None
    once: bool = False
    phase: Phase = "discovered"
    phases: dict[str, float] = field(default_factory=dict)
    last_error: str | None = None
    hints: Hints = field(default_factory=Hints)
    transfers: deque[TransferView] = field(default_factory=lambda: deque(maxlen=TRANSFER_RING))
    # Bookkeeping for the current boot (reset when the firmware starts over).
    finished_files: set[str] = field(default_factory=set)
    misses: list[str] = field(default_factory=list)
    last_dhcp: float = 0.0
    ipxe_loaded_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "mac": self.mac.colon,
            "hostname": self.hostname,
            "ip": self.ip,
            "arch": self.arch,
            "arch_code": self.arch_code,
            "firmware": self.firmware,
            "vendor_class": self.vendor_class,
            "entry": self.entry,
            "once": self.once,
            "phase": self.phase,
            "phases": dict(self.phases),
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "last_error": self.last_error,
            "hints": list(self.hints),
            "transfers": [t.to_dict() for t in self.transfers],
        }

    def reach(self, phase: Phase, ts: float) -> None:
        """Record *phase* (first time per boot) and move ``phase`` forward, never back."""
        self.phases.setdefault(phase, ts)
        if RANK[phase] > RANK[self.phase]:
            self.phase = phase

    def new_boot(self, ts: float) -> None:
        """The firmware started over: forget the previous boot's progress, keep history."""
        self.phase = "discovered"
        self.phases = {"discovered": ts}
        self.last_error = None
        self.hints = Hints()
        self.finished_files = set()
        self.misses = []
        self.ipxe_loaded_at = None
