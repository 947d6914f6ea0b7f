"""The all-events pane: 'l' hides and shows it, 'k' narrows it to one kind of event."""

from __future__ import annotations

from pxetui.core.events import (
    DhcpEvent,
    Event,
    FileNotFound,
    TransferFailed,
    TransferFinished,
)
from pxetui.core.mac import MacAddress
from pxetui.ui.app import PxeConsole
from pxetui.ui.connection import EngineLink
from pxetui.ui.widgets.client_log import ClientLog
from pxetui.ui.widgets.client_table import ClientTable
from pxetui.ui.widgets.event_log import EventLog
from tests.ui.conftest import wait_for
from tests.ui.replay_engine import ReplayEngine, client_event, client_state, snapshot

MAC0 = MacAddress.parse("52:54:00:e2:00:00")
IP0 = client_state(0)["ip"]


def _mixed(tag: str) -> list[Event]:
    """One event of each source, their names carrying *tag* so the test can find them."""
    return [
        DhcpEvent(msg_type="DHCPACK", interface="br0", ip=IP0, mac=MAC0, text=f"dhcp-{tag}"),
        TransferFinished(
            transfer_id=f"t{tag}",
            proto="tftp",
            client_ip=IP0,
            filename=f"tftp-{tag}",
            bytes_sent=10,
            seconds=0.1,
        ),
        FileNotFound(proto="http", client_ip=IP0, filename=f"http-{tag}"),
        TransferFailed(
            transfer_id=f"f{tag}",
            proto="tftp",
            client_ip=IP0,
            filename=f"broken-{tag}",
            reason="timeout",
        ),
    ]


async def test_l_hides_the_pane_and_the_client_log_takes_the_width(replay: ReplayEngine) -> None:
    app = PxeConsole(EngineLink(replay.socket_path))
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(ClientTable)
        await wait_for(pilot, lambda: table.row_count == 6)
        events = app.screen.query_one(EventLog)
        client = app.screen.query_one(ClientLog)
        await wait_for(pilot, lambda: client.size.width > 0)  # shown once clients came
        assert events.display and events.size.width > 0
        half = client.size.width
        await pilot.press("l")
        assert not events.display
        await wait_for(pilot, lambda: client.size.width > half + 40)  # the whole row
        for event in _mixed("hidden"):  # events keep arriving while it is hidden
            replay.publish(event)
        await pilot.press("l")
        await wait_for(pilot, lambda: any("dhcp-hidden" in s for s in events.plain_lines))
        assert events.display
        await wait_for(pilot, lambda: client.size.width == half)  # half the row again


async def test_k_narrows_the_pane_to_each_kind_in_turn(replay: ReplayEngine) -> None:
    app = PxeConsole(EngineLink(replay.socket_path))
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(ClientTable)
        await wait_for(pilot, lambda: table.row_count == 6)
        log = app.screen.query_one(EventLog)
        for event in _mixed("before"):
            replay.publish(event)
        await wait_for(pilot, lambda: any("broken-before" in s for s in log.plain_lines))

        def events_shown() -> list[str]:  # event lines, not the dividers
            return [s for s in log.plain_lines if not s.startswith(("—", "…"))]

        await pilot.press("k")  # dhcp: the lines kept are re-filtered
        assert log.kind == "dhcp"
        assert log.border_title == "events: dhcp only"
        shown = events_shown()
        assert shown and all(" DHCP " in s for s in shown)
        assert any("dhcp-before" in s for s in shown)
        for event in _mixed("after"):  # what arrives is filtered too
            replay.publish(event)
        await wait_for(pilot, lambda: any("dhcp-after" in s for s in log.plain_lines))
        assert not any("tftp-after" in s for s in log.plain_lines)

        await pilot.press("k", "k")  # tftp, then http
        assert log.kind == "http"
        assert [s for s in events_shown() if "-before" in s or "-after" in s] == [
            s for s in events_shown() if "http-" in s
        ]
        await pilot.press("k", "k", "k")  # assign, service, errors
        assert log.kind == "errors"
        shown = events_shown()
        assert any("FAIL broken-before" in s for s in shown)
        assert any("dnsmasq exited" in s for s in shown)  # the failed service, from before
        assert not any("ok tftp-" in s or "dhcp-" in s for s in shown)

        await pilot.press("k")  # back to every kind
        assert log.kind is None
        assert log.border_title == "all events"
        assert any("tftp-before" in s for s in log.plain_lines)


async def test_without_clients_the_events_pane_takes_the_width(replay: ReplayEngine) -> None:
    """No client yet: no empty client pane; the first client brings it back."""
    replay.snap = snapshot(0)
    app = PxeConsole(EngineLink(replay.socket_path))
    async with app.run_test(size=(120, 40)) as pilot:
        events = app.screen.query_one(EventLog)
        client = app.screen.query_one(ClientLog)
        await wait_for(pilot, lambda: replay.subscribers == 1)
        await wait_for(pilot, lambda: not client.display)
        await pilot.pause()
        assert events.size.width > 100
        await pilot.press("l")  # both hidden would leave nothing: the client pane shows
        assert client.display and not events.display
        await pilot.press("l")
        assert not client.display
        replay.publish(client_event(0))
        table = app.screen.query_one(ClientTable)
        await wait_for(pilot, lambda: table.row_count == 1)
        assert client.display and events.display
