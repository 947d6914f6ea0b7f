"""What an operator (or another engine, or a finished one-shot) changes about a MAC.

One transaction per operator action: ``assign``, ``unassign`` and ``set_default`` write the
boot files first (all or none), then commit the store; a store that refuses puts the old
files back, so ``status`` and the disk always agree. A one-shot whose boot ended flips to
local boot. With a shared store, changes other engines made arrive here too
(:meth:`AssignmentActions.apply_store_changes`). Mixed into :class:`~pxetui.engine.engine.Engine`,
which owns the attributes declared below.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING

from pxetui.core.boot_stage import once_refusal
from pxetui.core.events import AssignmentChanged, EngineMessage
from pxetui.core.mac import MacAddress
from pxetui.core.profile.model import Profile
from pxetui.core.render import RenderContext, RenderError, render_host
from pxetui.core.tracker import ClientTracker
from pxetui.engine.assignments import check_entry, effective_profile
from pxetui.engine.bootfiles.store import write_error
from pxetui.engine.bus import EventBus
from pxetui.engine.control.protocol import ControlError
from pxetui.engine.persist import StoredAssignment
from pxetui.engine.store.protocol import STORE_ERRORS, Store

if TYPE_CHECKING:
    from pxetui.engine.host_files import BootFileWriter

DEFAULT_KEY = "unknown"  # the setting: which entry unknown clients boot


class AssignmentActions:
    """Assignments, the default entry and one-shots, for the engine that mixes this in."""

    profile: Profile
    db: Store
    tracker: ClientTracker
    bus: EventBus
    files: BootFileWriter | None
    ctx: RenderContext | None
    _completing: set[MacAddress]

    def write_all(self) -> None:
        raise NotImplementedError

    def _write_defaults(self) -> None:
        raise NotImplementedError

    def _write_host(self, mac: MacAddress, effective: Profile | None = None) -> tuple[str, ...]:
        raise NotImplementedError

    def _mark(self, macs: set[MacAddress]) -> None:
        raise NotImplementedError

    async def _reconfigure_dhcp(self) -> None:
        raise NotImplementedError

    def effective(self) -> Profile:
        return effective_profile(self.profile, self.db.assignments(), self.db.setting(DEFAULT_KEY))

    async def assign(
        self, mac: MacAddress, entry: str, *, once: bool = False, by: str = ""
    ) -> tuple[str, ...]:
        check_entry(self.profile, entry)
        refusal = once_refusal(self.tracker.stages, entry) if once else None
        if refusal is not None:
            raise ValueError(refusal)
        # One transaction: the files first (all or none), then the database; a failure
        # leaves both as they were and says why, so `status` and the disk always agree.
        stored = dict(self.db.assignments())
        old = stored.get(mac)
        hostname = old.hostname if old is not None else None
        stored[mac] = StoredAssignment(mac, entry, once, hostname, "operator", time.time(), by)
        files = self._checked_write(mac, self._effective_from(stored))
        try:
            self.db.assign(mac, entry, once=once, by=by)
        except STORE_ERRORS as exc:
            raise self._db_failed(mac, exc) from exc
        self.bus.publish(
            AssignmentChanged(mac=mac, entry=entry, once=once, reason="operator", by=by)
        )
        await self._reconfigure_dhcp()
        return files

    async def unassign(self, mac: MacAddress, *, by: str = "") -> bool:
        stored = dict(self.db.assignments())
        if stored.pop(mac, None) is None:
            return False
        self._checked_write(mac, self._effective_from(stored))
        try:
            removed = self.db.unassign(mac)
        except STORE_ERRORS as exc:
            raise self._db_failed(mac, exc) from exc
        self.bus.publish(AssignmentChanged(mac=mac, entry=None, reason="operator", by=by))
        await self._reconfigure_dhcp()
        return removed

    async def set_default(self, entry: str) -> None:
        check_entry(self.profile, entry)
        assert self.files is not None
        effective = effective_profile(self.profile, self.db.assignments(), entry)
        try:
            self.files.write_defaults(effective)
        except OSError as exc:
            raise ControlError(write_error(exc, self.profile.tftp.root)) from exc
        try:
            self.db.set_setting(DEFAULT_KEY, entry)
        except STORE_ERRORS as exc:
            self._write_defaults()
            raise ControlError(f"default not saved: state database {self.db.path}: {exc}") from exc
        self._mark(self.tracker.set_default(entry))
        self.bus.publish(EngineMessage(text=f"unknown clients now boot {entry!r}"))

    def _effective_from(self, stored: dict[MacAddress, StoredAssignment]) -> Profile:
        return effective_profile(self.profile, stored, self.db.setting(DEFAULT_KEY))

    def _checked_write(self, mac: MacAddress, effective: Profile) -> tuple[str, ...]:
        """Render and write *mac*'s files for *effective*, or raise with the reason."""
        assert self.ctx is not None
        if mac in effective.hosts:
            try:
                render_host(effective, self.ctx, mac)
            except RenderError as exc:
                raise ControlError(f"{mac}: {exc}") from exc
        try:
            return self._write_host(mac, effective)
        except OSError as exc:
            raise ControlError(write_error(exc, self.profile.tftp.root)) from exc

    def _db_failed(self, mac: MacAddress, exc: Exception) -> ControlError:
        """The files were written but the database refused: put the files back."""
        with contextlib.suppress(OSError):
            self._write_host(mac)
        return ControlError(f"not saved, boot files restored: state database {self.db.path}: {exc}")

    def _maybe_complete_once(self, mac: MacAddress) -> None:
        """A one-shot whose boot ended (handed over, or local) boots local next."""
        client = self.tracker.get(mac)
        if client is None or not client.once or mac in self._completing:
            return
        if not self.tracker.boot_completed(mac):
            return
        self._completing.add(mac)
        asyncio.get_running_loop().call_soon(self._complete_once, mac, client.entry or "")

    def _complete_once(self, mac: MacAddress, entry: str) -> None:
        if not self.db.is_open:  # stopped in between: the one-shot stays armed (safe side)
            self._completing.discard(mac)
            return
        try:
            self.db.complete_once(mac, entry)
            self.bus.publish(AssignmentChanged(mac=mac, entry="local", once=False, reason="once"))
            self._write_host(mac)
            self.bus.publish(
                EngineMessage(text=f"{mac}: one-shot boot of {entry!r} done, now local boot")
            )
        finally:
            self._completing.discard(mac)

    async def apply_store_changes(self, macs: set[MacAddress], catch_up: bool) -> None:
        """Another engine changed assignments (or the store came back): files follow."""
        if self.files is None:
            return
        if catch_up:
            self.write_all()
        else:
            self._write_defaults()
            for mac in sorted(macs):
                self._write_host(mac)
        self._mark(self.tracker.set_default(self.effective().unknown))
        stored = self.db.assignments()
        for mac in sorted(macs):
            now = stored.get(mac)
            entry = now.entry if now is not None else None
            once = now.once if now is not None else False
            by = now.by if now is not None else ""
            self.bus.publish(
                AssignmentChanged(mac=mac, entry=entry, once=once, reason="store", by=by)
            )
        await self._reconfigure_dhcp()
