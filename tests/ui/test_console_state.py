"""The console's fold of the engine stream: coalesced, bounded, routed to the right client."""

from __future__ import annotations

from pxetui.core.events import (
    ClientUpdated,
    DhcpEvent,
    FileNotFound,
    ServiceEvent,
    TransferProgress,
    TransferStarted,
    event_to_dict,
)
from pxetui.core.mac import MacAddress
from pxetui.ui.console_state import CLIENT_LOGS_KEPT, ConsoleState

MAC = MacAddress.parse("52:54:00:e2:e0:01")


def _started(ip: str, name: str = "pxelinux.0") -> TransferStarted:
    return TransferStarted(transfer_id="t1", proto="tftp", client_ip=ip, filename=name)


def test_drain_keeps_only_the_latest_state_of_each_client() -> None:
    """Many ClientUpdated for one MAC between drains arrive as one state."""
    state = ConsoleState()
    for n in range(100):
        state.fold(ClientUpdated(mac=MAC, state={"mac": MAC.colon, "phase": f"p{n}"}))
    changes = state.drain()
    assert list(changes.clients) == [MAC]
    assert changes.clients[MAC].phase == "p99"
    assert not state.drain()


def test_transfer_lines_are_routed_to_the_client_by_its_ip() -> None:
    """A TFTP event carries only an IP; the MAC comes from the client's state."""
    state = ConsoleState()
    state.fold(ClientUpdated(mac=MAC, state={"mac": MAC.colon, "ip": "10.0.0.5"}))
    state.fold(_started("10.0.0.5"))
    state.fold(FileNotFound(proto="tftp", client_ip="10.0.0.9", filename="x"))
    assert [e.kind for e in state.client_log(MAC)] == ["transfer_started"]
    assert MAC in state.drain().logs


def test_dhcp_events_teach_the_ip_of_a_mac() -> None:
    """An ACK with an IP lets later transfers from that IP find the client."""
    state = ConsoleState()
    state.fold(DhcpEvent(msg_type="DHCPACK", mac=MAC, ip="10.0.0.7"))
    state.fold(_started("10.0.0.7"))
    assert [e.kind for e in state.client_log(MAC)] == ["dhcp", "transfer_started"]


def test_progress_events_do_not_flood_the_logs() -> None:
    """Progress is shown as bars (from the client state), never as log lines."""
    state = ConsoleState()
    state.fold(
        TransferProgress(
            transfer_id="t", proto="tftp", client_ip="1.2.3.4", filename="f", bytes_sent=10
        )
    )
    assert state.drain().events == []
    assert state.events_total == 1


def test_event_ring_is_bounded_and_counts_what_it_dropped() -> None:
    """5,000 events between two drains cost a ring, and the count of the rest."""
    state = ConsoleState(event_ring=100)
    for n in range(5_000):
        state.fold(FileNotFound(proto="tftp", client_ip="10.0.0.1", filename=f"f{n}"))
    changes = state.drain()
    assert len(changes.events) == 100
    assert changes.events[-1].filename == "f4999"  # type: ignore[attr-defined]
    assert changes.events_dropped == 4_900
    assert len(state.events) == 100


def test_per_client_logs_are_bounded_in_lines_and_in_clients() -> None:
    """Each client keeps a ring; the least recently active clients lose theirs first."""
    state = ConsoleState(client_log_ring=10)
    for n in range(30):
        state.fold(DhcpEvent(msg_type="PXE", mac=MAC, text=str(n)))
    assert len(state.client_log(MAC)) == 10
    for n in range(CLIENT_LOGS_KEPT + 5):
        state.fold(DhcpEvent(msg_type="PXE", mac=MacAddress(f"{n:012x}")))
    assert len(state.logs) == CLIENT_LOGS_KEPT
    assert state.client_log(MAC) == []


def test_snapshot_replaces_clients_and_services() -> None:
    """A (re)subscription's snapshot is the new truth, marked as such for the table."""
    state = ConsoleState()
    state.fold(ClientUpdated(mac=MAC, state={"mac": MAC.colon}))
    state.drain()
    other = MacAddress.parse("52:54:00:00:00:02")
    state.load_snapshot(
        {
            "clients": [{"mac": other.colon, "ip": "10.0.0.2"}, {"mac": "not a mac"}],
            "services": {"tftp": {"service": "tftp", "state": "running"}},
            "entries": {"tiny": {"kind": "linux"}},
            "unknown": "local",
        }
    )
    changes = state.drain()
    assert changes.meta["snapshot"] is True
    assert list(changes.clients) == [other]
    assert state.ip_to_mac["10.0.0.2"] == other
    assert state.entries == {"tiny": {"kind": "linux"}}
    assert changes.services["tftp"]["state"] == "running"


