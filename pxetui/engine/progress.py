"""One transfer's life as events — started, coalesced progress, finished/failed/size probe.

TFTP and HTTP both report through this, so the two protocols look the same on the bus and
in the log. Progress is the noisy part: a TFTP transfer acknowledges thousands of blocks a
second, but subscribers (the UI, the JSON log, the control API) need at most ~10 updates a
second per transfer. :meth:`TransferReporter.progress` is therefore cheap when nothing is
due: one comparison against a precomputed deadline.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from typing import Any

from pxetui.core.events import (
    Event,
    Proto,
    SizeProbe,
    TransferFailed,
    TransferFinished,
    TransferProgress,
    TransferStarted,
)
from pxetui.core.sanitize import clean

Publish = Callable[[Event], None]

# At most this many progress events per second per transfer.
PROGRESS_PER_SECOND = 10.0

_ids = itertools.count(1)
_prefix = f"{os.getpid():x}"


def new_transfer_id(proto: Proto) -> str:
    """Unique per transfer within a process run (and across restarts, thanks to the pid)."""
    return f"{proto}-{_prefix}-{next(_ids)}"


class TransferReporter:
    """Builds and publishes the events of one transfer; exactly one terminal event."""

    __slots__ = (
        "_client_ip",
        "_client_port",
        "_clock",
        "_done",
        "_filename",
        "_interval",
        "_last_bytes",
        "_last_time",
        "_next_due",
        "_proto",
        "_publish",
        "bytes_sent",
        "size",
        "started_at",
        "transfer_id",
    )

    def __init__(
        self,
        publish: Publish,
        *,
        proto: Proto,
        client_ip: str,
        client_port: int,
        filename: str,
        size: int | None,
        clock: Callable[[], float] = time.monotonic,
        per_second: float = PROGRESS_PER_SECOND,
    ) -> None:
        self._publish = publish
        self._proto: Proto = proto
        self._client_ip = client_ip
        self._client_port = client_port
        self._filename = clean(filename)
        self._clock = clock
        self._interval = 1.0 / per_second
        self.transfer_id = new_transfer_id(proto)
        self.size = size
        self.bytes_sent = 0
        self.started_at = clock()
        self._last_time = self.started_at
        self._last_bytes = 0
        self._next_due = self.started_at + self._interval
        self._done = False

    @property
    def done(self) -> bool:
        """True once a terminal event (finished, failed, size probe) was published."""
        return self._done

    def _ids(self) -> dict[str, Any]:
        """The fields every event of this transfer repeats."""
        return {
            "transfer_id": self.transfer_id,
            "proto": self._proto,
            "client_ip": self._client_ip,
            "client_port": self._client_port,
            "filename": self._filename,
        }

    def started(self, options: dict[str, str] | None = None) -> None:
        """Publish TransferStarted (option names/values are client-controlled: cleaned)."""
        opts = {clean(k, 40): clean(v, 40) for k, v in (options or {}).items()}
        self._publish(
            TransferStarted(
                **self._ids(),
                size=self.size,
                options=opts,
            )
        )

    def progress(self, bytes_sent: int, now: float | None = None) -> None:
        """Record *bytes_sent*; publish TransferProgress only if ~1/10 s has passed."""
        self.bytes_sent = bytes_sent
        if now is None:
            now = self._clock()
        if now < self._next_due or self._done:
            return
        elapsed = now - self._last_time
        rate = (bytes_sent - self._last_bytes) / elapsed if elapsed > 0 else 0.0
        self._last_time = now
        self._last_bytes = bytes_sent
        self._next_due = now + self._interval
        self._publish(
            TransferProgress(
                **self._ids(),
                bytes_sent=bytes_sent,
                size=self.size,
                rate_bps=rate,
            )
        )

    def finished(self, bytes_sent: int, retransmits: int = 0) -> None:
        """Publish TransferFinished (once; later terminal calls are ignored)."""
        if self._done:
            return
        self._done = True
        self.bytes_sent = bytes_sent
        self._publish(
            TransferFinished(
                **self._ids(),
                bytes_sent=bytes_sent,
                seconds=max(0.0, self._clock() - self.started_at),
                retransmits=retransmits,
            )
        )

    def failed(self, reason: str, bytes_sent: int | None = None) -> None:
        """Publish TransferFailed with *reason* (cleaned: it may quote the client)."""
        if self._done:
            return
        self._done = True
        if bytes_sent is not None:
            self.bytes_sent = bytes_sent
        self._publish(
            TransferFailed(
                **self._ids(),
                reason=clean(reason),
                bytes_sent=self.bytes_sent,
            )
        )

    def size_probe(self) -> None:
        """Publish SizeProbe: the client only wanted tsize and aborted after the OACK."""
        if self._done:
            return
        self._done = True
        self._publish(
            SizeProbe(
                **self._ids(),
                size=self.size,
            )
        )
