"""One place where a console worker that died is shown, instead of vanishing.

Workers run with ``exit_on_error=False`` so one failed request does not close the console;
without a handler such a failure was silent (a ``KeyError`` in the stream reader left the
screen frozen on old data). Every screen mixes :class:`ShowsWorkerFailures` in: a worker
that ends in ERROR becomes a notification naming it and the error, and a log line.
"""

from __future__ import annotations

import logging

from textual.dom import DOMNode
from textual.worker import Worker, WorkerState

log = logging.getLogger(__name__)


def describe_failure(worker: Worker[object]) -> str:
    """``engine-link stopped: KeyError: 'state'`` — what the operator is told."""
    name = worker.group if worker.group and worker.group != "default" else worker.name
    error = worker.error
    what = f"{type(error).__name__}: {error}" if error is not None else "unknown error"
    return f"{name or 'a background task'} stopped: {what}"


class ShowsWorkerFailures:
    """Mix into a Screen or the App: failed workers are shown, not swallowed.

    A plain mixin, not a widget class: Textual derives CSS type names from the bases, so a
    DOMNode subclass here would change which styles the screens get.
    """

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        assert isinstance(self, DOMNode)
        if event.state != WorkerState.ERROR:
            return
        text = describe_failure(event.worker)
        log.error("%s", text, exc_info=event.worker.error)
        self.app.notify(text, title="console task failed", severity="error", timeout=30)
        self.worker_failed(event.worker)

    def worker_failed(self, worker: Worker[object]) -> None:
        """A screen's own reaction beyond the notification (default: none)."""
