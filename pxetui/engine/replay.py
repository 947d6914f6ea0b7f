"""Client rows rebuilt at start from what the store kept, so a restart keeps the client table."""

from __future__ import annotations

from pxetui.core.events import (
    DhcpEvent,
    FileNotFound,
    RequestRefused,
    TransferEvent,
    event_from_dict,
)
from pxetui.core.profile.model import Profile
from pxetui.core.tracker import ClientTracker
from pxetui.engine.store.protocol import STORE_ERRORS, Store

REPLAY_CLIENTS = 500  # client rows rebuilt from history at start
REPLAY_EVENTS = 200  # per client


def replay_history(tracker: ClientTracker, db: Store, effective: Profile) -> None:
    """Assignments from *effective*, then each recent client's newest events, into *tracker*.

    Transfers the history shows running were cut short by the stop: they end as such.
    """
    for mac, host in effective.hosts.items():
        tracker.set_assignment(mac, host.entry, host.once, host.hostname)
        tracker.set_nics(mac, host.macs)
    try:
        recent = db.macs_with_history()[:REPLAY_CLIENTS]
    except STORE_ERRORS:
        recent = []  # a shared store away at start: the table fills as clients boot
    for mac in recent:
        try:
            rows = db.history(mac, REPLAY_EVENTS)
        except STORE_ERRORS:
            break
        for data in rows:
            try:
                event = event_from_dict(data)
            except (ValueError, TypeError):
                continue  # a kind this version does not know
            if isinstance(event, DhcpEvent | TransferEvent | FileNotFound | RequestRefused):
                tracker.apply(event)
    tracker.abandon_running("transfer cut short: the engine stopped")
