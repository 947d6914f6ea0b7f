"""Snapshots of the console's screens at 80x24 (ssh), 120x40 and 200x50, with fixed data.

The replay engine serves a fixed snapshot (fixed timestamps, a failed dnsmasq) and a fixed
handful of events; the clock is pinned to UTC so ``HH:MM:SS`` never drifts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from pxetui.core.events import (
    DhcpEvent,
    FileNotFound,
    TransferFinished,
    TransferStarted,
)
from pxetui.core.mac import MacAddress
from pxetui.ui.app import PxeConsole
from pxetui.ui.connection import EngineLink
from pxetui.ui.screens.assign import AssignScreen
from pxetui.ui.screens.client_detail import ClientDetailScreen
from pxetui.ui.screens.confirm import ConfirmScreen
from pxetui.ui.screens.entries import EntriesScreen
from pxetui.ui.screens.quit import QuitScreen
from pxetui.ui.widgets.client_table import ClientTable
from pxetui.ui.widgets.command_line import CommandLine
from pxetui.ui.widgets.event_log import EventLog
from pxetui.ui.widgets.line_log import LineLog
from tests.ui.conftest import wait_for
from tests.ui.replay_engine import T0, ReplayEngine, client_state, snapshot

SIZES = [(80, 24), (120, 40)]
ALL_SIZES = {"80x24": (80, 24), "120x40": (120, 40), "200x50": (200, 50)}


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _events() -> list[Any]:
    ip = client_state(0)["ip"]
    mac = MacAddress.parse(client_state(0)["mac"])
    return [
        DhcpEvent(msg_type="PXE", interface="br0", mac=mac, text="proxy", ts=T0 - 9),
        DhcpEvent(msg_type="DHCPACK", interface="br0", ip=ip, mac=mac, ts=T0 - 8.5),
        TransferStarted(
            transfer_id="a",
            proto="tftp",
            client_ip=ip,
            filename="pxelinux.0",
            size=42_378,
            ts=T0 - 7,
        ),
        TransferFinished(
            transfer_id="a",
            proto="tftp",
            client_ip=ip,
            filename="pxelinux.0",
            bytes_sent=42_378,
            seconds=0.1,
            ts=T0 - 6.9,
        ),
        FileNotFound(proto="tftp", client_ip=ip, filename="pxelinux.cfg/0AFA0002", ts=T0 - 6),
        TransferStarted(
            transfer_id="b",
            proto="http",
            client_ip=ip,
            filename="centos8/vmlinuz",
            size=8_000_000,
            ts=T0 - 3,
        ),
    ]


def _ready(replay: ReplayEngine, then: Callable[[Pilot[Any]], Any] | None = None) -> Any:
    mixed = snapshot(6, mixed=True)  # clients at every point of a boot, in every tone
    replay.snap.update(clients=mixed["clients"], assignments=mixed["assignments"])

    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        await wait_for(pilot, lambda: replay.subscribers == 1)
        await wait_for(pilot, lambda: app.screen.query_one(ClientTable).row_count == 6)
        for event in _events():
            replay.publish(event)
        lines = app.screen.query_one("#client-lines", LineLog)
        await wait_for(pilot, lambda: len(lines.plain_lines) == len(_events()))
        past = len(replay.snap["recent_events"]) + 2  # with the two dividers
        await wait_for(
            pilot,
            lambda: (
                len(app.screen.query_one("#event-log", LineLog).plain_lines)
                == past + len(_events())
            ),
        )
        if then is not None:
            await then(pilot)
        await pilot.pause(0.2)

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_main_screen(replay: ReplayEngine, snap_compare: Any, size: tuple[int, int]) -> None:
    """Service bar with a failed dnsmasq, clients, the selected client's log and bars."""
    app = PxeConsole(EngineLink(replay.socket_path))
    assert snap_compare(app, terminal_size=size, run_before=_ready(replay))


@pytest.mark.parametrize("clients", [0, 3, 300])
@pytest.mark.parametrize("size", list(ALL_SIZES.values()), ids=list(ALL_SIZES))
def test_main_screen_with_n_clients(
    replay: ReplayEngine, snap_compare: Any, size: tuple[int, int], clients: int
) -> None:
    """The main screen as it attaches: none, a few, or more clients than fit."""
    replay.snap = snapshot(clients, mixed=True)
    past = len(replay.snap["recent_events"]) + 2  # with the two dividers

    async def attached(pilot: Pilot[Any]) -> None:
        app = pilot.app
        await wait_for(pilot, lambda: replay.subscribers == 1)
        await wait_for(pilot, lambda: app.screen.query_one(ClientTable).row_count == clients)
        log = app.screen.query_one("#event-log", LineLog)
        await wait_for(pilot, lambda: len(log.plain_lines) == past)
        await pilot.pause(0.5)  # the selected client's (empty) history is asked for

    app = PxeConsole(EngineLink(replay.socket_path))
    assert snap_compare(app, terminal_size=size, run_before=attached)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_assign_dialog(replay: ReplayEngine, snap_compare: Any, size: tuple[int, int]) -> None:
    """The assign dialog with its file preview diff."""

    async def open_assign(pilot: Pilot[Any]) -> None:
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, AssignScreen))
        preview = pilot.app.screen.query_one("#assign-preview")
        await wait_for(pilot, lambda: "DEFAULT centos8" in str(preview.render()))

    app = PxeConsole(EngineLink(replay.socket_path))
    assert snap_compare(app, terminal_size=size, run_before=_ready(replay, open_assign))


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_client_detail(replay: ReplayEngine, snap_compare: Any, size: tuple[int, int]) -> None:
    """Identity, phase timeline, explainer and hints of one client."""

    async def open_detail(pilot: Pilot[Any]) -> None:
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ClientDetailScreen))
        explain = pilot.app.screen.query_one("#detail-explain")
        await wait_for(pilot, lambda: "wins" in str(explain.render()))
        history = pilot.app.screen.query_one("#detail-history")
        await wait_for(pilot, lambda: "loading" not in str(history.render()))

    app = PxeConsole(EngineLink(replay.socket_path))
    assert snap_compare(app, terminal_size=size, run_before=_ready(replay, open_detail))


