"""Events survive the JSON round trip used by the log and the control API."""

from __future__ import annotations

import json

from pxetui.core.events import (
    EVENT_TYPES,
    AssignmentChanged,
    DhcpEvent,
    TransferStarted,
    event_from_dict,
    event_to_dict,
)
from pxetui.core.mac import MacAddress
from pxetui.core.sanitize import clean


def test_round_trip_through_json() -> None:
    """to_dict -> json -> from_dict gives an equal event."""
    mac = MacAddress.parse("52:54:00:e2:e0:01")
    events = [
        DhcpEvent(msg_type="PXE", mac=mac, tags=("br0", "ipxe"), arch=7),
        TransferStarted(
            transfer_id="t1",
            proto="tftp",
            client_ip="10.0.0.5",
            filename="a",
            size=3,
            options={"blksize": "1468"},
        ),
        AssignmentChanged(mac=mac, entry=None, reason="once"),
    ]
    for ev in events:
        back = event_from_dict(json.loads(json.dumps(event_to_dict(ev))))
        assert back == ev


def test_every_kind_is_unique() -> None:
    """The registry has one class per kind tag."""
    assert len({cls.kind for cls in EVENT_TYPES.values()}) == len(EVENT_TYPES)


def test_clean_strips_escapes_markup_and_length() -> None:
    """Terminal escapes and Rich markup never survive clean()."""
    assert clean("a\x1b[31mb") == "a?(31mb"
    assert clean(b"\xff\x00x") == "\\xff?x"
    assert clean("[bold]x[/bold]") == "(bold)x(/bold)"
    assert len(clean("x" * 1000)) == 200
