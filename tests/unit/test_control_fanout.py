"""A subscriber's queue coalesces noisy events and overflows instead of blocking."""

from __future__ import annotations

from pxetui.core.events import ClientUpdated, EngineMessage, TransferProgress
from pxetui.core.mac import MacAddress
from pxetui.engine.control.fanout import SubscriberQueue

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
