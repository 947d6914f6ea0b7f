"""A fleet's state in words: `pxetui status` lists every engine and tags each client."""

from __future__ import annotations

from pxetui.cli.status import render_state
from pxetui.core.wire import ClientRow
from pxetui.ui.widgets.service_bar import service_text

STATE = {
    "profile": {"name": "rack-a"},
    "services": {},
    "fleet": {
        "engine": "rack-a",
        "store": {"url": "postgresql://pxetui@db/pxetui", "online": True},
        "engines": [
            {"name": "rack-a", "state": "running", "address": "10.0.1.1", "age": 0.4,
             "services": {"tftp": {"state": "running"}, "dhcp": {"state": "running"}}},
            {"name": "rack-b", "state": "lost", "address": "10.0.2.1", "age": 42.0,
             "services": {"tftp": {"state": "running"}}},
        ],
    },
    "clients": [
        {"mac": "52:54:00:00:00:01", "engine": "rack-a"},
        {"mac": "52:54:00:00:00:02", "engine": "rack-b"},
    ],
    "assignments": {},
}  # fmt: skip


def test_status_names_each_engine_its_state_and_each_clients_engine() -> None:
    text = render_state(STATE, now=0.0)
    assert "fleet (store postgresql://pxetui@db/pxetui, online; this engine 'rack-a'):" in text
    assert "  rack-a     running  10.0.1.1        seen 0.4s ago  dhcp running tftp running" in text
    assert "  rack-b     lost     10.0.2.1        seen 42.0s ago  tftp running" in text
    assert "  rack-b     52:54:00:00:00:02" in text


def test_a_single_engine_row_has_no_engine_key_on_the_wire() -> None:
    """Without a store nothing changes: the row reads back without an ``engine``."""
    row = ClientRow.from_dict({"mac": "52:54:00:00:00:01"})
    assert row.engine is None and "engine" not in row.to_dict()
    assert ClientRow.from_dict({"mac": "x", "engine": "rack-b"}).to_dict()["engine"] == "rack-b"


def test_the_fleet_badge_reads_each_engines_state() -> None:
    lost = {"service": "store", "state": "running", "message": "1/2 ok, lost: rack-b"}
    assert service_text("Fleet", lost).plain == "Fleet 1/2 ok, lost: rack-b"
    down = {"service": "store", "state": "failed", "message": "shared store lost (x)"}
    assert service_text("Fleet", down).plain == "Fleet FAILED: shared store lost (x)"
