"""The main screen as an operator reads it: what each column keeps at 80x24, bars in colour
and ASCII without, and a table that takes only the height its clients need."""

from __future__ import annotations

import pytest

from pxetui.ui.app import PxeConsole
from pxetui.ui.connection import EngineLink
from pxetui.ui.widgets.client_table import ClientTable
from pxetui.ui.widgets.service_bar import LinkBadge, ServiceBadge
from tests.ui.conftest import wait_for
from tests.ui.replay_engine import ReplayEngine, client_event, snapshot


def _rows(table: ClientTable, count: int) -> list[str]:
    return [table.render_line(y).text for y in range(count + 1)]


async def test_narrow_table_keeps_mac_entry_star_phase_mark_and_progress(
    replay: ReplayEngine,
) -> None:
    """At 80x24 the once '*' survives a cut entry name, '!' leads the short phase word,
    and every row's progress ends in its percent or its failure word."""
    replay.snap = snapshot(6, mixed=True)
    app = PxeConsole(EngineLink(replay.socket_path))
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(ClientTable)
        await wait_for(pilot, lambda: table.row_count == 6)
        header, *rows = _rows(table, 6)
        assert header.split() == ["MAC", "IP", "Arch", "Entry", "Phase", "Progress"]
        assert "52:54:00:e2:00:01" in rows[1] and "ubuntu-24…*" in rows[1]
        assert " image " in rows[1] and " booted " in rows[2] and " dhcp " in rows[3]
        assert "!kernel" in rows[0] and "!kernel" in rows[4]
        assert rows[0].rstrip().endswith("0%") and rows[2].rstrip().endswith("100%")
        assert rows[4].rstrip().endswith("missing")
        assert all(len(row) == 80 for row in rows)


async def test_progress_is_a_coloured_bar_with_colour(replay: ReplayEngine) -> None:
    """In colour the Progress cell is a line bar; a failure is a word in red."""
    replay.snap = snapshot(6, mixed=True)
    app = PxeConsole(EngineLink(replay.socket_path))
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(ClientTable)
        await wait_for(pilot, lambda: table.row_count == 6)
        handed = table.render_line(3)
        assert "━━━" in handed.text and "#" not in handed.text
        bar = next(s for s in handed if "━" in s.text)
        assert bar.style is not None and bar.style.color is not None
        assert bar.style.color.name == "green"
        missing = next(s for s in table.render_line(5) if s.text.strip() == "missing")
        assert missing.style is not None and missing.style.color is not None
        assert missing.style.color.name == "red"


async def test_progress_is_ascii_without_colour(
    replay: ReplayEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NO_COLOR: the bar is '##..' so it reads on a mono ssh session."""
    monkeypatch.setenv("NO_COLOR", "1")
    replay.snap = snapshot(6, mixed=True)
    app = PxeConsole(EngineLink(replay.socket_path))
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(ClientTable)
        await wait_for(pilot, lambda: table.row_count == 6)
        rows = _rows(table, 6)
        assert "####### 100%" in rows[3]
        assert "━" not in "".join(rows)


@pytest.mark.parametrize("clients", [0, 3, 300])
async def test_table_takes_the_height_it_needs_and_the_logs_the_rest(
    replay: ReplayEngine, clients: int
) -> None:
    """Few clients: a short table and tall logs. Many: the table is capped, logs keep room."""
    replay.snap = snapshot(clients, mixed=True)
    app = PxeConsole(EngineLink(replay.socket_path))
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(ClientTable)
        await wait_for(pilot, lambda: table.row_count == clients)
        await pilot.pause(0.1)
        logs = app.screen.query_one("#logs")
        if clients == 300:
            assert 15 <= table.size.height <= 22
            assert logs.size.height >= 15
        else:
            assert table.size.height == max(clients, 3) + 1
            assert logs.size.height == 40 - 2 - table.size.height


async def test_a_growing_table_grows_on_screen(replay: ReplayEngine) -> None:
    """A client that appears later gets its row without the screen being resized."""
    replay.snap = snapshot(3, mixed=True)
    app = PxeConsole(EngineLink(replay.socket_path))
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(ClientTable)
        await wait_for(pilot, lambda: table.row_count == 3)
        for i in range(3, 8):
            replay.publish(client_event(i))
        await wait_for(pilot, lambda: table.row_count == 8)
        await wait_for(pilot, lambda: table.size.height == 9)


async def test_service_bar_fits_80_columns(replay: ReplayEngine) -> None:
    """At 80x24 every badge is whole (``TFTP :6969``, ``engine ✓``); the failed DHCP badge
    takes the rest of the line for its reason."""
    app = PxeConsole(EngineLink(replay.socket_path))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(ClientTable).row_count == 6)
        link = app.screen.query_one(LinkBadge)
        await wait_for(pilot, lambda: link.has_class("-attached"))
        await pilot.pause(0.1)
        for badge_id, text in (("#service-tftp", "TFTP :6969"), ("#service-http", "HTTP :8080")):
            badge = app.screen.query_one(badge_id, ServiceBadge)
            assert str(badge.render()) == text
            assert badge.content_size.width >= len(text)
        assert str(link.render()) == "engine ✓" and link.content_size.width >= 8
        dhcp = app.screen.query_one("#service-dhcp", ServiceBadge)
        assert dhcp.has_class("-failed") and dhcp.size.width >= 40
