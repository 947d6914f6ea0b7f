"""The ':' command line in the running console: completion, every kind of command, errors."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import Checkbox, OptionList

from pxetui.core.mac import MacAddress
from pxetui.ui.app import PxeConsole
from pxetui.ui.connection import EngineLink
from pxetui.ui.screens.assign import AssignScreen
from pxetui.ui.screens.client_detail import ClientDetailScreen
from pxetui.ui.screens.confirm import ConfirmScreen
from pxetui.ui.screens.help import HelpScreen
from pxetui.ui.widgets.client_table import ClientTable
from pxetui.ui.widgets.command_line import CommandLine
from pxetui.ui.widgets.event_log import EventLog
from tests.ui.conftest import wait_for
from tests.ui.replay_engine import ReplayEngine


def _mac(i: int) -> MacAddress:
    return MacAddress.parse(f"52:54:00:e2:00:{i:02x}")


async def _type(pilot: Pilot[object], line: str) -> None:
    """Open the line, put *line* in it (typing is the completion test's), press Enter."""
    await pilot.press("colon")
    pilot.app.screen.query_one(CommandLine).value = line
    await pilot.press("enter")
    await pilot.pause()


async def _attached(pilot: Pilot[object]) -> ClientTable:
    table = pilot.app.screen.query_one(ClientTable)
    await wait_for(pilot, lambda: table.row_count == 6)
    return table


async def test_tab_completes_the_command_the_mac_and_the_entry(replay: ReplayEngine) -> None:
    app = PxeConsole(EngineLink(replay.socket_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await _attached(pilot)
        await pilot.press("colon")
        line = app.screen.query_one(CommandLine)
        assert line.display and line.has_focus
        await pilot.press("a", "s", "tab")
        assert line.value == "assign "
        await pilot.press(*"e2:00:02", "tab")  # a part of the MAC
        assert line.value == "assign 52:54:00:e2:00:02 "
        await pilot.press(*"dis", "tab")
        assert line.value == "assign 52:54:00:e2:00:02 diskless "
        await pilot.press("enter")  # the assign dialog, with both chosen: Enter applies
        await wait_for(pilot, lambda: isinstance(app.screen, AssignScreen))
        assert not line.display
        entries = app.screen.query_one("#assign-entries", OptionList)
        assert entries.highlighted is not None
        assert entries.get_option_at_index(entries.highlighted).id == "diskless"
        await pilot.press("enter")
        await wait_for(pilot, lambda: any(r["op"] == "assign" for r in replay.requests))
        sent = next(r for r in replay.requests if r["op"] == "assign")
        assert (sent["mac"], sent["entry"], sent["once"]) == (_mac(2).colon, "diskless", False)


async def test_once_ticks_the_box_and_unassign_asks(replay: ReplayEngine) -> None:
    app = PxeConsole(EngineLink(replay.socket_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await _attached(pilot)
        await _type(pilot, "once e2:00:02 centos8")
        await wait_for(pilot, lambda: isinstance(app.screen, AssignScreen))
        assert app.screen.query_one("#assign-once", Checkbox).value
        await pilot.press("escape")
        await _type(pilot, "unassign e2:00:03")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert _mac(3).colon in str(app.screen.query_one("#confirm-title").render())
        await pilot.press("escape")
        await pilot.pause()
        assert not any(r["op"] in ("assign", "unassign") for r in replay.requests)


async def test_select_filter_sort_events_detail_and_help(replay: ReplayEngine) -> None:
    app = PxeConsole(EngineLink(replay.socket_path))
    async with app.run_test(size=(120, 40)) as pilot:
        table = await _attached(pilot)
        await _type(pilot, "select 00:04")
        assert table.selected_mac == _mac(4)
        await _type(pilot, "filter s390x")
        assert table.row_count == 2
        await _type(pilot, "select e2:00:00")  # hidden by the filter: the filter goes
        assert table.row_count == 6 and table.selected_mac == _mac(0)
        await _type(pilot, "sort hostname reverse")
        assert (table.sort_column, table.sort_reverse) == ("hostname", True)
        events = app.screen.query_one(EventLog)
        await _type(pilot, "events tftp")
        assert events.kind == "tftp"
        await _type(pilot, "events off")
        assert not events.display
        await _type(pilot, "events all")
        assert events.display and events.kind is None
        await _type(pilot, "detail")
        await wait_for(pilot, lambda: isinstance(app.screen, ClientDetailScreen))
        await pilot.press("escape")
        await _type(pilot, "help")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))


async def test_a_bad_line_says_why_and_stays_open_and_up_recalls(replay: ReplayEngine) -> None:
    app = PxeConsole(EngineLink(replay.socket_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await _attached(pilot)
        await _type(pilot, "assign e2:00:01 fedora")
        line = app.screen.query_one(CommandLine)
        assert line.display and line.value == "assign e2:00:01 fedora"
        assert any("no entry 'fedora'" in n.message for n in app._notifications)
        await pilot.press("escape")
        assert not line.display
        assert app.screen.query_one(ClientTable).has_focus
        await pilot.press("colon", "up")
        assert line.value == "assign e2:00:01 fedora"
        await pilot.press("escape")
        await _type(pilot, "quit")
        await wait_for(pilot, lambda: app.return_value is not None)


async def test_the_palette_has_an_entry_for_every_action(replay: ReplayEngine) -> None:
    app = PxeConsole(EngineLink(replay.socket_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await _attached(pilot)
        titles = {command.title for command in app.get_system_commands(app.screen)}
        wanted = {"Assign", "Assign once", "Unassign", "Unknown clients", "Client detail"}
        wanted |= {"Entries", "Filter clients", "Reload profile", "Command line", "Help"}
        wanted |= {"Show / hide all events", "Events: errors only", "Events: all"}
        wanted |= {"Sort clients", "Screenshot", "Quit"}
        assert wanted <= titles, wanted - titles
