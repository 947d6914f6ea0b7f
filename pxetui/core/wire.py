"""The client shape on the control socket, as typed records both sides import.

The engine builds a :class:`ClientRow` from its tracker (:meth:`ClientState.row
<pxetui.core.client_state.ClientState.row>`) and sends ``to_dict()``; ``pxetui status``, the
console and the web view read it back with :meth:`ClientRow.from_dict` and never index the
dict themselves. ``from_dict`` is the boundary's one validation: whatever arrives (an older
or newer engine, a hand-made replay, a hostile peer) becomes a well-typed record — unknown
keys are ignored, a wrong type falls back to the field's empty value, every string is
cleaned of control characters and capped — so a screen never crashes on a value.

``v`` is :data:`WIRE_VERSION`; it grows when a field changes meaning (adding one does not).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pxetui.core.hints import Hint
from pxetui.core.sanitize import clean

WIRE_VERSION = 1


def _clean(value: str, cap: int) -> str:
    """:func:`clean` with a fast path for the usual already-clean string (the hot path: a
    console folds thousands of rows a second). ``str.isprintable`` is false for every
    character ``clean`` replaces, so the fast path is exact."""
    if len(value) <= cap and value.isprintable() and "[" not in value and "]" not in value:
        return value
    return clean(value, cap)


def _s(data: dict[str, Any], key: str, cap: int = 200) -> str:
    value = data.get(key)
    return _clean(value, cap) if isinstance(value, str) else ""


def _os(data: dict[str, Any], key: str, cap: int = 200) -> str | None:
    value = data.get(key)
    return _clean(value, cap) if isinstance(value, str) else None


def _f(data: dict[str, Any], key: str) -> float:
    value = data.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _of(data: dict[str, Any], key: str) -> float | None:
    value = data.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _oi(data: dict[str, Any], key: str) -> int | None:
    value = data.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _b(data: dict[str, Any], key: str) -> bool:
    return data.get(key) is True


def _dicts(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = data.get(key)
    return [d for d in value if isinstance(d, dict)] if isinstance(value, list) else []


def _phases(data: dict[str, Any]) -> dict[str, float]:
    value = data.get("phases")
    if not isinstance(value, dict):
        return {}
    return {
        _clean(str(k), 20): float(v)
        for k, v in value.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }


def hint_from_dict(data: dict[str, Any]) -> Hint:
    severity = data.get("severity")
    causes = data.get("causes")
    return Hint(
        code=_s(data, "code", 40),
        severity=severity if severity in ("info", "warn", "error") else "warn",
        text=_s(data, "text", 300),
        evidence=_s(data, "evidence", 400),
        causes=tuple(_clean(c, 300) for c in causes if isinstance(c, str))
        if isinstance(causes, list)
        else (),
        since=_f(data, "since"),
    )


@dataclass(frozen=True, slots=True)
class TransferRow:
    """One transfer of a boot (``state``: running, done, failed, probe, missing, refused)."""

    transfer_id: str
    proto: str
    filename: str
    bytes: int = 0
    size: int | None = None
    rate_bps: float = 0.0
    state: str = "running"
    started: float = 0.0
    finished: float | None = None

    @property
    def fraction(self) -> float | None:
        """How much is sent, 0..1; None while the size is unknown."""
        if self.state == "done":
            return 1.0
        if not self.size:
            return None
        return max(0.0, min(1.0, self.bytes / self.size))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TransferRow:
        return cls(
            transfer_id=_s(data, "transfer_id", 80),
            proto=_s(data, "proto", 8),
            filename=_s(data, "filename", 200),
            bytes=_oi(data, "bytes") or 0,
            size=_oi(data, "size"),
            rate_bps=_f(data, "rate_bps"),
            state=_s(data, "state", 12) or "running",
            started=_f(data, "started"),
            finished=_of(data, "finished"),
        )

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


@dataclass(frozen=True, slots=True)
class DhcpStepRow:
    """One DHCP message of a boot's exchange."""

    ts: float
    msg_type: str
    nic: str
    ip: str | None
    firmware: str

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DhcpStepRow:
        return cls(
            _f(data, "ts"),
            _s(data, "msg_type", 20),
            _s(data, "nic", 17),
            _os(data, "ip", 45),
            _s(data, "firmware", 20),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "ts": self.ts,
            "msg_type": self.msg_type,
            "nic": self.nic,
            "ip": self.ip,
            "firmware": self.firmware,
        }


