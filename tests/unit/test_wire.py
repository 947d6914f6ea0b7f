"""The client shape on the wire: what the engine sends reads back the same, and anything
else reads back safe."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pxetui.core.boot_stage import StageMap
from pxetui.core.events import DhcpEvent, FileNotFound, TransferFinished, TransferStarted
from pxetui.core.mac import MacAddress
from pxetui.core.profile.model import Profile
from pxetui.core.sanitize import clean
from pxetui.core.tracker import ClientTracker
from pxetui.core.wire import WIRE_VERSION, ClientRow

MAC = MacAddress.parse("52:54:00:e2:e0:01")


def _client() -> ClientTracker:
    profile = Profile.model_validate(
        {"entries": {"c": {"kind": "linux", "kernel": "k", "initrds": ["i"]}}}
    )
    tracker = ClientTracker(StageMap.from_profile(profile))
    tracker.set_assignment(MAC, "c", once=True)
    for start in (10.0, 50.0):
        tracker.apply(
            DhcpEvent(ts=start, msg_type="PXE", mac=MAC, user_class="iPXE", arch=0,
                      vendor_class="PXEClient:Arch:00000:UNDI:002001")
        )  # fmt: skip
        for n, name in enumerate(("ipxe/52-54-00-e2-e0-01.ipxe", "k", "i")):
            common = {"transfer_id": f"{start}{n}", "proto": "http", "client_ip": "10.0.0.9"}
            tracker.apply(TransferStarted(ts=start + n, size=5, filename=name, **common))
            tracker.apply(
                TransferFinished(ts=start + n, bytes_sent=5, seconds=1, filename=name, **common)
            )
    tracker.apply(FileNotFound(ts=60.0, proto="tftp", client_ip="10.0.0.9", filename="x.c32"))
    return tracker


def test_what_the_engine_sends_reads_back_the_same() -> None:
    """to_dict → JSON → from_dict → to_dict is the identity, full and per-change shapes."""
    state = _client().get(MAC)
    assert state is not None
    for full in (True, False):
        sent = json.loads(json.dumps(state.to_dict(full=full)))
        assert sent["v"] == WIRE_VERSION
        assert ClientRow.from_dict(sent).to_dict() == sent
        assert ClientRow.from_dict(sent) == state.row(full)


def test_the_stream_row_is_a_summary_of_the_whole_row() -> None:
    """No boot history; the latest boot's running transfers (at most 4) or else its last;
    everything a table row shows is the whole row's; ``summary`` survives the wire."""
    tracker = _client()
    state = tracker.get(MAC)
    assert state is not None
    whole = state.row(full=True)
    summary = json.loads(json.dumps(state.summary_dict()))
    row = ClientRow.from_dict(summary)
    assert row.summary and not whole.summary and row.boots == () and len(whole.boots) == 3
    assert [t.filename for t in row.transfers] == ["x.c32"]  # nothing runs: the last one
    assert len(whole.transfers) == 1 and len(whole.boots[0].transfers) == 3
    same = ("mac", "phase", "phases", "entry", "once", "ip", "arch", "hints", "outcome")
    assert all(getattr(row, name) == getattr(whole, name) for name in same)
    assert ClientRow.from_dict(summary).to_dict() == summary
    for n in range(6):  # six transfers running at once: the newest four
        common = {"transfer_id": f"r{n}", "proto": "tftp", "client_ip": "10.0.0.9"}
        tracker.apply(TransferStarted(ts=70.0 + n, size=5, filename=f"r{n}", **common))
    row = ClientRow.from_dict(state.summary_dict())
    assert [t.filename for t in row.transfers] == ["r2", "r3", "r4", "r5"]
    assert all(t.state == "running" for t in row.transfers)


_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
_keys = st.sampled_from(
    ["mac", "macs", "ip", "phase", "phases", "hints", "transfers", "boots", "once", "arch_code",
     "last_seen", "entry", "outcome", "hostname"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_keys, _values, max_size=10))
def test_anything_at_all_reads_as_a_safe_row(data: dict[str, Any]) -> None:
    """A hostile or older peer's dict never raises, and no markup or control char survives."""
    row = ClientRow.from_dict(data)
    json.dumps(row.to_dict())  # always serialisable again
    for text in (row.mac, row.hostname or "", row.phase, row.entry or "", row.outcome):
        assert clean(text, 1000) == text, text  # no control character, no markup left
