"""The engine's side of a shared store: other engines' changes in, our state out.

* Another engine (or the CLI against it) assigns a MAC: its NOTIFY reaches us through
  :class:`~pxetui.engine.store.follow.StoreFollower`; we re-read the assignments and write
  the boot files of the MACs that changed (every engine serves every assigned MAC's files,
  so the one whose segment the machine is on has them within a second).
* The database goes away: ``ServiceEvent(service="store", state="failed")`` and a warning
  say so; we keep serving the last known assignments. It comes back: what waited is
  written, the assignments re-read, every file rewritten, and ``running`` says what caught up.
* Our clients' rows and our services go to the store each second (``clients``, ``engines``)
  so ``status`` / the console on any engine shows the whole fleet (:meth:`Fleet.snapshot`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, Literal, Protocol

from pxetui.core.events import (
    ClientUpdated,
    EngineMessage,
    Event,
    ServiceEvent,
    ServiceState,
    event_to_dict,
)
from pxetui.core.mac import MacAddress
from pxetui.engine.store.follow import StoreFollower
from pxetui.engine.store.postgres import PostgresStore
from pxetui.engine.store.protocol import StoreError

log = logging.getLogger(__name__)

PUBLISH_S = 1.0  # our client rows and services go out this often
HEARTBEAT_S = 5.0
STALE_AFTER_S = 3 * HEARTBEAT_S  # an engine not heard from for this long is shown as lost
FLEET_CLIENTS = 10_000  # other engines' client rows kept for the console (newest win)


class FleetHost(Protocol):
    """What the fleet link reads and calls on the engine."""

    @property
    def services(self) -> dict[str, ServiceEvent]: ...
    def publish(self, event: Event) -> None: ...
    def server_address(self) -> str: ...
    async def apply_store_changes(self, macs: set[MacAddress], catch_up: bool) -> None: ...


class Fleet:
    def __init__(self, host: FleetHost, store: PostgresStore) -> None:
        self._host = host
        self.store = store
        self.name = store.engine
        self._dirty: dict[MacAddress, dict[str, Any]] = {}
        self._others: dict[tuple[str, str], dict[str, Any]] = {}
        self._others_since = 0.0
        self._engines: list[dict[str, Any]] = []
        self._summary_said = ""
        self._beat_at = 0.0
        self._tasks: list[asyncio.Task[None]] = []
        self.follower = StoreFollower(
            store.url,
            on_notify=self._notified,
            on_lost=self._lost,
            on_back=self._back,
            needs_catch_up=lambda: not store.online,
            on_listening=self._listening,
        )

    async def start(self) -> None:
        if self.store.online:  # 'running' once LISTEN is in place (self._listening)
            self._state("starting", f"shared store: connecting as engine {self.name!r}")
            with contextlib.suppress(StoreError):  # in the fleet from the first moment
                self._heartbeat()
        else:  # started from the local copy: the follower catches up once it is back
            self.follower.online = False
            self._state(
                "failed",
                f"shared store {self.store.lost_reason}: serving the last known "
                f"{len(self.store.assignments())} assignment(s) from the local copy; "
                "assign/unassign refused until it returns",
            )
        self._tasks = [
            asyncio.create_task(self.follower.run(), name="store-follow"),
            asyncio.create_task(self._publisher(), name="store-publish"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        with contextlib.suppress(StoreError):
            self._flush()

    # --- in: other engines' changes -------------------------------------------------------

    def _listening(self) -> None:
        self._state("running", f"shared store: this engine is {self.name!r}, listening")

    async def _notified(self, payloads: list[str]) -> None:
        try:
            changed = self.store.refresh()
        except StoreError as exc:
            log.warning("store refresh after NOTIFY failed: %s", exc)
            return
        if changed or any(p.startswith("s:") for p in payloads):
            await self._apply(changed, catch_up=False)

    async def _apply(self, changed: set[MacAddress], catch_up: bool) -> None:
        """Files follow the store; a failure (a full disk) is said, never kills the link."""
        try:
            await self._host.apply_store_changes(changed, catch_up=catch_up)
        except Exception as exc:
            log.exception("applying the shared store's changes failed")
            text = f"shared store changes not applied to the boot files: {exc}"
            self._host.publish(EngineMessage(level="error", text=text))

    def _lost(self, reason: str) -> None:
        self.store.lost(reason)
        known = len(self.store.assignments())
        self._state(
            "failed",
            f"shared store lost ({reason}): serving the last known {known} assignment(s); "
            "assign/unassign refused until it returns; history kept in memory",
        )

    async def _back(self) -> bool:
        try:
            changed, written = self.store.reconnect()
        except StoreError as exc:
            log.info("store still away: %s", exc)
            return False
        await self._apply(changed, catch_up=True)
        self._state(
            "running",
            f"shared store back: caught up ({written} history row(s) written, "
            f"{len(changed)} assignment(s) changed meanwhile)",
        )
        return True

    # --- out: our clients and services -----------------------------------------------------

    def client_changed(self, mac: MacAddress, state: dict[str, Any]) -> None:
        self._dirty[mac] = state

    async def _publisher(self) -> None:
        while True:
            await asyncio.sleep(PUBLISH_S)
            if not self.store.online:
                continue
            try:
                self._flush()
            except StoreError as exc:
                log.info("fleet publish skipped: %s", exc)
            except Exception:  # never let the publisher die quietly
                log.exception("fleet publish failed")

    def _flush(self) -> None:
        rows, self._dirty = self._dirty, {}
        try:
            self.store.put_clients(rows)
        except StoreError:
            self._dirty = {**rows, **self._dirty}  # next time
            raise
        if time.time() - self._beat_at >= HEARTBEAT_S:
            self._heartbeat()
        self._engines = self.store.engines()
        summary = self._summary()
        if summary != self._summary_said:
            self._summary_said = summary
            self._host.publish(
                ServiceEvent(
                    service="store", state="running", address=self.store.path, message=summary
                )
            )
        for engine, data, updated in self.store.other_clients(self._others_since):
            self._others[(engine, str(data.get("mac", "")))] = data
            self._others_since = max(self._others_since, updated)
            with contextlib.suppress(ValueError):  # a row UIs can show live, with its engine
                mac = MacAddress.parse(str(data.get("mac", "")))
                self._host.publish(ClientUpdated(mac=mac, state={**data, "engine": engine}))
        if len(self._others) > FLEET_CLIENTS:
            newest = sorted(self._others.items(), key=lambda kv: -float(kv[1].get("last_seen", 0)))
            self._others = dict(newest[:FLEET_CLIENTS])

    def _summary(self) -> str:
        """Each engine's state in a few words for the service bar: ``2/2 engines ok`` or
        ``1/2 ok, lost: rack-a``."""
        states = self._engine_states()
        lost = [item["name"] for item in states if item["state"] != "running"]
        if not lost:
            return f"{len(states)}/{len(states)} engines ok"
        names = ", ".join(lost[:3]) + (f" +{len(lost) - 3}" if len(lost) > 3 else "")
        return f"{len(states) - len(lost)}/{len(states)} ok, lost: {names}"

    def _heartbeat(self) -> None:
        services = {k: event_to_dict(v) for k, v in self._host.services.items()}
        self.store.heartbeat(self._host.server_address(), services)
        self._beat_at = time.time()

    def snapshot(self) -> dict[str, Any]:
        """Every engine (state from its heartbeat) and the other engines' client rows."""
        engines = self._engine_states()
        clients = [{**data, "engine": engine} for (engine, _), data in self._others.items()]
        return {
            "engine": self.name,
            "store": {
                "url": self.store.path,
                "online": self.store.online,
                "lost_reason": self.store.lost_reason,
                "pending_rows": self.store.pending_rows,
            },
            "engines": engines,
            "clients": clients,
        }

    def _engine_states(self) -> list[dict[str, Any]]:
        now = time.time()
        engines = []
        for item in self._engines:
            age = now - float(item.get("seen", 0))
            mine = item["name"] == self.name
            engines.append(
                {
                    **item,
                    "self": mine,
                    "state": "running" if mine or age < STALE_AFTER_S else "lost",
                    "age": round(age, 1),
                }
            )
        return engines

    def _state(self, state: ServiceState, message: str) -> None:
        self._summary_said = ""  # the next publish round says each engine's state again
        self._host.publish(
            ServiceEvent(service="store", state=state, address=self.store.path, message=message)
        )
        level: Literal["info", "warning"] = "warning" if state == "failed" else "info"
        self._host.publish(EngineMessage(level=level, text=message))
