"""The service bar: dnsmasq/DHCP, TFTP, HTTP and the engine link, one compact badge each.

A badge fits 80 columns (``DHCP ok``, ``TFTP :69``, ``HTTP :8080``, ``engine ✓``); the long
form (address, pid, restarts, the last message) is its tooltip. A failed service spells out
why in the bar itself, since that is what the operator must read. Each badge carries its
state as a CSS class (``-running``, ``-failed`` …) for colour and says it in words too, so
it reads the same over a colourless ssh session.

When the link to the engine is lost, nothing here is known any more: the service badges
read ``?`` (their last known state stays in the tooltip) instead of a stale "ok".
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from pxetui.core.sanitize import clean

SERVICES: tuple[tuple[str, str], ...] = (("dhcp", "DHCP"), ("tftp", "TFTP"), ("http", "HTTP"))
FLEET = ("store", "Fleet")
"""Only engines sharing a store send this service: its badge is added when it first comes,
and reads each engine's state (``Fleet 2/2 engines ok`` / ``Fleet 1/2 ok, lost: rack-a``)."""
STATE_CLASSES = (
    "-starting",
    "-running",
    "-restarting",
    "-stopped",
    "-failed",
    "-disabled",
    "-unknown",
    "-attached",
    "-lost",
)
_SHORT_STATES = {"restarting": "restart", "disabled": "off", "failed": "FAILED"}


def _port(address: str) -> str:
    """``127.0.0.1:6969`` → ``:6969``; an address without a port → empty."""
    host, sep, port = address.rpartition(":")
    return f":{port}" if sep and host and port.isdigit() else ""


def service_text(label: str, data: dict[str, Any] | None) -> Text:
    """The badge: ``TFTP :69`` / ``DHCP ok r1`` / ``DHCP FAILED r3: <why>`` / ``HTTP ?``."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if not data:
        text.append(f"{label} ?")
        return text
    state = str(data.get("state") or "unknown")
    if state == "running" and data.get("service") == FLEET[0] and data.get("message"):
        word = clean(str(data["message"]), 60)  # each engine's state, in a few words
    elif state == "running":
        word = _port(str(data.get("address") or "")) or "ok"
    elif state == "unknown":
        word = "?"
    else:
        word = _SHORT_STATES.get(state, state)
    text.append(f"{label} {word}")
    restarts = data.get("restarts") or 0
    if restarts:
        text.append(f" r{restarts}")
    message = clean(str(data.get("message") or ""), 120)
    if message and state == "failed":
        text.append(f": {message}")
    return text


def service_detail(label: str, data: dict[str, Any] | None) -> str:
    """The tooltip: ``TFTP running 127.0.0.1:6969 pid 42`` and the last message."""
    if not data:
        return f"{label}: no state from the engine yet"
    state = str(data.get("state") or "unknown")
    parts = [f"{label} {state}"]
    if data.get("address"):
        parts.append(clean(str(data["address"]), 60))
    if data.get("pid"):
        parts.append(f"pid {data['pid']}")
    restarts = data.get("restarts") or 0
    if restarts:
        parts.append(f"{restarts} restart{'' if restarts == 1 else 's'}")
    message = clean(str(data.get("message") or ""), 200)
    return " ".join(parts) + (f": {message}" if message else "")


class ServiceBadge(Static):
    """One service's state; ``set_state`` swaps its state class, ``set_stale`` hides it
    behind ``?`` while the engine cannot be asked."""

    def __init__(self, service: str, label: str) -> None:
        super().__init__(Text(f"{label} ?"), id=f"service-{service}", classes="-unknown")
        self.label = label
        self.data: dict[str, Any] = {}
        self.stale = False

    def set_state(self, data: dict[str, Any]) -> None:
        self.data = data
        self.stale = False
        self._show()

    def set_stale(self, stale: bool) -> None:
        if stale != self.stale:
            self.stale = stale
            self._show()

    def _show(self) -> None:
        if self.stale:
            self.set_classes("-unknown")
            self.update(Text(f"{self.label} ?"))
            last = service_detail(self.label, self.data) if self.data else "nothing"
            self.tooltip = f"engine link lost; last known: {last}"
            return
        state = str(self.data.get("state") or "unknown")
        self.set_classes("-" + state if f"-{state}" in STATE_CLASSES else "-unknown")
        self.update(service_text(self.label, self.data))
        self.tooltip = service_detail(self.label, self.data)


class LinkBadge(Static):
    """Attached to the engine, or lost (the console keeps retrying)."""

    def __init__(self) -> None:
        super().__init__(Text("engine ?"), id="link-badge", classes="-unknown")

    def set_link(self, state: str, error: str = "") -> None:
        attached = state == "attached"
        self.set_classes("-attached" if attached else "-lost")
        self.update(Text("engine ✓" if attached else "engine LOST"))
        why = clean(error, 200) if error and error != "None" else ""
        self.tooltip = "attached" if attached else f"lost, retrying{': ' + why if why else ''}"


class ServiceBar(Horizontal):
    def compose(self) -> ComposeResult:
        for service, label in SERVICES:
            yield ServiceBadge(service, label)
        yield LinkBadge()

    def update_services(self, services: dict[str, dict[str, Any]]) -> None:
        if FLEET[0] in services and not self.query(f"#service-{FLEET[0]}"):
            self.mount(ServiceBadge(*FLEET), before=self.query_one(LinkBadge))
        for service, data in services.items():
            for badge in self.query(f"#service-{service}").results(ServiceBadge):
                badge.set_state(data)

    def set_link(self, state: str, error: str = "") -> None:
        self.query_one(LinkBadge).set_link(state, error)
        for badge in self.query(ServiceBadge).results(ServiceBadge):
            badge.set_stale(state != "attached")
