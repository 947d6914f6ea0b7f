"""Profile hosts are the baseline; database assignments and the runtime default override."""

from __future__ import annotations

import pytest

from pxetui.core.events import DhcpEvent
from pxetui.core.mac import MacAddress
from pxetui.core.profile.model import Profile
from pxetui.core.tracker import ClientTracker
from pxetui.engine.assignments import assignment_table, check_entry, effective_profile
from pxetui.engine.neighbors import parse_arp_table
from pxetui.engine.persist import StoredAssignment

A = MacAddress.parse("52:54:00:00:00:0a")
B = MacAddress.parse("52:54:00:00:00:0b")
PROFILE = Profile.model_validate(
    {
        "entries": {
            "centos": {"kind": "linux", "kernel": "k"},
            "rescue": {"kind": "linux", "kernel": "r"},
        },
        "hosts": {"52:54:00:00:00:0a": {"entry": "centos", "hostname": "node-a"}},
    }
)


def row(mac: MacAddress, entry: str, once: bool = False) -> StoredAssignment:
    return StoredAssignment(mac, entry, once, None, "operator", 1000.0, "alice (uid 1001)")


def test_database_assignments_override_profile_hosts_and_add_new_ones() -> None:
    """An operator's assign wins over the profile, keeps the profile's hostname, adds MACs."""
    eff = effective_profile(PROFILE, {A: row(A, "rescue", once=True), B: row(B, "centos")}, None)
    assert (eff.hosts[A].entry, eff.hosts[A].once, eff.hosts[A].hostname) == (
        "rescue",
        True,
        "node-a",
    )
    assert eff.hosts[B].entry == "centos"
    assert PROFILE.hosts[A].entry == "centos"  # the operator's profile object is untouched
    table = assignment_table(PROFILE, {B: row(B, "centos")})
    assert table == {
        A.colon: {"entry": "centos", "once": False, "source": "profile"},
        B.colon: {
            "entry": "centos",
            "once": False,
            "source": "operator",
            "by": "alice (uid 1001)",
            "updated": 1000.0,
        },
    }


def test_assignments_to_vanished_entries_fall_back_to_the_baseline() -> None:
    """After a reload drops an entry, its stored assignments stop applying."""
    eff = effective_profile(PROFILE, {A: row(A, "gone")}, "gone")
    assert eff.hosts[A].entry == "centos" and eff.unknown == "local"


def test_runtime_default_replaces_unknown() -> None:
    """set_default's entry becomes what unknown clients boot."""
    assert effective_profile(PROFILE, {}, "rescue").unknown == "rescue"


def test_unknown_entry_names_are_rejected_with_the_list() -> None:
    """A typo names the entries there are."""
    check_entry(PROFILE, "local")
    with pytest.raises(ValueError, match="centos, local, rescue"):
        check_entry(PROFILE, "cent0s")


def test_arp_table_parsing_skips_incomplete_entries() -> None:
    """Only complete neighbour entries pair an IP with a MAC."""
    text = (
        "IP address       HW type     Flags       HW address            Mask     Device\n"
        "10.254.1.129     0x1         0x2         52:54:00:e2:e0:01     *        br0\n"
        "10.254.1.130     0x1         0x0         00:00:00:00:00:00     *        br0\n"
    )
    assert parse_arp_table(text) == {"10.254.1.129": MacAddress.parse("52:54:00:e2:e0:01")}


def test_tracker_default_entry_applies_to_unassigned_clients_only() -> None:
    """Changing the default updates unassigned clients; clearing an assignment reverts."""
    tracker = ClientTracker()
    tracker.set_assignment(A, "centos", once=True)
    tracker.set_default("local")
    for mac in (A, B):
        tracker.apply(DhcpEvent(ts=1.0, msg_type="DHCPDISCOVER", mac=mac))
    assert tracker.set_default("rescue") == {B}
    assert tracker.get(A).entry == "centos"  # type: ignore[union-attr]
    assert tracker.clear_assignment(A)
    assert (tracker.get(A).entry, tracker.get(A).once) == ("rescue", False)  # type: ignore[union-attr]
