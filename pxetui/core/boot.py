"""One boot of one machine: its start, DHCP exchange, transfers, phases, outcome and hints.

A client (:class:`pxetui.core.client_state.ClientState`) keeps its recent boots, oldest first;
the newest is the one the table row shows. When a boot starts and ends is decided by the
tracker's rules (README, "The boot model"); this module is only the record and its JSON
shape (:meth:`Boot.row`, part of the documented client shape in :mod:`pxetui.core.wire`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Literal

from pxetui.core.hints import Hint
from pxetui.core.mac import MacAddress
from pxetui.core.wire import BootRow, DhcpStepRow, TransferRow

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

Outcome = Literal["running", "handed_over", "local", "stalled", "failed", "superseded"]
ENDED: frozenset[str] = frozenset({"handed_over", "local"})
"""Outcomes where pxetui's part of the boot is over (the OS or the disk took it)."""

TRANSFERS_PER_BOOT = 24
DHCP_STEPS_PER_BOOT = 16
CLEARED_HINTS_KEPT = 8


@dataclass(slots=True)
class TransferView:
    """One transfer as a boot shows it."""

    transfer_id: str
    proto: str
    filename: str
    bytes: int = 0
    size: int | None = None
    rate_bps: float = 0.0
    state: Literal["running", "done", "failed", "probe", "missing", "refused"] = "running"
    started: float = 0.0
    finished: float | None = None

    def row(self) -> TransferRow:
        return TransferRow(
            self.transfer_id,
            self.proto,
            self.filename,
            self.bytes,
            self.size,
            self.rate_bps,
            self.state,
            self.started,
            self.finished,
        )


@dataclass(frozen=True, slots=True)
class DhcpStep:
    """One DHCP message of the exchange, as dnsmasq logged it."""

    ts: float
    msg_type: str
    nic: MacAddress
    ip: str | None
    firmware: str
    xid: int | None = None
    """The exchange's transaction id (what the rules read; not part of the JSON shape)."""

    def row(self) -> DhcpStepRow:
        return DhcpStepRow(self.ts, self.msg_type, self.nic.colon, self.ip, self.firmware)


@dataclass(slots=True)
class Boot:
    """Everything seen of one boot; ``phase`` only moves forward."""

    n: int
    started: float
    nic: MacAddress
    entry: str | None = None
    once: bool = False
    firmwares: list[str] = field(default_factory=list)
    """Each program that asked for DHCP in this boot, in order: ``["EDK2", "iPXE"]``."""
    arch: str = ""
    arch_code: int | None = None
    phase: Phase = "discovered"
    phases: dict[str, float] = field(default_factory=dict)
    outcome: Outcome = "running"
    ended: float | None = None
    menu_item: str | None = None
    end_evidence: str = ""
    last_error: str | None = None
    hints: dict[str, Hint] = field(default_factory=dict)
    cleared: deque[Hint] = field(default_factory=lambda: deque(maxlen=CLEARED_HINTS_KEPT))
    dhcp: deque[DhcpStep] = field(default_factory=lambda: deque(maxlen=DHCP_STEPS_PER_BOOT))
    transfers: deque[TransferView] = field(default_factory=lambda: deque(maxlen=TRANSFERS_PER_BOOT))
    # --- bookkeeping the rules read (not part of the JSON shape) ---
    last_event: float = 0.0
    last_fetch: float | None = None
    offered_at: float | None = None
    offered_ip: str | None = None
    requested_other: str | None = None
    accepted_at: float | None = None
    answered_at: float | None = None
    ipxe_dhcp_at: float | None = None
    ipxe_nics: set[MacAddress] = field(default_factory=set)
    first_loader: str | None = None
    loader_done: tuple[str, float] | None = None
    ipxe_loaded_at: float | None = None
    loaders: set[str] = field(default_factory=set)
    config_at: float | None = None
    first_config: str | None = None
    menu_at: float | None = None
    delivered_at: float | None = None
    finished: set[str] = field(default_factory=set)
    misses: list[str] = field(default_factory=list)

    # --- phases and hints -----------------------------------------------------------------

    def reach(self, phase: Phase, ts: float) -> None:
        """Record *phase* (first time) and move ``phase`` forward, never back."""
        self.phases.setdefault(phase, ts)
        if RANK[phase] > RANK[self.phase]:
            self.phase = phase

    def end(self, outcome: Outcome, ts: float, evidence: str) -> None:
        """pxetui's part is over (or given up on): record how, when and from what."""
        if self.outcome in ENDED:
            return
        self.outcome, self.ended, self.end_evidence = outcome, ts, evidence
        if outcome in ENDED:
            self.reach("handed_over", ts)
            # Waiting-type hints stop holding once the boot is through.
            for code in [c for c, h in self.hints.items() if h.severity != "info"]:
                self.clear(code)

    def add_hint(self, hint: Hint) -> bool:
        """Make *hint* active (replacing the same code's older evidence); True if new."""
        old = self.hints.get(hint.code)
        self.hints[hint.code] = hint
        return old is None or old.evidence != hint.evidence

    def clear(self, code: str) -> bool:
        """The condition behind *code* no longer holds."""
        hint = self.hints.pop(code, None)
        if hint is None:
            return False
        self.cleared.append(hint)
        return True

    @property
    def active(self) -> bool:
        return self.outcome == "running"

    @property
    def firmware(self) -> str:
        """The program driving the boot now (the last one that asked for DHCP)."""
        return self.firmwares[-1] if self.firmwares else ""

    def saw_firmware(self, name: str) -> None:
        if name and (not self.firmwares or self.firmwares[-1] != name) and len(self.firmwares) < 8:
            self.firmwares.append(name)

    def row(self, full: bool = True) -> BootRow:
        """The boot on the wire; ``full=False`` leaves out the DHCP steps and transfers
        (past boots in the per-change updates stay small)."""
        return BootRow(
            n=self.n,
            started=self.started,
            ended=self.ended,
            nic=self.nic.colon,
            firmware=self.firmware,
            firmwares=tuple(self.firmwares),
            arch=self.arch,
            arch_code=self.arch_code,
            entry=self.entry,
            once=self.once,
            phase=self.phase,
            phases=dict(self.phases),
            outcome=self.outcome,
            end_evidence=self.end_evidence,
            menu_item=self.menu_item,
            last_error=self.last_error,
            hints=tuple(self.hints.values()),
            cleared_hints=tuple(self.cleared),
            dhcp=tuple(d.row() for d in self.dhcp) if full else (),
            transfers=tuple(t.row() for t in self.transfers) if full else (),
            full=full,
        )
