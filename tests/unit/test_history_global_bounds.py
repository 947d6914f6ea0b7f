"""History is bounded in all, not only per MAC: by rows and by age, strangers first."""

from __future__ import annotations

import time
from pathlib import Path

from pxetui.core.events import DhcpEvent, FileNotFound
from pxetui.core.mac import MacAddress
from pxetui.engine.persist import EngineDatabase

DHCP_MACS = [MacAddress.parse(f"52:54:00:00:00:{i:02x}") for i in range(3)]


def _made_up(i: int) -> MacAddress:
    return MacAddress.parse(f"02:00:00:{i >> 16 & 0xFF:02x}:{i >> 8 & 0xFF:02x}:{i & 0xFF:02x}")


def _miss(i: int, ts: float) -> FileNotFound:
    mac = _made_up(i)
    return FileNotFound(
        proto="http",
        client_ip="10.0.0.9",
        filename=f"ipxe/{mac.colon.replace(':', '-')}.ipxe",
        ts=ts,
    )


def _dhcp(mac: MacAddress, ts: float) -> DhcpEvent:
    return DhcpEvent(msg_type="DHCPDISCOVER", mac=mac, ts=ts)


def test_over_the_row_bound_strangers_go_first(tmp_path: Path) -> None:
    """1,200 rows, bound 1,000: the 200 removed are all of MACs never seen in DHCP."""
    said: list[str] = []
    db = EngineDatabase(tmp_path / "h.db", history_rows=1000, prune_every_rows=10**9)
    db.on_prune = said.append
    db.open()
    now = time.time()
    # the DHCP clients' rows are the OLDEST: a plain oldest-first trim would take them
    db.record_many([(mac, _dhcp(mac, now - 100 + i)) for mac in DHCP_MACS for i in range(200)])
    db.record_many([(_made_up(i), _miss(i, now)) for i in range(600)])
    assert db.prune() == 200
    assert db.history_count() == 1000
    for mac in DHCP_MACS:
        assert len(db.history(mac, 1000)) == 200
    assert len(said) == 1 and "200 of MACs never seen in DHCP" in said[0]
    db.close()


def test_old_rows_go_whatever_the_count(tmp_path: Path) -> None:
    """Rows older than the age bound are deleted, at prune and when the database opens."""
    db = EngineDatabase(tmp_path / "h.db", history_age_s=3600, prune_every_rows=10**9)
    db.open()
    now = time.time()
    db.record_many([(DHCP_MACS[0], _dhcp(DHCP_MACS[0], now - 7200)) for _ in range(5)])
    db.record_many([(DHCP_MACS[0], _dhcp(DHCP_MACS[0], now)) for _ in range(3)])
    db.close()
    again = EngineDatabase(tmp_path / "h.db", history_age_s=3600)
    again.open()
    assert again.history_count() == 3
    again.close()


def test_a_flood_of_made_up_macs_stays_bounded(tmp_path: Path) -> None:
    """87k-style flood in batches: the total never passes the bound by more than a batch."""
    db = EngineDatabase(tmp_path / "h.db", history_rows=500, prune_every_rows=100)
    db.open()
    now = time.time()
    highest = 0
    for batch in range(30):
        db.record_many([(_made_up(batch * 100 + i), _miss(i, now)) for i in range(100)])
        highest = max(highest, db.history_count())
    assert highest <= 600
    assert db.history_count() <= 500
    db.close()
