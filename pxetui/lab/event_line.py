"""One short line per engine event, for ``pxetui lab --no-tui`` and the lab console.

The lab shows events next to the VM's console, so a line must say in a glance which
protocol did what for whom: ``DHCP PXE 52:54:00:e2:e0:01 -> pxelinux.0``, ``TFTP sent
lab/vmlinuz-amd64 8.2 MB in 1.3 s``. Events arrive as JSON dicts (the engine's log format);
their strings were already sanitised by the engine.
"""

from __future__ import annotations

from typing import Any

SHOWN_KINDS = frozenset(
    {
        "dhcp",
        "transfer_started",
        "transfer_finished",
        "transfer_failed",
        "size_probe",
        "file_not_found",
        "request_refused",
        "service",
        "assignment",
        "boot_files",
        "message",
    }
)


def _size(n: Any) -> str:
    if not isinstance(n, int | float):
        return "?"
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} kB"
    return f"{int(n)} B"


def describe_event(event: dict[str, Any]) -> str | None:
    """A one-line summary, or ``None`` for events the lab does not show (progress …)."""
    kind = event.get("kind")
    if kind not in SHOWN_KINDS:
        return None
    proto = str(event.get("proto", "")).upper()
    name = event.get("filename", "")
    if kind == "dhcp":
        parts = [f"DHCP {event.get('msg_type', '?')}"]
        for key in ("mac", "ip"):
            if event.get(key):
                parts.append(str(event[key]))
        if event.get("firmware"):
            parts.append(f"[{event['firmware']}]")
        if event.get("boot_file"):
            parts.append(f"-> {event['boot_file']}")
        return " ".join(parts)
    if kind == "transfer_started":
        return f"{proto} start {name} ({_size(event.get('size'))})"
    if kind == "transfer_finished":
        secs = event.get("seconds", 0.0)
        return f"{proto} sent {name} {_size(event.get('bytes_sent'))} in {secs:.2f} s"
    if kind == "transfer_failed":
        return f"{proto} FAILED {name}: {event.get('reason', '')}"
    if kind == "size_probe":
        return f"{proto} size probe {name}"
    if kind == "file_not_found":
        return f"{proto} not found {name}"
    if kind == "request_refused":
        return f"{proto} refused {name}: {event.get('reason', '')}"
    if kind == "service":
        text = f"service {event.get('service')} {event.get('state')}"
        return f"{text} {event.get('address', '')} {event.get('message', '')}".rstrip()
    if kind == "assignment":
        once = " (once)" if event.get("once") else ""
        return f"assign {event.get('mac')} -> {event.get('entry')}{once} [{event.get('reason')}]"
    if kind == "boot_files":
        files = ", ".join(event.get("files") or []) or "-"
        removed = event.get("removed") or []
        return f"wrote {files}" + (f"; removed {', '.join(removed)}" if removed else "")
    return f"{event.get('level', 'info')}: {event.get('text', '')}"
