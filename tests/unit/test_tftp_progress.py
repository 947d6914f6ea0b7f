"""The shared transfer reporter: coalesced progress (≤ ~10/s) and exactly one terminal event."""

from __future__ import annotations

from pxetui.core.events import (
    Event,
    SizeProbe,
    TransferFailed,
    TransferFinished,
    TransferProgress,
    TransferStarted,
)
from pxetui.engine.progress import TransferReporter


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _reporter(events: list[Event], clock: FakeClock) -> TransferReporter:
    return TransferReporter(
        events.append,
        proto="tftp",
        client_ip="10.0.0.5",
        client_port=2070,
        filename="\x1b[2Jpxelinux.0",
        size=1_000_000,
        clock=clock,
    )


def test_progress_is_coalesced_to_ten_per_second() -> None:
    """10 000 updates over one simulated second publish at most ~10 progress events."""
    events: list[Event] = []
    clock = FakeClock()
    rep = _reporter(events, clock)
    for i in range(10_000):
        clock.now = 100.0 + i / 10_000
        rep.progress(i * 100)
    progress = [e for e in events if isinstance(e, TransferProgress)]
    assert 9 <= len(progress) <= 11
    assert progress[-1].rate_bps > 0


def test_rate_is_bytes_per_second_since_the_last_report() -> None:
    """Sending 1 MB in 0.5 s reports about 2 MB/s."""
    events: list[Event] = []
    clock = FakeClock()
    rep = _reporter(events, clock)
    clock.now += 0.5
    rep.progress(1_000_000)
    (event,) = events
    assert isinstance(event, TransferProgress)
    assert abs(event.rate_bps - 2_000_000) < 1


def test_only_one_terminal_event_is_published() -> None:
    """After finished, a later failed/size_probe/progress is ignored."""
    events: list[Event] = []
    clock = FakeClock()
    rep = _reporter(events, clock)
    rep.started({"blksize": "1468"})
    clock.now += 2
    rep.finished(1_000_000, retransmits=3)
    rep.failed("late")
    rep.size_probe()
    clock.now += 1
    rep.progress(5)
    kinds = [type(e) for e in events]
    assert kinds == [TransferStarted, TransferFinished]
    done = events[1]
    assert isinstance(done, TransferFinished)
    assert (done.seconds, done.retransmits) == (2.0, 3)


def test_events_carry_a_cleaned_filename_and_one_transfer_id() -> None:
    """Escape sequences and markup never reach events; all events share the transfer id."""
    events: list[Event] = []
    rep = _reporter(events, FakeClock())
    rep.started({"[b]x": "\x07"})
    rep.size_probe()
    assert isinstance(events[1], SizeProbe)
    assert all(e.filename == "?(2Jpxelinux.0" for e in events)  # type: ignore[attr-defined]
    assert len({e.transfer_id for e in events}) == 1  # type: ignore[attr-defined]
    started = events[0]
    assert isinstance(started, TransferStarted) and started.options == {"(b)x": "?"}


def test_failed_keeps_the_last_known_byte_count() -> None:
    """A failure reports how far the transfer got."""
    events: list[Event] = []
    rep = _reporter(events, FakeClock())
    rep.progress(4096)
    rep.failed("client went away")
    failed = events[-1]
    assert isinstance(failed, TransferFailed) and failed.bytes_sent == 4096
