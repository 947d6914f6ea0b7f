"""Closed screens do not pile up: the console collects their (cyclic) garbage at idle
moments, though it runs with few full collections (a full one on a key press was a pause).

A closed screen used to outlive its closing by up to a request timeout: asyncio keeps a
cancelled ``wait_for`` timer in its heap until the timer's time, and the timer's context
referred to the screen's worker (found with objgraph's back-reference chain); requests now
run in a context of their own. The detail screen is installed once and reused: opening it
again and again makes no new screen."""

from __future__ import annotations

import weakref

from textual.screen import Screen

from pxetui.ui.app import GC_CHECK_S, GC_IDLE_AFTER_KEY_S, PxeConsole
from pxetui.ui.connection import REQUEST_TIMEOUT, EngineLink
from pxetui.ui.screens.assign import AssignScreen
from pxetui.ui.screens.client_detail import ClientDetailScreen
from pxetui.ui.screens.confirm import ConfirmScreen
from pxetui.ui.widgets.client_table import ClientTable
from tests.ui.conftest import wait_for
from tests.ui.replay_engine import ReplayEngine

OPENINGS = 8


async def test_closed_dialogs_are_collected_and_the_detail_and_assign_are_reused(
    replay: ReplayEngine,
) -> None:
    app = PxeConsole(EngineLink(replay.socket_path))
    closed: list[weakref.ref[Screen[object]]] = []
    reused: dict[type[Screen[object]], set[int]] = {ClientDetailScreen: set(), AssignScreen: set()}
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(ClientTable)
        await wait_for(pilot, lambda: table.row_count == 6)
        for n in range(OPENINGS):
            keys = (("enter", ClientDetailScreen), ("a", AssignScreen), ("u", ConfirmScreen))
            for key, kind in keys:
                await pilot.press(key)
                await wait_for(pilot, lambda kind=kind: isinstance(app.screen, kind))
                if kind in reused:
                    reused[kind].add(id(app.screen))
                else:
                    closed.append(weakref.ref(app.screen))
                await pilot.press("escape")
                await wait_for(pilot, lambda kind=kind: not isinstance(app.screen, kind))
            await pilot.press("down" if n % 2 == 0 else "up")  # another client, the same screen
        assert [len(ids) for ids in reused.values()] == [1, 1]
        await wait_for(
            pilot,
            lambda: all(ref() is None for ref in closed),
            timeout=REQUEST_TIMEOUT + GC_IDLE_AFTER_KEY_S + 2 * GC_CHECK_S + 5,
            what="every closed screen collected",
        )
