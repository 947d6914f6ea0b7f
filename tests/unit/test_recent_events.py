"""The engine's ring of recent events: bounded, oldest first, without the noisy kinds."""

from __future__ import annotations

from pxetui.core.events import (
    ClientUpdated,
    EngineMessage,
    FileNotFound,
    TransferProgress,
    event_from_dict,
)
from pxetui.core.mac import MacAddress
from pxetui.engine.bus import EventBus
from pxetui.engine.control.recent import RecentEvents

MAC = MacAddress.parse("52:54:00:e2:e0:01")


def test_the_ring_keeps_only_the_newest_events_oldest_first() -> None:
    """1,000 events into a ring of 50: the last 50, in publish order."""
    recent = RecentEvents(size=50)
    for n in range(1_000):
        recent.add(EngineMessage(text=f"m{n}"))
    texts = [d["text"] for d in recent.dicts()]
    assert texts == [f"m{n}" for n in range(950, 1_000)]


def test_progress_and_client_updates_are_not_kept() -> None:
    """Per-block progress and derived client rows would push the real facts out of the ring."""
    recent = RecentEvents(size=10)
    recent.add(EngineMessage(text="start"))
    for n in range(100):
        recent.add(
            TransferProgress(
                transfer_id="t", proto="tftp", client_ip="10.0.0.1", filename="k", bytes_sent=n
            )
        )
        recent.add(ClientUpdated(mac=MAC, state={"mac": MAC.colon, "phase": "kernel"}))
    recent.add(FileNotFound(proto="tftp", client_ip="10.0.0.1", filename="pxelinux.cfg/default"))
    assert [d["kind"] for d in recent.dicts()] == ["message", "file_not_found"]


def test_kept_events_come_back_as_the_same_events() -> None:
    """The snapshot's dicts decode to the published events (MACs, timestamps and all)."""
    recent = RecentEvents()
    bus = EventBus()
    bus.subscribe(recent.add)
    sent = FileNotFound(proto="http", client_ip="10.0.0.2", filename="ipxe/52-54-00.ipxe", ts=5.0)
    bus.publish(sent)
    assert [event_from_dict(d) for d in recent.dicts()] == [sent]
    assert len(recent) == 1
