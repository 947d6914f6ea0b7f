"""The boot rules on event streams captured from real firmware (``tests/e2e`` boot stories).

Each ``tests/data/tracker/stories/<story>.jsonl`` is the engine's event log of one story run
under QEMU (its serial console is kept next to it, ``.serial.txt``, and its profile,
``.profile.yaml``). Replayed through a fresh tracker — with the assignment changes the engine
made, as the engine applies them — the boots must come out as the firmware really booted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from pxetui.core.boot_stage import StageMap
from pxetui.core.client_state import ClientState
from pxetui.core.events import AssignmentChanged, ClientUpdated, event_from_dict
from pxetui.core.profile.loader import load_profile
from pxetui.core.tracker import ClientTracker

STORIES = Path(__file__).resolve().parent.parent / "data" / "tracker" / "stories"


@dataclass(frozen=True)
class Seen:
    """What one boot must show: entry, outcome, menu item, NIC (None: don't care), hints."""

    entry: str
    outcome: str
    menu_item: str | None = None
    nic: str | None = None
    hints: frozenset[str] = frozenset()
    once: bool | None = None
    cleared: frozenset[str] = frozenset()
    """Hints that held during the boot and stopped holding before its end."""


EXPECTED: dict[str, tuple[str, tuple[Seen, ...]]] = {
    "bios-twice": (
        "52:54:00:e2:e0:01",
        (Seen("tiny", "handed_over"), Seen("tiny", "handed_over")),
    ),
    "once-local": (
        "52:54:00:e2:e0:01",
        (Seen("tiny", "handed_over", once=True), Seen("local", "local")),
    ),
    "multi-nic": (
        "52:54:00:e2:e0:21",
        (Seen("tiny", "handed_over", nic="52:54:00:e2:e0:22", hints=frozenset({"lookup_trail"})),),
    ),
    "menu-default": (
        "52:54:00:e2:e0:01",
        (Seen("quick-menu", "handed_over", menu_item="tiny"),),
    ),
    "menu-once": (
        "52:54:00:e2:e0:01",
        (Seen("quick-menu", "handed_over", menu_item="tiny", once=True), Seen("local", "local")),
    ),
    "menu-once-late-4011": (
        "52:54:00:e2:e0:01",
        (Seen("quick-menu", "handed_over", menu_item="tiny", once=True), Seen("local", "local")),
    ),
    "uefi-size-probe": (
        "52:54:00:e2:e0:01",
        (Seen("tiny", "handed_over", hints=frozenset({"size_probe"})),),
    ),
    "uefi-late-proxy-line": (
        "52:54:00:e2:e0:01",
        (Seen("tiny", "handed_over", hints=frozenset({"size_probe"})),),
    ),
    "no-ra": (
        "52:54:00:e2:e0:01",
        (Seen("tiny", "handed_over", cleared=frozenset({"ra_wait"})),),
    ),
    "missing-kernel": (
        "52:54:00:e2:e0:01",
        (Seen("tiny", "running", hints=frozenset({"file_missing"})),),
    ),
    "initrd-0600": (
        "52:54:00:e2:e0:01",
        (Seen("tiny", "running", hints=frozenset({"file_unreadable"})),),
    ),
    "secure-boot-refused": (
        "52:54:00:e2:e0:01",
        (Seen("tiny", "running", hints=frozenset({"size_probe", "loader_refused"})),),
    ),
    "s390x-race-lost": (
        "52:54:00:e2:e3:90",
        (Seen("s390x-tiny", "running", hints=frozenset({"dhcp_race_lost"})),),
    ),
    "unknown-mac": (
        "52:54:00:e2:e0:99",
        (Seen("lab-menu", "handed_over", menu_item="tiny", hints=frozenset({"default_config"})),),
    ),
}


LINGER_S = 20
"""The stories watch the console this long after the boot: time passes for the tracker too."""


def replay(story: str) -> ClientTracker:
    """The story's events through a tracker set up as the engine sets it up, ticking once a
    second as the engine does."""
    profile = load_profile(STORIES / f"{story}.profile.yaml")
    tracker = ClientTracker(StageMap.from_profile(profile))
    tracker.set_default(profile.unknown)
    for mac, host in profile.hosts.items():
        tracker.set_assignment(mac, host.entry, host.once, host.hostname)
        tracker.set_nics(mac, host.macs)
    clock: float | None = None
    for line in (STORIES / f"{story}.jsonl").read_text().splitlines():
        data = json.loads(line)
        if data.get("kind") == ClientUpdated.kind:
            continue  # the engine's own view at capture time: what we recompute
        event = event_from_dict(data)
        while clock is not None and clock + 1.0 <= event.ts:  # the engine's 1 s ticker
            clock += 1.0
            tracker.tick(clock)
        clock = event.ts if clock is None else max(clock, event.ts)
        if isinstance(event, AssignmentChanged) and event.entry is not None:
            tracker.set_assignment(event.mac, event.entry, event.once)
        tracker.apply(event)
    for _ in range(LINGER_S):
        assert clock is not None
        clock += 1.0
        tracker.tick(clock)
    return tracker


def test_every_captured_story_has_an_expectation() -> None:
    """A story captured without saying what it must show would test nothing."""
    captured = {p.name.removesuffix(".jsonl") for p in STORIES.glob("*.jsonl")}
    assert captured, f"no captured stories in {STORIES}"
    assert captured <= set(EXPECTED), f"captured, no expectation: {captured - set(EXPECTED)}"


@pytest.mark.parametrize("story", sorted(EXPECTED))
def test_a_captured_story_folds_into_the_boots_that_really_happened(story: str) -> None:
    """One row for the machine, one boot per real boot, each ending as the console showed."""
    if not (STORIES / f"{story}.jsonl").exists():
        pytest.fail(f"{story}.jsonl is not in {STORIES}")
    mac, expected = EXPECTED[story]
    tracker = replay(story)
    rows = [c.mac.colon for c in tracker.clients() if c.boots]
    assert rows == [mac], rows
    client = tracker.clients()[[c.mac.colon for c in tracker.clients()].index(mac)]
    assert isinstance(client, ClientState)
    got = [
        (b.entry, b.outcome, b.menu_item, b.nic.colon, frozenset(b.hints), b.once,
         frozenset(h.code for h in b.cleared))
        for b in client.boots
    ]  # fmt: skip
    assert len(got) == len(expected), got
    if story == "s390x-race-lost":
        assert client.ip is None, "an address we only offered is shown as the client's"
    for boot, want in zip(got, expected, strict=True):
        entry, outcome, item, nic, hints, once, cleared = boot
        assert (entry, outcome, item) == (want.entry, want.outcome, want.menu_item), boot
        assert want.nic is None or nic == want.nic, boot
        assert hints == want.hints, boot
        assert want.once is None or once == want.once, boot
        assert cleared == want.cleared, boot
