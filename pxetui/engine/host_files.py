"""Rendering the effective profile into files on disk, and saying so on the bus.

The engine decides *what* each MAC boots; this module turns that into bytes with the core
renderers, writes them through the atomic :class:`BootFileStore`, and publishes
``BootFilesWritten`` (a render error for one host is reported and skipped, never fatal).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pxetui.core.events import BootFilesWritten, EngineMessage, Event
from pxetui.core.mac import MacAddress
from pxetui.core.profile.model import Host, Profile
from pxetui.core.render import BootFiles, RenderContext, RenderError, render_defaults, render_host
from pxetui.engine.bootfiles import BootFileStore


def _names(paths: Iterable[object]) -> tuple[str, ...]:
    return tuple(str(p) for p in paths)


class BootFileWriter:
    def __init__(
        self, store: BootFileStore, ctx: RenderContext, publish: Callable[[Event], None]
    ) -> None:
        self.store = store
        self.ctx = ctx
        self._publish = publish
        self.rendered: set[MacAddress] = set()

    def write_defaults(self, effective: Profile) -> None:
        try:
            files = render_defaults(effective, self.ctx)
        except RenderError as exc:
            self._publish(EngineMessage(level="error", text=f"default files: {exc}"))
            return
        written = self.store.write_defaults(files)
        self._publish(BootFilesWritten(mac=None, entry=effective.unknown, files=_names(written)))

    def write_host(self, mac: MacAddress, effective: Profile) -> tuple[str, ...]:
        """Render and store *mac*'s files, or remove them when it has no host entry."""
        host = effective.hosts.get(mac)
        if host is None:
            self.rendered.discard(mac)
            removed = self.store.remove(mac)
            if removed:
                self._publish(BootFilesWritten(mac=mac, entry=None, removed=_names(removed)))
            return ()
        try:
            files = render_host(effective, self.ctx, mac)
        except RenderError as exc:
            self._publish(EngineMessage(level="error", text=f"{mac}: {exc}"))
            return ()
        written, removed = self.store.apply(mac, files)
        self.rendered.add(mac)
        self._publish(
            BootFilesWritten(
                mac=mac, entry=host.entry, files=_names(written), removed=_names(removed)
            )
        )
        return tuple(files)

    def preview(
        self, effective: Profile, mac: MacAddress, entry: str, once: bool = False
    ) -> tuple[BootFiles, dict[str, bytes]]:
        """What *mac* would get with *entry*, and what is on disk now (for a diff)."""
        base = effective.hosts.get(mac)
        host = (
            base.model_copy(update={"entry": entry, "once": once})
            if base is not None
            else Host(entry=entry, once=once)
        )
        hypothetical = effective.model_copy(update={"hosts": {**effective.hosts, mac: host}})
        return render_host(hypothetical, self.ctx, mac), dict(self.store.current(mac))
