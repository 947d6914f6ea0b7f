"""Pilot tests of every screen and flow, against a protocol-speaking replay engine.

Deterministic data, real sockets and framing; what must hold end to end (files on disk,
TFTP, dnsmasq) is in test_console_real_engine.py.
"""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from textual.widgets import Checkbox, Input, OptionList, Static

from pxetui.core.events import (
    ClientUpdated,
    EngineMessage,
    FileNotFound,
    TransferFinished,
    event_to_dict,
)
from pxetui.core.mac import MacAddress
from pxetui.ui.app import PxeConsole
from pxetui.ui.connection import EngineLink
from pxetui.ui.screens.assign import AssignScreen
from pxetui.ui.screens.client_detail import ClientDetailScreen
from pxetui.ui.screens.confirm import ConfirmScreen
from pxetui.ui.screens.entries import EntriesScreen
from pxetui.ui.screens.help import HelpScreen
from pxetui.ui.screens.quit import QuitChoice, QuitScreen
from pxetui.ui.widgets.client_table import ClientTable
from pxetui.ui.widgets.line_log import LineLog
from pxetui.ui.widgets.service_bar import LinkBadge, ServiceBadge
from tests.ui.conftest import wait_for
from tests.ui.replay_engine import T0, ReplayEngine, client_state, snapshot

MAC0 = MacAddress.parse("52:54:00:e2:00:00")


def _shown(static: Static, width: int = 76) -> str:
    """A Static's content as the text it shows at *width*."""
    console = Console(width=width, file=io.StringIO(), record=True)
    console.print(static.content)
    return console.export_text()


def _app(replay: ReplayEngine, ask: bool = False) -> PxeConsole:
    return PxeConsole(EngineLink(replay.socket_path), ask_on_quit=ask)


async def test_main_screen_shows_clients_and_a_failed_dnsmasq(replay: ReplayEngine) -> None:
    """The snapshot fills the table; the failed DHCP service reads FAILED with its reason."""
    app = _app(replay)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(ClientTable)
        await wait_for(pilot, lambda: table.row_count == 6)
        dhcp = app.screen.query_one("#service-dhcp", ServiceBadge)
        assert dhcp.has_class("-failed")
        assert "FAILED" in str(dhcp.render())
        assert "Address in use" in str(dhcp.data.get("message"))
        assert app.screen.query_one("#service-tftp", ServiceBadge).has_class("-running")
        assert app.screen.query_one(LinkBadge).has_class("-attached")


async def test_filter_and_sort_the_client_table(replay: ReplayEngine) -> None:
    """'/' filters by words; 's' cycles the sort column and the cursor keeps its client."""
    app = _app(replay)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(ClientTable)
        await wait_for(pilot, lambda: table.row_count == 6)
        await pilot.press("down", "down")
        chosen = table.selected_mac
        await pilot.press("slash", *"s390x")
        assert table.row_count == 2
        await pilot.press("escape")
        assert table.row_count == 6
        await pilot.press("s", "s")  # MAC, then host name
        assert table.sort_column == "hostname"
        await pilot.press("S")
        assert table.sort_reverse
        assert table.get_row_at(0)[1] == "node005"
        assert table.selected_mac == chosen


async def test_events_update_rows_and_the_selected_clients_log(replay: ReplayEngine) -> None:
    """A new client appears, a transfer from the selected client's IP shows in its log."""
    app = _app(replay)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(ClientTable)
        await wait_for(pilot, lambda: table.row_count == 6)
        await wait_for(pilot, lambda: replay.subscribers == 1)
        new = client_state(42)
        replay.publish(ClientUpdated(mac=MacAddress.parse(new["mac"]), state=new))
        ip0 = client_state(0)["ip"]
        replay.publish(
            TransferFinished(
                transfer_id="x",
                proto="tftp",
                client_ip=ip0,
                filename="ldlinux.c32",
                bytes_sent=122_308,
                seconds=0.2,
            )
        )
        replay.publish(FileNotFound(proto="tftp", client_ip="10.9.9.9", filename="stray"))
        await wait_for(pilot, lambda: table.row_count == 7)
        lines = app.screen.query_one("#client-lines", LineLog)
        await wait_for(pilot, lambda: any("ldlinux.c32" in s for s in lines.plain_lines))
        assert not any("stray" in s for s in lines.plain_lines)
        events = app.screen.query_one("#event-log", LineLog)
        await wait_for(pilot, lambda: any("stray" in s for s in events.plain_lines))


