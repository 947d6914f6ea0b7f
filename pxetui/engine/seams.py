"""What the engine's helpers see of the engine: narrow, typed seams instead of ``Engine``.

:class:`~pxetui.engine.dhcp_service.DhcpService` and
:class:`~pxetui.engine.engine_control.EngineControl` are given the engine, but typed as the
protocols below — only what each reads or calls — so neither imports
:mod:`pxetui.engine.engine` and the engine's imports stay a tree (``tests/unit/
test_import_hygiene.py`` fails on any cycle). :class:`EngineError` and :class:`Addresses`
live here for the same reason: the helpers raise and read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any, Protocol

from pxetui.core.events import ServiceEvent
from pxetui.core.mac import MacAddress
from pxetui.core.profile.model import Profile
from pxetui.core.render import BootFiles, RenderContext
from pxetui.core.tracker import ClientTracker
from pxetui.engine.batching import HistoryBatcher
from pxetui.engine.bus import EventBus
from pxetui.engine.control.recent import RecentEvents
from pxetui.engine.store.protocol import Store


class EngineError(RuntimeError):
    """The engine cannot start; the message says why in words."""


@dataclass(frozen=True, slots=True)
class Addresses:
    """Where we are: our IPv4 address and (when known) the interface's subnet."""

    server: IPv4Address
    network: IPv4Network | None


class HasPort(Protocol):
    @property
    def port(self) -> int: ...


class DhcpHost(Protocol):
    """What the DHCP side reads: the profiles, where we are, TFTP's port, the bus."""

    state_dir: Path
    bus: EventBus

    @property
    def profile(self) -> Profile: ...
    @property
    def addresses(self) -> Addresses | None: ...
    @property
    def tftp(self) -> HasPort | None: ...
    def effective(self) -> Profile: ...


class ControlledEngine(Protocol):
    """What the control API reads and calls."""

    socket_path: Path
    bus: EventBus
    services: dict[str, ServiceEvent]
    tracker: ClientTracker
    db: Store
    history: HistoryBatcher
    recent: RecentEvents

    @property
    def profile(self) -> Profile: ...
    @property
    def profile_path(self) -> Path | None: ...
    @property
    def addresses(self) -> Addresses | None: ...
    @property
    def ctx(self) -> RenderContext | None: ...
    def effective(self) -> Profile: ...
    async def assign(
        self, mac: MacAddress, entry: str, *, once: bool = False, by: str = ""
    ) -> tuple[str, ...]: ...
    async def unassign(self, mac: MacAddress, *, by: str = "") -> bool: ...
    async def set_default(self, entry: str) -> None: ...
    def preview(
        self, mac: MacAddress, entry: str, once: bool = False
    ) -> tuple[BootFiles, dict[str, bytes]]: ...
    async def reload_profile(self) -> Profile: ...
    def request_stop(self) -> None: ...
    def fleet_snapshot(self) -> dict[str, Any] | None: ...