@dataclass(frozen=True, slots=True)
class BootRow:
    """One boot (README, "The boot model"). ``full``: DHCP steps and transfers included."""

    n: int
    started: float
    ended: float | None
    nic: str
    firmware: str
    firmwares: tuple[str, ...]
    arch: str
    arch_code: int | None
    entry: str | None
    once: bool
    phase: str
    phases: dict[str, float]
    outcome: str
    end_evidence: str
    menu_item: str | None
    last_error: str | None
    hints: tuple[Hint, ...]
    cleared_hints: tuple[Hint, ...]
    dhcp: tuple[DhcpStepRow, ...] = ()
    transfers: tuple[TransferRow, ...] = ()
    full: bool = True

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BootRow:
        firmwares = data.get("firmwares")
        return cls(
            n=_oi(data, "n") or 0,
            started=_f(data, "started"),
            ended=_of(data, "ended"),
            nic=_s(data, "nic", 17),
            firmware=_s(data, "firmware", 20),
            firmwares=tuple(_clean(f, 20) for f in firmwares if isinstance(f, str))
            if isinstance(firmwares, list)
            else (),
            arch=_s(data, "arch", 30),
            arch_code=_oi(data, "arch_code"),
            entry=_os(data, "entry", 64),
            once=_b(data, "once"),
            phase=_s(data, "phase", 20) or "discovered",
            phases=_phases(data),
            outcome=_s(data, "outcome", 20) or "running",
            end_evidence=_s(data, "end_evidence", 300),
            menu_item=_os(data, "menu_item", 200),
            last_error=_os(data, "last_error", 300),
            hints=tuple(hint_from_dict(h) for h in _dicts(data, "hints")),
            cleared_hints=tuple(hint_from_dict(h) for h in _dicts(data, "cleared_hints")),
            dhcp=tuple(DhcpStepRow.from_dict(d) for d in _dicts(data, "dhcp")),
            transfers=tuple(TransferRow.from_dict(t) for t in _dicts(data, "transfers")),
            full="transfers" in data,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "n": self.n,
            "started": self.started,
            "ended": self.ended,
            "nic": self.nic,
            "firmware": self.firmware,
            "firmwares": list(self.firmwares),
            "arch": self.arch,
            "arch_code": self.arch_code,
            "entry": self.entry,
            "once": self.once,
            "phase": self.phase,
            "phases": dict(self.phases),
            "outcome": self.outcome,
            "end_evidence": self.end_evidence,
            "menu_item": self.menu_item,
            "last_error": self.last_error,
            "hints": [h.to_dict() for h in self.hints],
            "cleared_hints": [h.to_dict() for h in self.cleared_hints],
        }
        if self.full:
            out["dhcp"] = [d.to_dict() for d in self.dhcp]
            out["transfers"] = [t.to_dict() for t in self.transfers]
        return out


@dataclass(frozen=True, slots=True)
class ClientRow:
    """One machine: identity, assignment, its boots; the latest boot's view copied up."""

    mac: str
    macs: tuple[str, ...]
    nic: str
    hostname: str | None
    ip: str | None
    arch: str
    arch_code: int | None
    firmware: str
    vendor_class: str
    entry: str | None
    once: bool
    boot_entry: str | None
    phase: str
    phases: dict[str, float]
    outcome: str
    menu_item: str | None
    first_seen: float
    last_seen: float
    last_error: str | None
    hints: tuple[Hint, ...]
    transfers: tuple[TransferRow, ...]
    boots: tuple[BootRow, ...]
    engine: str | None = None
    """With a shared store: the engine whose segment the client is on (absent otherwise)."""
    summary: bool = False
    """A stream row: no boot history, only the latest boot's running (or last) transfers —
    what the client table shows; the whole row comes from the ``client`` op."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClientRow:
        mac = _s(data, "mac", 17)
        macs = data.get("macs")
        return cls(
            mac=mac,
            macs=tuple(_clean(m, 17) for m in macs if isinstance(m, str))
            if isinstance(macs, list)
            else (mac,),
            nic=_s(data, "nic", 17) or mac,
            hostname=_os(data, "hostname", 64),
            ip=_os(data, "ip", 45),
            arch=_s(data, "arch", 30),
            arch_code=_oi(data, "arch_code"),
            firmware=_s(data, "firmware", 20),
            vendor_class=_s(data, "vendor_class", 80),
            entry=_os(data, "entry", 64),
            once=_b(data, "once"),
            boot_entry=_os(data, "boot_entry", 64),
            phase=_s(data, "phase", 20) or "discovered",
            phases=_phases(data),
            outcome=_s(data, "outcome", 20) or "running",
            menu_item=_os(data, "menu_item", 200),
            first_seen=_f(data, "first_seen"),
            last_seen=_f(data, "last_seen"),
            last_error=_os(data, "last_error", 300),
            hints=tuple(hint_from_dict(h) for h in _dicts(data, "hints")),
            transfers=tuple(TransferRow.from_dict(t) for t in _dicts(data, "transfers")),
            boots=tuple(BootRow.from_dict(b) for b in _dicts(data, "boots")),
            engine=_os(data, "engine", 64),
            summary=_b(data, "summary"),
        )

    def to_dict(self) -> dict[str, Any]:
        extra: dict[str, Any] = {} if self.engine is None else {"engine": self.engine}
        if self.summary:
            extra["summary"] = True
        return {
            "v": WIRE_VERSION,
            "mac": self.mac,
            "macs": list(self.macs),
            "nic": self.nic,
            "hostname": self.hostname,
            "ip": self.ip,
            "arch": self.arch,
            "arch_code": self.arch_code,
            "firmware": self.firmware,
            "vendor_class": self.vendor_class,
            "entry": self.entry,
            "once": self.once,
            "boot_entry": self.boot_entry,
            "phase": self.phase,
            "phases": dict(self.phases),
            "outcome": self.outcome,
            "menu_item": self.menu_item,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "last_error": self.last_error,
            "hints": [h.to_dict() for h in self.hints],
            "transfers": [t.to_dict() for t in self.transfers],
            "boots": [b.to_dict() for b in self.boots],
            **extra,
        }