async def test_assign_previews_files_and_sends_the_typed_result(replay: ReplayEngine) -> None:
    """'a' opens the dialog with a preview diff; 'o' toggles once; Enter applies."""
    app = _app(replay)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(ClientTable)
        await wait_for(pilot, lambda: table.row_count == 6)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AssignScreen))
        preview = app.screen.query_one("#assign-preview")
        await wait_for(pilot, lambda: "pxelinux.cfg/01-52-54-00-e2-00-00" in str(preview.render()))
        assert "+DEFAULT centos8" in str(preview.render())
        await pilot.press("down", "o", "enter")
        await wait_for(pilot, lambda: any(r["op"] == "assign" for r in replay.requests))
        sent = next(r for r in replay.requests if r["op"] == "assign")
        assert sent == {
            "id": sent["id"],
            "op": "assign",
            "mac": MAC0.colon,
            "entry": "diskless",
            "once": False,
        }


async def test_the_reused_assign_dialog_is_about_the_client_it_was_opened_for(
    tmp_path: Path,
) -> None:
    """One assign dialog serves every client: reopened on another row it shows that MAC,
    that client's current entry and once flag, and the entries as they are now."""
    snap = snapshot()
    second = snap["clients"][1]["mac"]
    snap["assignments"][MAC0.colon] = {"entry": "centos8", "once": False, "source": "operator"}
    snap["assignments"][second] = {"entry": "local", "once": True, "source": "operator"}
    replay = ReplayEngine(tmp_path / "control.sock", snap).start()
    try:
        app = _app(replay)
        async with app.run_test(size=(120, 40)) as pilot:
            table = app.screen.query_one(ClientTable)
            await wait_for(pilot, lambda: table.row_count == 6)
            await pilot.press("a")
            await wait_for(pilot, lambda: isinstance(app.screen, AssignScreen))
            first = app.screen
            await pilot.press("down", "o", "escape")  # change the form, then cancel
            await wait_for(pilot, lambda: not isinstance(app.screen, AssignScreen))
            for _ in range(table.row_count):  # to the second client's row, wherever it sorts
                if table.selected_mac == MacAddress.parse(second):
                    break
                await pilot.press("down")
            assert table.selected_mac == MacAddress.parse(second)
            await pilot.press("a")
            await wait_for(pilot, lambda: isinstance(app.screen, AssignScreen))
            assert app.screen is first
            assert app.screen.query_one("#assign-mac", Input).value == second
            assert app.screen.query_one("#assign-once", Checkbox).value is True
            entries = app.screen.query_one("#assign-entries", OptionList)
            assert entries.highlighted is not None
            assert entries.get_option_at_index(entries.highlighted).id == "local"
            preview = app.screen.query_one("#assign-preview")
            name = "pxelinux.cfg/01-" + second.replace(":", "-")
            await wait_for(pilot, lambda: name in str(preview.render()))
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: any(r["op"] == "assign" for r in replay.requests))
            sent = next(r for r in replay.requests if r["op"] == "assign")
            assert (sent["mac"], sent["entry"], sent["once"]) == (second, "local", True)
    finally:
        replay.stop()


async def test_assign_rejects_a_typed_non_mac(replay: ReplayEngine) -> None:
    """A MAC typed in must parse; the dialog stays open and nothing is sent."""
    app = _app(replay)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(ClientTable).row_count == 6)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AssignScreen))
        mac_box = app.screen.query_one("#assign-mac", Input)
        mac_box.value = "52:54:zz"
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, AssignScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, AssignScreen)
        assert not any(r["op"] == "assign" for r in replay.requests)


async def test_unassign_and_unknown_entry(replay: ReplayEngine) -> None:
    """'u' asks first, then unassigns the selected client; 'd' sets the unknown-client entry."""
    app = _app(replay)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(ClientTable).row_count == 6)
        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: any(r["op"] == "unassign" for r in replay.requests))
        await pilot.press("d")
        await pilot.press("up", "enter")
        await wait_for(pilot, lambda: any(r["op"] == "set_default" for r in replay.requests))
        ops = {r["op"]: r for r in replay.requests}
        assert ops["unassign"]["mac"] == MAC0.colon
        assert ops["set_default"]["entry"] == "diskless"


async def test_unassign_asks_and_escape_changes_nothing(replay: ReplayEngine) -> None:
    """'u' names the client, its entry and what it will boot instead; Esc sends nothing."""
    app = _app(replay)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(ClientTable).row_count == 6)
        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        title = str(app.screen.query_one("#confirm-title").render())
        assert MAC0.colon in title and "centos8" in title
        await pilot.press("enter")  # the focus starts on Cancel
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        await pilot.pause(0.2)
        assert not any(r["op"] == "unassign" for r in replay.requests)


async def test_the_once_box_is_empty_until_checked(replay: ReplayEngine) -> None:
    """The assign dialog's once box shows no 'X' unchecked, and one after 'o'."""
    app = _app(replay)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(ClientTable).row_count == 6)
        await pilot.press("down")  # 52:54:00:e2:00:01 is not assigned once
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AssignScreen))
        box = app.screen.query_one("#assign-once", Checkbox)
        assert not box.value and "X" not in str(box.render())
        await pilot.press("o")
        await wait_for(pilot, lambda: box.value)
        assert "X" in str(box.render())


