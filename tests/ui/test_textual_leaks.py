"""Dialogs opened and closed leave nothing behind in the two places Textual kept them
(pxetui/ui/textual_leaks.py).

Measured without the workarounds: every assign or detail dialog opened and closed left ~15
dead footer keys (a watcher each on the main footer) and ~28 styles caches of closed
widgets (with their rendered lines, in a 1,024-entry method cache) alive for good."""

from __future__ import annotations

from textual._styles_cache import StylesCache
from textual.widgets._footer import FooterKey

from pxetui.ui.app import PxeConsole
from pxetui.ui.connection import EngineLink
from pxetui.ui.screens.assign import AssignScreen
from pxetui.ui.screens.client_detail import ClientDetailScreen
from pxetui.ui.textual_leaks import ConsoleFooter
from pxetui.ui.widgets.client_table import ClientTable
from tests.ui.conftest import wait_for
from tests.ui.replay_engine import ReplayEngine


async def test_closed_dialogs_leave_nothing_in_the_footer_or_the_styles_cache(
    replay: ReplayEngine,
) -> None:
    app = PxeConsole(EngineLink(replay.socket_path))
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(ClientTable)
        await wait_for(pilot, lambda: table.row_count == 6)
        footer = app.screen.query_one(ConsoleFooter)
        for _ in range(5):
            for key, dialog in (("a", AssignScreen), ("enter", ClientDetailScreen)):
                await pilot.press(key)
                await wait_for(pilot, lambda d=dialog: isinstance(app.screen, d))  # type: ignore[misc]
                await pilot.press("escape")
                await wait_for(pilot, lambda d=dialog: not isinstance(app.screen, d))  # type: ignore[misc]
        await pilot.pause(0.2)
        # The footer watches only the keys it shows now, not one per key it ever showed.
        watched = [node for node, _ in getattr(footer, "__watchers")["compact"]]
        shown = list(footer.query(FooterKey))
        assert len(watched) <= len(shown), (len(watched), len(shown))
        # The method cache was emptied on the way back: it holds the main screen's widgets
        # drawn since, not the 300-odd of ten closed dialogs.
        cached = StylesCache.get_inner_outer.cache_info().currsize
        assert cached < 40, cached


async def test_the_footer_is_rebuilt_only_when_its_keys_change(replay: ReplayEngine) -> None:
    """Back on the main screen from a dialog the footer keeps its key widgets (the same
    keys: nothing to rebuild); a focus change that changes the keys rebuilds it."""
    app = PxeConsole(EngineLink(replay.socket_path))
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(ClientTable)
        await wait_for(pilot, lambda: table.row_count == 6)
        footer = app.screen.query_one(ConsoleFooter)
        await pilot.pause(0.2)
        before = {id(key) for key in footer.query(FooterKey)}
        assert before
        for _ in range(3):
            await pilot.press("question_mark")
            await wait_for(pilot, lambda: app.screen is not app.main_screen)
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is app.main_screen)
        await pilot.pause(0.2)
        assert {id(key) for key in footer.query(FooterKey)} == before
        await pilot.press("slash")  # the filter box takes the focus: other keys
        await wait_for(
            pilot,
            lambda: {id(key) for key in footer.query(FooterKey)} != before,
            what="the footer rebuilt for the filter box's keys",
        )
