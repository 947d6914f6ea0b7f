"""The service bar: dnsmasq/DHCP, TFTP, HTTP and the engine link, one badge each.

Each badge carries its state as a CSS class (``-running``, ``-failed`` …) for colour, and
spells the state out in words too, so it reads the same over a colourless ssh session.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from pxetui.core.sanitize import clean

SERVICES: tuple[tuple[str, str], ...] = (("dhcp", "DHCP"), ("tftp", "TFTP"), ("http", "HTTP"))
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


def service_text(label: str, data: dict[str, Any] | None) -> Text:
    """``TFTP running 127.0.0.1:6969`` / ``DHCP FAILED (3 restarts): <why>``."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if not data:
        text.append(f"{label} ?")
        return text
    state = str(data.get("state") or "unknown")
    text.append(f"{label} {state.upper() if state == 'failed' else state}")
    if data.get("address") and state in ("running", "starting", "restarting"):
        text.append(f" {clean(str(data['address']), 40)}")
    if data.get("pid"):
        text.append(f" pid {data['pid']}")
    restarts = data.get("restarts") or 0
    if restarts:
        text.append(f" r{restarts}")
    message = clean(str(data.get("message") or ""), 120)
    if message and state in ("failed", "restarting", "stopped", "disabled"):
        text.append(f": {message}")
    return text


class ServiceBadge(Static):
    """One service's state; ``set_state`` swaps its state class."""

    def __init__(self, service: str, label: str) -> None:
        super().__init__(Text(f"{label} ?"), id=f"service-{service}", classes="-unknown")
        self.label = label
        self.data: dict[str, Any] = {}

    def set_state(self, data: dict[str, Any]) -> None:
        self.data = data
        state = str(data.get("state") or "unknown")
        self.set_classes("-" + state if f"-{state}" in STATE_CLASSES else "-unknown")
        self.update(service_text(self.label, data))
        self.tooltip = clean(str(data.get("message") or ""), 200) or None


class LinkBadge(Static):
    """Attached to the engine, or lost (the console keeps retrying)."""

    def __init__(self) -> None:
        super().__init__(Text("engine ?"), id="link-badge", classes="-unknown")

    def set_link(self, state: str, error: str = "") -> None:
        self.set_classes("-attached" if state == "attached" else "-lost")
        self.update(Text("engine attached" if state == "attached" else "engine LOST, retrying"))
        self.tooltip = clean(error, 200) or None


class ServiceBar(Horizontal):
    def compose(self) -> ComposeResult:
        for service, label in SERVICES:
            yield ServiceBadge(service, label)
        yield LinkBadge()

    def update_services(self, services: dict[str, dict[str, Any]]) -> None:
        for service, data in services.items():
            for badge in self.query(f"#service-{service}").results(ServiceBadge):
                badge.set_state(data)

    def set_link(self, state: str, error: str = "") -> None:
        self.query_one(LinkBadge).set_link(state, error)