async def test_detail_shows_timeline_explainer_and_hints(replay: ReplayEngine) -> None:
    """Enter on a row opens the detail; the explainer's winner is marked."""
    app = _app(replay)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(ClientTable).row_count == 6)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ClientDetailScreen))
        explain = app.screen.query_one("#detail-explain")
        await wait_for(pilot, lambda: "=> wins" in str(explain.render()))
        hints_box = _shown(app.screen.query_one("#detail-hints", Static))
        assert "router advertisement" in hints_box and "seen: iPXE got our DHCP answer" in hints_box
        assert "#1 " in _shown(app.screen.query_one("#detail-boots", Static))
        assert app.screen.query_one("#detail-timeline").row_count == 4  # type: ignore[attr-defined]
        explain_req = next(r for r in replay.requests if r["op"] == "explain")
        assert explain_req["mac"] == MAC0.colon and explain_req["ip"] == "10.250.0.2"
        await pilot.press("escape")
        assert not isinstance(app.screen, ClientDetailScreen)


async def test_the_reused_detail_screen_shows_the_client_it_was_opened_for(
    replay: ReplayEngine,
) -> None:
    """One detail screen serves every client: reopened on another row it shows that row's
    client (title, identity, the whole row asked for), never the previous one's."""
    app = _app(replay)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(ClientTable).row_count == 6)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ClientDetailScreen))
        first = app.screen
        await pilot.press("escape")
        await pilot.press("down")
        second_mac = app.screen.query_one(ClientTable).selected_mac
        assert second_mac is not None and second_mac != MAC0
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ClientDetailScreen))
        assert app.screen is first
        hints = app.screen.query_one("#detail-hints", Static)
        assert hints.border_title == f"{second_mac.colon}: hints that hold now"
        identity = app.screen.query_one("#detail-identity", Static)
        await wait_for(pilot, lambda: second_mac.colon in _shown(identity, 100))
        assert MAC0.colon not in _shown(identity, 100)
        await wait_for(
            pilot,
            lambda: any(
                r["op"] == "client" and r["mac"] == second_mac.colon for r in replay.requests
            ),
            what="the second client's whole row asked for",
        )


async def test_detail_shows_the_whole_row_while_the_stream_sends_summaries(
    tmp_path: Path,
) -> None:
    """The stream's rows carry no boots (as the engine sends them); the detail asks for the
    whole row (``client`` op) and shows every boot, and keeps asking while open."""
    snap = snapshot()
    whole = {c["mac"]: c for c in snap["clients"]}
    snap["clients"] = [{**c, "boots": [], "summary": True} for c in snap["clients"]]
    replay = ReplayEngine(tmp_path / "control.sock", snap).start()
    replay.rows = whole
    try:
        app = _app(replay)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.screen.query_one(ClientTable).row_count == 6)
            assert app.link.state.client(MAC0) is not None
            assert app.link.state.client(MAC0).boots == ()  # type: ignore[union-attr]
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ClientDetailScreen))
            boots = app.screen.query_one("#detail-boots", Static)
            await wait_for(pilot, lambda: "#1 " in _shown(boots), what="the first boot shown")
            asked = [r for r in replay.requests if r["op"] == "client"]
            assert asked and asked[0]["mac"] == MAC0.colon
            await wait_for(
                pilot,
                lambda: sum(r["op"] == "client" for r in replay.requests) > len(asked),
                what="the detail asking again",
            )
    finally:
        replay.stop()


async def test_entries_edit_validate_and_save_with_backup(
    replay: ReplayEngine, tmp_path: Path
) -> None:
    """A bad edit is refused with the loader's words; a good one is saved, old file kept."""
    profile = tmp_path / "lab.yaml"
    original = (
        "name: lab\nentries:\n  tiny:\n    kind: linux\n    kernel: lab/vmlinuz\n"
        "    args: quiet\nhosts:\n  52:54:00:e2:e0:01:\n    entry: tiny\n"
    )
    profile.write_text(original)
    for name in ("vmlinuz", "vmlinuz-6.1"):
        (tmp_path / "tftp" / "lab").mkdir(parents=True, exist_ok=True)
        (tmp_path / "tftp" / "lab" / name).write_bytes(b"kernel")
    replay.snap["profile"]["path"] = str(profile)
    app = _app(replay)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one(ClientTable).row_count == 6)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, EntriesScreen))
        kernel = app.screen.query_one("#entry-kernel", Input)
        assert kernel.value == "lab/vmlinuz"
        kernel.value = ""
        await pilot.press("ctrl+s")
        assert "kernel: required" in str(app.screen.query_one("#entry-problems").render())
        assert profile.read_text() == original
        kernel.value = "lab/vmlinuz-7"  # not there: what check refuses, the editor refuses
        await pilot.press("ctrl+s")
        said = str(app.screen.query_one("#entry-problems").render())
        assert "file lab/vmlinuz-7 not found" in said, said
        assert profile.read_text() == original
        kernel.value = "lab/vmlinuz-6.1"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: any(r["op"] == "reload" for r in replay.requests))
        assert 'kernel: "lab/vmlinuz-6.1"' in profile.read_text()
        assert "52:54:00:e2:e0:01:" in profile.read_text()
        assert (tmp_path / "lab.yaml.bak").read_text() == original