def test_help_screen(replay: ReplayEngine, snap_compare: Any) -> None:
    """The help screen at 80x24."""

    async def open_help(pilot: Pilot[Any]) -> None:
        await pilot.press("question_mark")

    app = PxeConsole(EngineLink(replay.socket_path))
    assert snap_compare(app, terminal_size=(80, 24), run_before=_ready(replay, open_help))


def test_entries_screen(replay: ReplayEngine, snap_compare: Any, tmp_path: Path) -> None:
    """The entries editor at 80x24, a kernel entry selected."""
    profile = tmp_path / "lab.yaml"
    profile.write_text(
        "name: lab\nentries:\n  tiny:\n    kind: linux\n    description: tiny kernel\n"
        "    kernel: lab/vmlinuz\n    initrds: [lab/initrd.gz]\n"
        "    args: console=ttyS0,115200 quiet\n  menu:\n    kind: menu\n"
        "    items: [tiny, local]\n"
    )
    replay.snap["profile"]["path"] = str(profile)

    async def open_entries(pilot: Pilot[Any]) -> None:
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, EntriesScreen))
        kernel = pilot.app.screen.query_one("#entry-kernel", Input)
        await wait_for(pilot, lambda: kernel.value == "lab/vmlinuz")

    app = PxeConsole(EngineLink(replay.socket_path))
    assert snap_compare(app, terminal_size=(80, 24), run_before=_ready(replay, open_entries))


def test_quit_question(replay: ReplayEngine, snap_compare: Any) -> None:
    """Quitting a console that owns its engine asks whether to leave it serving."""

    async def ask(pilot: Pilot[Any]) -> None:
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, QuitScreen))

    app = PxeConsole(EngineLink(replay.socket_path), ask_on_quit=True)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_ready(replay, ask))


def test_unassign_question(replay: ReplayEngine, snap_compare: Any) -> None:
    """'u' asks before the client's next boot changes."""

    async def ask(pilot: Pilot[Any]) -> None:
        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))

    app = PxeConsole(EngineLink(replay.socket_path))
    assert snap_compare(app, terminal_size=(80, 24), run_before=_ready(replay, ask))


def test_assign_dialog_once_unchecked(replay: ReplayEngine, snap_compare: Any) -> None:
    """A client not assigned once: the once box is empty."""

    async def open_assign(pilot: Pilot[Any]) -> None:
        await pilot.press("down", "down")  # 52:54:00:e2:00:02: assigned, not once
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, AssignScreen))
        preview = pilot.app.screen.query_one("#assign-preview")
        await wait_for(pilot, lambda: "===" in str(preview.render()))

    app = PxeConsole(EngineLink(replay.socket_path))
    assert snap_compare(app, terminal_size=(80, 24), run_before=_ready(replay, open_assign))


def test_command_line_completing(replay: ReplayEngine, snap_compare: Any) -> None:
    """':' at 80x24, an entry being completed: the completion shows dimmed after the cursor."""

    async def typing(pilot: Pilot[Any]) -> None:
        await pilot.press("colon")
        line = pilot.app.screen.query_one(CommandLine)
        line.value = "once 52:54:00:e2:00:02 di"
        line.cursor_position = len(line.value)
        await wait_for(pilot, lambda: line._suggestion.endswith("diskless"))

    app = PxeConsole(EngineLink(replay.socket_path))
    assert snap_compare(app, terminal_size=(80, 24), run_before=_ready(replay, typing))


def test_events_narrowed_to_errors(replay: ReplayEngine, snap_compare: Any) -> None:
    """'k' six times at 80x24: the all-events pane shows only red and yellow lines."""

    async def narrow(pilot: Pilot[Any]) -> None:
        await pilot.press(*"kkkkkk")
        log = pilot.app.screen.query_one(EventLog)
        await wait_for(pilot, lambda: log.kind == "errors")

    app = PxeConsole(EngineLink(replay.socket_path))
    assert snap_compare(app, terminal_size=(80, 24), run_before=_ready(replay, narrow))
