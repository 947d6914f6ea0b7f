"""A console worker that dies is shown to the operator, not swallowed."""

from __future__ import annotations

from textual import work
from textual.app import App, ComposeResult
from textual.widgets import Static

from pxetui.ui.worker_errors import ShowsWorkerFailures
from tests.ui.conftest import wait_for


class _Console(ShowsWorkerFailures, App[None]):
    def compose(self) -> ComposeResult:
        yield Static("x")

    @work(exclusive=True, group="engine-link", exit_on_error=False)
    async def read_stream(self) -> None:
        raise KeyError("state")


async def test_a_failed_worker_becomes_a_notification_naming_it() -> None:
    """``exit_on_error=False`` keeps the console up; the failure is still said, with its error."""
    app = _Console()
    async with app.run_test() as pilot:
        app.read_stream()
        await wait_for(pilot, lambda: bool(app._notifications))
        texts = [n.message for n in app._notifications]
        assert texts == ["engine-link stopped: KeyError: 'state'"], texts
        assert app.is_running