async def test_help_screen_and_command_palette(replay: ReplayEngine) -> None:
    """'?' opens the help; Ctrl+P opens the palette with the console's commands."""
    app = _app(replay)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        commands = [c.title for c in app.get_system_commands(app.screen)]
        assert {"Assign", "Unassign", "Entries", "Client detail", "Help"} <= set(commands)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "CommandPalette")


async def test_quit_asks_and_can_stop_the_engine(replay: ReplayEngine) -> None:
    """With ask_on_quit, 'q' asks; 's' stops the engine and exits with that choice."""
    app = _app(replay, ask=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, QuitScreen))
        await pilot.press("escape")
        assert not isinstance(app.screen, QuitScreen)
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, QuitScreen))
        await pilot.press("s")
        await wait_for(pilot, lambda: app.return_value is not None)
    assert app.return_value is QuitChoice.STOP_ENGINE
    assert any(r["op"] == "stop" for r in replay.requests)


async def test_losing_the_engine_shows_and_reattaches(tmp_path: Path) -> None:
    """The link badge says LOST when the engine goes (the services turn '?'), and ✓ when
    it is back (the services with it)."""
    replay = ReplayEngine(tmp_path / "control.sock").start()
    app = PxeConsole(EngineLink(replay.socket_path))
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            badge = app.screen.query_one(LinkBadge)
            await wait_for(pilot, lambda: badge.has_class("-attached"))
            replay.stop()
            await wait_for(pilot, lambda: badge.has_class("-lost"))
            assert "LOST" in str(badge.render())
            # Nothing is known of the services now: they read '?', not a stale 'ok'.
            tftp = app.screen.query_one("#service-tftp", ServiceBadge)
            assert tftp.has_class("-unknown") and str(tftp.render()) == "TFTP ?"
            assert "last known: TFTP running" in str(tftp.tooltip)
            (tmp_path / "control.sock").unlink()
            replay = ReplayEngine(tmp_path / "control.sock").start()
            await wait_for(pilot, lambda: badge.has_class("-attached"))
            await wait_for(pilot, lambda: tftp.has_class("-running"))
            assert str(tftp.render()) == "TFTP :6969" and "✓" in str(badge.render())
    finally:
        replay.stop()


async def test_a_reattach_adds_only_what_happened_while_detached(tmp_path: Path) -> None:
    """Same engine back after a lost link: the gap is filled once, nothing is doubled."""
    first = [
        EngineMessage(text="serving profile 'lab'", ts=T0 - 5),
        FileNotFound(proto="tftp", client_ip="10.0.0.9", filename="before", ts=T0 - 4),
    ]
    meanwhile = FileNotFound(proto="tftp", client_ip="10.0.0.9", filename="meanwhile", ts=T0 - 1)
    snap = snapshot()
    snap["recent_events"] = [event_to_dict(e) for e in first]
    replay = ReplayEngine(tmp_path / "control.sock", snap).start()
    app = PxeConsole(EngineLink(replay.socket_path))
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            log = app.screen.query_one("#event-log", LineLog)
            await wait_for(pilot, lambda: "— live —" in log.plain_lines)
            assert log.plain_lines[0] == "— before this console attached —"
            assert "serving profile 'lab'" in log.plain_lines[1]
            assert "miss before" in log.plain_lines[2]
            replay.stop()
            badge = app.screen.query_one(LinkBadge)
            await wait_for(pilot, lambda: badge.has_class("-lost"))
            (tmp_path / "control.sock").unlink()
            snap = snapshot()
            snap["recent_events"] = [event_to_dict(e) for e in [*first, meanwhile]]
            replay = ReplayEngine(tmp_path / "control.sock", snap).start()
            await wait_for(pilot, lambda: any("miss meanwhile" in s for s in log.plain_lines))
            lines = log.plain_lines
            assert lines[-3] == "— re-attached; meanwhile: 1 event —"
            assert "miss meanwhile" in lines[-2] and lines[-1] == "— live —"
            assert sum("miss before" in s for s in lines) == 1
    finally:
        replay.stop()