def test_service_events_update_the_service_table() -> None:
    """A failed dnsmasq reaches the drain as a service change with its reason."""
    state = ConsoleState()
    state.fold(ServiceEvent(service="dhcp", state="failed", message="exit 2"))
    changes = state.drain()
    assert changes.services["dhcp"]["state"] == "failed"
    assert changes.services["dhcp"]["message"] == "exit 2"


def test_a_per_mac_file_name_routes_the_transfer_to_that_mac() -> None:
    """pxelinux.cfg/01-<mac> names its client even from an IP nobody told us about."""
    state = ConsoleState()
    state.fold(_started("10.0.0.9", name="pxelinux.cfg/01-52-54-00-e2-e0-01"))
    assert [e.kind for e in state.client_log(MAC)] == ["transfer_started"]


def test_events_from_an_unknown_ip_wait_for_the_client_that_owns_it() -> None:
    """The engine's ClientUpdated can come after the transfer: the lines are handed over."""
    state = ConsoleState()
    state.fold(_started("10.0.0.5", name="images/vmlinuz"))
    assert state.client_log(MAC) == []
    state.fold(ClientUpdated(mac=MAC, state={"mac": MAC.colon, "ip": "10.0.0.5"}))
    assert [e.kind for e in state.client_log(MAC)] == ["transfer_started"]
    assert [e.kind for e in state.drain().logs[MAC]] == ["transfer_started"]


def test_a_snapshots_recent_events_arrive_as_the_past_oldest_first() -> None:
    """The engine's ring reaches the drain decoded; kinds this console cannot show are skipped."""
    state = ConsoleState()
    missing = FileNotFound(proto="tftp", client_ip="10.0.0.9", filename="x", ts=2.0)
    recent = [
        event_to_dict(ServiceEvent(service="tftp", state="running", ts=1.0)),
        {"kind": "from_a_newer_engine", "ts": 1.5},
        event_to_dict(
            TransferProgress(
                transfer_id="t",
                proto="tftp",
                client_ip="1.2.3.4",
                filename="f",
                bytes_sent=1,
                ts=1.7,
            )
        ),
        event_to_dict(missing),
    ]
    state.load_snapshot({"recent_events": recent})
    changes = state.drain()
    assert [e.kind for e in changes.past] == ["service", "file_not_found"]
    assert changes.past[-1] == missing
    assert list(state.events) == changes.past
    assert not state.drain().past  # the past is handed over once


def test_a_reattach_snapshot_replaces_events_still_pending_from_the_old_link() -> None:
    """Undrained events of the lost link are in the engine's ring: they come back once."""
    state = ConsoleState()
    old = DhcpEvent(msg_type="PXE", mac=MAC, ts=10.0)
    state.fold(old)
    meanwhile = DhcpEvent(msg_type="DHCPACK", mac=MAC, ip="10.0.0.7", ts=11.0)
    state.load_snapshot({"recent_events": [event_to_dict(old), event_to_dict(meanwhile)]})
    changes = state.drain()
    assert changes.events == []
    assert changes.past == [old, meanwhile]
    assert list(state.events) == [old, meanwhile]  # the console's ring: no double


def test_an_engine_without_recent_events_leaves_the_event_stream_alone() -> None:
    """Older engines send no ring: pending lines stay, nothing is marked as past."""
    state = ConsoleState()
    state.fold(DhcpEvent(msg_type="PXE", mac=MAC, ts=10.0))
    state.load_snapshot({})
    changes = state.drain()
    assert [e.kind for e in changes.events] == ["dhcp"]
    assert changes.past == []


def test_a_ticks_rows_fold_at_once_and_its_counts_are_events() -> None:
    """The engine's tick: rows folded together (newest each), the coalesced and skipped
    counts added to the events seen, the skipped ones said to the event log."""
    state = ConsoleState()
    other = MacAddress.parse("52:54:00:e2:e0:02")
    state.fold_clients(
        [
            (MAC, {"mac": MAC.colon, "phase": "offered", "ip": "10.0.0.5"}),
            (other, {"mac": other.colon, "phase": "loader"}),
            (MAC, {"mac": MAC.colon, "phase": "kernel", "ip": "10.0.0.5"}),
        ]
    )
    state.note_tick(coalesced=40, skipped=4210)
    changes = state.drain()
    assert {mac: row.phase for mac, row in changes.clients.items()} == {
        MAC: "kernel",
        other: "loader",
    }
    assert changes.events_dropped == 4210
    assert state.events_total == 3 + 40 + 4210
    state.fold(_started("10.0.0.5"))  # the row taught the console the client's IP
    assert [e.kind for e in state.client_log(MAC)] == ["transfer_started"]
