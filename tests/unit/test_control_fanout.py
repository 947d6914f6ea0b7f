"""A subscriber's queue: newest row per client, log lines bounded per tick, kept events in
order up to a depth (then the subscriber is dropped instead of the engine blocking)."""

from __future__ import annotations

import json

from pxetui.core.events import (
    ClientUpdated,
    EngineMessage,
    FileNotFound,
    RequestRefused,
    TransferFailed,
    TransferProgress,
)
from pxetui.core.mac import MacAddress
from pxetui.engine.control.fanout import SubscriberQueue, Tick
from pxetui.engine.control.server import tick_bytes

MAC = MacAddress.parse("52:54:00:e2:e0:01")


def progress(tid: str, sent: int) -> TransferProgress:
    return TransferProgress(
        transfer_id=tid, proto="tftp", client_ip="10.0.0.1", filename="k", bytes_sent=sent
    )


async def test_progress_and_client_updates_coalesce_to_the_newest_in_place() -> None:
    """Waiting progress for one transfer is replaced, keeping its place among other events."""
    queue = SubscriberQueue(depth=10)
    queue.put(progress("a", 1))
    queue.put(EngineMessage(text="hello"))
    queue.put(progress("a", 2))
    queue.put(progress("b", 5))
    queue.put(ClientUpdated(mac=MAC, state={"phase": "offered"}))
    queue.put(ClientUpdated(mac=MAC, state={"phase": "loader"}))
    got = [await queue.get() for _ in range(4)]
    assert isinstance(got[0], TransferProgress) and got[0].bytes_sent == 2
    assert isinstance(got[1], EngineMessage)
    assert isinstance(got[2], TransferProgress) and got[2].transfer_id == "b"
    assert isinstance(got[3], ClientUpdated) and got[3].state == {"phase": "loader"}
    assert len(queue) == 0


async def test_a_full_queue_overflows_and_then_yields_none() -> None:
    """Past its depth the queue gives up on the subscriber rather than grow."""
    queue = SubscriberQueue(depth=3)
    for i in range(4):
        queue.put(EngineMessage(text=str(i)))
    assert queue.overflowed
    assert await queue.get() is None


async def test_get_nowait_drains_what_is_waiting_without_blocking() -> None:
    """The writer can take a whole burst in one go; an empty queue gives None at once."""
    queue = SubscriberQueue(depth=10)
    for i in range(3):
        queue.put(EngineMessage(text=str(i)))
    got = [queue.get_nowait() for _ in range(4)]
    assert [e.text for e in got[:3] if isinstance(e, EngineMessage)] == ["0", "1", "2"]
    assert got[3] is None and not queue.overflowed


def client_row(mac: MacAddress, phase: str) -> ClientUpdated:
    return ClientUpdated(mac=mac, state={"mac": mac.colon, "phase": phase})


def miss(i: int) -> FileNotFound:
    return FileNotFound(proto="tftp", client_ip="10.0.0.1", filename=f"pxelinux.cfg/{i}")


async def test_a_slow_reader_gets_the_latest_row_of_every_client_not_a_drop() -> None:
    """10,000 row updates for 1,000 clients between two ticks: one row each, the newest."""
    queue = SubscriberQueue(depth=20)
    macs = [MacAddress.parse(f"52:54:00:00:{i >> 8:02x}:{i & 0xFF:02x}") for i in range(1000)]
    for round_ in range(10):
        for mac in macs:
            queue.put(client_row(mac, f"round {round_}"))
    assert not queue.overflowed
    tick = queue.take()
    rows = [e for e in tick.events if isinstance(e, ClientUpdated)]
    assert [e.mac for e in rows] == macs
    assert {e.state["phase"] for e in rows} == {"round 9"}
    assert tick.coalesced == 9000 and tick.skipped == 0
    assert not queue.take() and len(queue) == 0


async def test_log_lines_over_the_tick_budget_are_counted_not_queued() -> None:
    """A flood of misses: the first lines wait, the rest are a count; a kept event is never
    skipped and keeps its place."""
    queue = SubscriberQueue(depth=20, log_lines=5)
    for i in range(3):
        queue.put(miss(i))
    queue.put(EngineMessage(text="assigned"))
    for i in range(3, 5000):
        queue.put(miss(i))
    tick = queue.take()
    assert [getattr(e, "filename", getattr(e, "text", "")) for e in tick.events] == [
        "pxelinux.cfg/0",
        "pxelinux.cfg/1",
        "pxelinux.cfg/2",
        "assigned",
        "pxelinux.cfg/3",
        "pxelinux.cfg/4",
    ]
    assert tick.skipped == 4995 and not queue.overflowed
    queue.put(miss(6000))  # the budget is per tick: the next one has room again
    assert [e.filename for e in queue.take().events if isinstance(e, FileNotFound)] == [
        "pxelinux.cfg/6000"
    ]


async def test_a_flood_of_routine_lines_never_hides_a_failure() -> None:
    """Misses over the budget are counted; a refusal and a failed transfer after them still
    go out (their own budget), in order."""
    queue = SubscriberQueue(depth=20, log_lines=5)
    for i in range(1000):
        queue.put(miss(i))
    queue.put(RequestRefused(proto="tftp", client_ip="10.0.0.9", filename="../x", reason="escape"))
    queue.put(
        TransferFailed(
            transfer_id="t1", proto="tftp", client_ip="10.0.0.9", filename="k", reason="timeout"
        )
    )
    tick = queue.take()
    kinds = [e.kind for e in tick.events]
    assert kinds == ["file_not_found"] * 5 + ["request_refused", "transfer_failed"], kinds
    assert tick.skipped == 995


async def test_kept_events_past_the_depth_still_drop_the_subscriber() -> None:
    """Services, assignments, messages are never skipped: past the depth, the last resort."""
    queue = SubscriberQueue(depth=3, log_lines=1)
    for i in range(3):
        queue.put(EngineMessage(text=str(i)))
    assert not queue.overflowed
    queue.put(EngineMessage(text="one too many"))
    assert queue.overflowed and not queue.take().events


def test_a_tick_on_the_wire_is_event_lines_then_the_counts() -> None:
    """Readers that know no ticks read the event lines and ignore the counts line."""
    tick = Tick(events=[client_row(MAC, "loader"), miss(1)], coalesced=7, skipped=2)
    lines = [json.loads(line) for line in tick_bytes(tick).splitlines()]
    assert [line["event"]["kind"] for line in lines[:2]] == ["client", "file_not_found"]
    assert lines[2] == {"tick": {"coalesced": 7, "skipped": 2}}
    assert tick_bytes(Tick(events=[miss(1)])).count(b"\n") == 1  # no counts: no line


async def test_a_tick_takes_at_most_its_share_and_the_rest_keeps_coalescing() -> None:
    """Rows beyond a tick's share wait in order for the next one, and still get newer."""
    queue = SubscriberQueue(depth=20)
    macs = [MacAddress.parse(f"52:54:00:00:00:{i:02x}") for i in range(5)]
    for mac in macs:
        queue.put(client_row(mac, "offered"))
    first = queue.take(3)
    assert [e.mac for e in first.events if isinstance(e, ClientUpdated)] == macs[:3]
    queue.put(client_row(macs[4], "loader"))  # still waiting: replaced in place
    rest = queue.take(3)
    assert [(e.mac, e.state["phase"]) for e in rest.events if isinstance(e, ClientUpdated)] == [
        (macs[3], "offered"),
        (macs[4], "loader"),
    ]
    assert rest.coalesced == 1 and len(queue) == 0
