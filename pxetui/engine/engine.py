"""The engine: one asyncio process that serves a lab for days.

Lifecycle, as aiohttp's runners do it: :meth:`Engine.setup` (state dir, lock, database —
nothing on the network yet), :meth:`Engine.start` (TFTP, HTTP, boot files, dnsmasq, control
socket), :meth:`Engine.stop` (the reverse, always safe to call). Everything the engine learns
flows over its :class:`EventBus`: the tracker folds it into client rows, the database keeps
history, the control socket streams it to UIs, the headless log prints it.

Assignments: the profile's hosts are the baseline, database rows override them (see
:mod:`pxetui.engine.assignments`); the operator's profile file is never written.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pxetui.core.boot_stage import StageMap
from pxetui.core.events import (
    ClientUpdated,
    EngineMessage,
    Event,
    ServiceEvent,
)
from pxetui.core.mac import MacAddress
from pxetui.core.profile.audit import profile_problems
from pxetui.core.profile.model import Profile
from pxetui.core.render import BootFiles, RenderContext
from pxetui.core.tracker import ClientTracker
from pxetui.core.wording import counted
from pxetui.engine.assignments import check_entry
from pxetui.engine.batching import ClientUpdateCoalescer, HistoryBatcher
from pxetui.engine.bootfiles import BootFileStore, install_loaders
from pxetui.engine.bootfiles.store import write_error
from pxetui.engine.bus import EventBus
from pxetui.engine.control.protocol import ControlError
from pxetui.engine.control.recent import RecentEvents
from pxetui.engine.dhcp_service import DhcpService
from pxetui.engine.file_serving import start_file_servers
from pxetui.engine.host_files import BootFileWriter
from pxetui.engine.http import HttpFileServer
from pxetui.engine.names import ClientNamer, ReverseNames
from pxetui.engine.neighbors import neighbor_mac
from pxetui.engine.operator_actions import AssignmentActions
from pxetui.engine.profile_reload import ProfileRejected, load_again, restart_needed
from pxetui.engine.replay import replay_history
from pxetui.engine.runtime_paths import (
    StateDirBusyError,
    interface_address,
    lock_state_dir,
    profile_state_dir,
)
from pxetui.engine.seams import Addresses as Addresses
from pxetui.engine.seams import EngineError as EngineError
from pxetui.engine.store.open import open_store
from pxetui.engine.store.protocol import STORE_ERRORS, Store
from pxetui.engine.tftp import TftpServer

if TYPE_CHECKING:
    from pxetui.engine.engine_control import EngineControl
    from pxetui.engine.fleet import Fleet

log = logging.getLogger(__name__)

TICK_S = 1.0


class Engine(AssignmentActions):
    """Supervises TFTP, HTTP and dnsmasq for one profile; owns assignments and history."""

    def __init__(
        self,
        profile: Profile,
        *,
        profile_path: Path | None = None,
        state_dir: Path | None = None,
        socket_path: Path | None = None,
        tftp_workers: int = 1,
    ) -> None:
        self.profile = profile
        self.tftp_workers = tftp_workers
        self.profile_path = profile_path
        self.state_dir = profile_state_dir(
            state_dir or profile.state_dir, profile_path, profile.name
        )
        self.socket_path = socket_path or self.state_dir / "control.sock"
        self.bus = EventBus()
        self.recent = RecentEvents()  # first subscriber: the snapshot's recent_events
        self.bus.subscribe(self.recent.add)
        self.tracker = ClientTracker(StageMap.from_profile(profile), neighbor=neighbor_mac)
        self.db: Store = open_store(profile, self.state_dir, self.bus.publish)
        self.fleet: Fleet | None = None
        self.services: dict[str, ServiceEvent] = {}
        self.addresses: Addresses | None = None
        self.ctx: RenderContext | None = None
        self.files: BootFileWriter | None = None
        self.tftp: TftpServer | None = None
        self.http: HttpFileServer | None = None
        self.dhcp: DhcpService | None = None
        self._control: EngineControl | None = None
        self._lock_fd: int | None = None
        self.updates = ClientUpdateCoalescer(self.tracker, self.bus.publish)
        self.history = HistoryBatcher(self.db, self.bus.publish)
        self._tick: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._completing: set[MacAddress] = set()
        dns = profile.network.dhcp.dns
        self.namer = (
            ClientNamer(ReverseNames(str(dns[0])), self.tracker, self._mark) if dns else None
        )

    # --- lifecycle -----------------------------------------------------------------------

    async def setup(self) -> None:
        """State dir, single-engine lock, database, our address. No sockets yet."""
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            self._lock_fd = lock_state_dir(self.state_dir)
        except StateDirBusyError as exc:
            raise EngineError(str(exc)) from None
        try:
            self.db.open()
        except STORE_ERRORS as exc:
            raise EngineError(f"state database {self.db.path} is unusable: {exc}") from exc
        self.addresses = self._resolve_addresses()
        problems = profile_problems(self.profile, self.addresses.server)
        if problems:  # the one validation: what `pxetui check` rejects, the engine refuses
            where = self.profile_path or self.profile.name
            raise EngineError(
                f"profile {where} has {len(problems)} problem(s) (as `pxetui check` reports); "
                "not starting:\n" + "\n".join(problems)
            )
        self.bus.subscribe(self._on_event)
        self.tracker.set_default(self.effective().unknown)  # the profile's, or set_default's
        replay_history(self.tracker, self.db, self.effective())

    async def start(self) -> None:
        """Serve: file servers first (their ports go into the boot files), then DHCP."""
        from pxetui.engine.engine_control import EngineControl

        assert self.addresses is not None, "setup() first"
        profile = self.profile
        tftp_root = profile.tftp.root
        self.tftp, self.http = await start_file_servers(
            profile, self.bus.publish, tftp_workers=self.tftp_workers
        )
        self.ctx = self._render_context()
        store = BootFileStore(tftp_root)
        stale = store.remove_stale_temps()  # a kill -9 in the middle of a write
        if stale:
            self.bus.publish(
                EngineMessage(
                    text=f"removed {len(stale)} temp file(s) an interrupted write left in "
                    f"{tftp_root}: {', '.join(stale[:5])}{' …' if len(stale) > 5 else ''}"
                )
            )
        self.files = BootFileWriter(store, self.ctx, self.bus.publish)
        for line in install_loaders(tftp_root):
            if line.startswith("missing"):
                self.bus.publish(EngineMessage(level="warning", text=f"loader {line}"))
            elif line.startswith("kept"):  # the operator's own file, left in place
                self.bus.publish(EngineMessage(text=f"loader {line}"))
        self.write_all()
        self.dhcp = DhcpService(self)
        await self.dhcp.start()
        self._control = EngineControl(self)
        await self._control.start()
        if self.profile.store is not None:
            # Imported here: psycopg is only needed by engines that share a store.
            from pxetui.engine.fleet import Fleet
            from pxetui.engine.store.postgres import PostgresStore

            assert isinstance(self.db, PostgresStore)
            self.fleet = Fleet(self, self.db)
            await self.fleet.start()
        self._tick = asyncio.create_task(self._ticker())
        self.bus.publish(EngineMessage(text=f"serving profile {profile.name!r}"))

    async def stop(self) -> None:
        """Stop everything started, in reverse; safe after a partial start."""
        self._stopping.set()
        if self._tick is not None:
            self._tick.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tick
        if self.fleet is not None:
            await self.fleet.stop()
        if self._control is not None:
            await self._control.stop()
        if self.dhcp is not None:
            await self.dhcp.stop()
        if self.namer is not None:
            await self.namer.close()
        for name, server in (("http", self.http), ("tftp", self.tftp)):
            if server is not None:
                await server.stop()
                self._service(name, "stopped")
        self.updates.cancel()
        self.history.flush()
        self.db.close()
        if self._lock_fd is not None:
            self.bus.publish(EngineMessage(text="engine stopped"))
            os.close(self._lock_fd)
            self._lock_fd = None

    def request_stop(self) -> None:
        self._stopping.set()

    async def wait_stopped(self) -> None:
        """Until SIGTERM, the control API's ``stop`` or :meth:`request_stop`."""
        await self._stopping.wait()

    async def reload_profile(self) -> Profile:
        """Load the profile file again; a bad one is rejected and the old one keeps serving."""
        if self.profile_path is None:
            text = "no profile file to reload (ad-hoc mode): nothing changed"
            self.bus.publish(EngineMessage(level="warning", text=text))
            raise ControlError(text)
        assert self.addresses is not None
        try:
            new = await load_again(
                self.profile_path, self.addresses.server, self.profile.serving_engine
            )
        except ProfileRejected as exc:
            self.bus.publish(EngineMessage(level="error", text=str(exc)))
            raise ControlError(str(exc)) from exc
        needs_restart = restart_needed(self.profile, new)
        self.profile = new
        self.tracker.set_stages(StageMap.from_profile(new))
        try:
            self.write_all()
        except OSError as exc:  # e.g. a full TFTP root: say so instead of "internal error"
            why = write_error(exc, new.tftp.root)
            text = f"profile reloaded, but its boot files could not all be written: {why}"
            self.bus.publish(EngineMessage(level="error", text=text))
            raise ControlError(text) from exc
        await self._reconfigure_dhcp()
        self.bus.publish(
            EngineMessage(
                text=f"profile reloaded: {counted(len(new.entries), 'entry', 'entries')}, "
                f"{counted(len(new.hosts), 'host')}"
            )
        )
        if needs_restart:
            self.bus.publish(
                EngineMessage(
                    level="warning",
                    text=f"changes to {', '.join(needs_restart)} take effect after a restart",
                )
            )
        return new

    # --- boot files ----------------------------------------------------------------------

    def write_all(self) -> None:
        """Defaults plus every assigned MAC's files; files of MACs no longer assigned go."""
        assert self.files is not None
        effective = self.effective()
        self.files.write_defaults(effective)
        for mac in sorted(set(effective.hosts) | self.files.rendered):
            self._write_host(mac, effective)

    def _write_defaults(self) -> None:
        assert self.files is not None
        self.files.write_defaults(self.effective())

    def _write_host(self, mac: MacAddress, effective: Profile | None = None) -> tuple[str, ...]:
        """Write *mac*'s files and keep the tracker's idea of its entry in step."""
        assert self.files is not None
        effective = effective or self.effective()
        written = self.files.write_host(mac, effective)
        host = effective.hosts.get(mac)
        if host is None:
            changed = self.tracker.clear_assignment(mac)
            merged = self.tracker.set_nics(mac, ())
        else:
            changed = self.tracker.set_assignment(mac, host.entry, host.once, host.hostname)
            merged = self.tracker.set_nics(mac, host.macs)
        if changed or merged:
            self._mark({mac} | merged)
        return written

    def preview(
        self, mac: MacAddress, entry: str, once: bool = False
    ) -> tuple[BootFiles, dict[str, bytes]]:
        """What *mac* would get with *entry*, and what is on disk now."""
        assert self.files is not None
        check_entry(self.profile, entry)
        return self.files.preview(self.effective(), mac, entry, once)

    # --- events --------------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        """The engine's own bus subscriber. It must never raise: the bus would drop it."""
        try:
            self._fold(event)
        except Exception as exc:
            log.exception("engine failed to fold %s", event.kind)
            if not isinstance(event, EngineMessage):
                self.bus.publish(
                    EngineMessage(level="error", text=f"internal error on {event.kind}: {exc}")
                )

    def _fold(self, event: Event) -> None:
        if isinstance(event, ServiceEvent):
            self.services[event.service] = event
            return
        if isinstance(event, ClientUpdated):
            if self.fleet is not None and "engine" not in event.state:  # ours, not relayed
                client = self.tracker.get(event.mac)  # the store keeps whole rows
                if client is not None:
                    self.fleet.client_changed(event.mac, client.to_dict())
            return
        changed = self.tracker.apply(event)
        if changed:
            self._mark(changed)
            for mac in changed:
                self._maybe_complete_once(mac)
                if self.namer is not None:
                    self.namer.consider(mac)
        if self.db.is_open:
            self.history.record(event, self.tracker)

    def _mark(self, macs: set[MacAddress]) -> None:
        self.updates.mark(macs)

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            changed = self.tracker.tick(time.time())
            self._mark(changed)
            for mac in changed:  # a menu that timed out to its local item ends a one-shot
                self._maybe_complete_once(mac)

    # --- the fleet (store: postgresql://…) -----------------------------------------------

    def publish(self, event: Event) -> None:
        self.bus.publish(event)

    def server_address(self) -> str:
        return str(self.addresses.server) if self.addresses is not None else ""

    def fleet_snapshot(self) -> dict[str, Any] | None:
        return self.fleet.snapshot() if self.fleet is not None else None

    # --- helpers -------------------------------------------------------------------------

    def _service(self, name: str, state: str, address: str = "", message: str = "") -> None:
        self.bus.publish(
            ServiceEvent(service=name, state=state, address=address, message=message)  # type: ignore[arg-type]
        )

    async def _reconfigure_dhcp(self) -> None:
        if self.dhcp is not None:
            await self.dhcp.reconfigure()

    def _resolve_addresses(self) -> Addresses:
        net = self.profile.network
        found = interface_address(net.interface) if net.interface else None
        server = net.server or (found[0] if found else None)
        if server is None:
            where = (
                f"interface {net.interface!r} has no IPv4 address"
                if net.interface
                else ("no network.interface")
            )
            raise EngineError(f"cannot tell our address: set network.server ({where})")
        return Addresses(server, net.dhcp.subnet or (found[1] if found else None))

    def _render_context(self) -> RenderContext:
        assert self.addresses is not None and self.tftp is not None and self.http is not None
        base = self.profile.http.base_url or f"http://{self.addresses.server}:{self.http.port}"
        return RenderContext(
            server=self.addresses.server,
            http_base=base,
            tftp_port=self.tftp.port,
            grub_files=self.profile.grub.files,
        )
