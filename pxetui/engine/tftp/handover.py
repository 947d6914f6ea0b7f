"""A transfer's side of the C fast path: giving its state to C and taking it back.

With the C extension, a lock-step transfer of a file in its steady state is moved forward by
C between the events Python handles (see :mod:`.fastpath`, which documents the split).
:class:`CHandOver` is the part of :class:`.transfer.Transfer` that does the hand-over:
``_in_c`` says C holds the transfer's state, and every entry point of the transfer takes it
back first (:meth:`CHandOver._reclaim`). Only this module reads or writes the C table's slot.
"""

from __future__ import annotations

from pxetui.engine.tftp import mmsg
from pxetui.engine.tftp.datapath import DataPath
from pxetui.engine.tftp.fastpath import FastLane
from pxetui.engine.tftp.mux import SharedSocket
from pxetui.engine.tftp.rto import RetransmitTimeout


class CHandOver:
    """The hand-over state and calls; mixed into :class:`.transfer.Transfer` only."""

    # The hand-over's own state, and the transfer's state that C moves forward and gives back
    # (Transfer sets them all in its __init__).
    __slots__ = (
        "_acked",
        "_file_fd",
        "_highest_sent",
        "_in_c",
        "_lane",
        "_last_progress",
        "_next_send",
        "_sent_at",
        "_slot",
        "_window_end",
        "retransmits",
    )
    _acked: int  # highest block the client acknowledged (absolute, unbounded)
    _highest_sent: int
    _last_progress: float
    _next_send: int
    _sent_at: float
    _window_end: int
    retransmits: int

    # The transfer's state the hand-over only reads (slots of Transfer).
    _blksize: int
    _closed: bool
    _last_block: int
    _oack_pending: bool
    _progress_due: float
    _sample_ok: bool
    _shared: SharedSocket
    _writer_armed: bool
    client: tuple[str, int]
    timeout: RetransmitTimeout

    def _init_c(self, sockets: DataPath, file_fd: int | None, window: int) -> None:
        """Only lock-step transfers of a file (an fd C can pread) take the fast path."""
        self._file_fd = file_fd
        lane = sockets.lane
        self._lane: FastLane | None = lane if file_fd is not None and window == 1 else None
        self._slot = -1  # our slot in the C table, once registered
        self._in_c = False  # C holds our state: take it back before touching it

    def _leave_c(self) -> None:
        """Give up our slot in the C table for good (before the file is closed)."""
        if self._lane is not None and self._slot >= 0:
            self._lane.pump.unregister(self._slot)
            self._slot = -1

    def give_to_c(self) -> None:
        """Hand our state to C if we are in lock-step's steady state: only the next block is
        out, its RTT is being sampled, no retransmission or blocked send is pending."""
        lane = self._lane
        acked = self._acked
        if (
            lane is None
            or self._in_c
            or self._closed
            or self._oack_pending
            or self._writer_armed
            or not self._sample_ok
            or self.timeout.tries
            or self.timeout.srtt < 0
            or self._highest_sent != acked + 1
            or self._window_end != acked + 1
            or self._next_send != acked + 2
            or acked >= self._last_block
        ):
            return
        pump = lane.pump
        if self._slot < 0:
            assert self._file_fd is not None
            self._slot = pump.register(
                self._shared.fd,
                mmsg.sockaddr(self.client),
                self._file_fd,
                self._blksize,
                self._last_block,
            )
            if self._slot < 0:
                return  # the C table is full (or has our client already): stay in Python
        timeout = self.timeout
        pump.give(
            self._slot,
            acked,
            self._highest_sent,
            self._last_progress,
            self._sent_at,
            timeout.srtt,
            timeout.rttvar,
            self._progress_due,
        )
        self._in_c = True

    def _reclaim(self) -> None:
        """Take our state back from C (it moved us forward in lock-step meanwhile)."""
        assert self._lane is not None
        acked, highest, last_progress, sent_at, srtt, rttvar, retransmits = self._lane.pump.take(
            self._slot
        )
        self._in_c = False
        self._acked = acked
        self._highest_sent = highest
        self._window_end = acked + 1
        self._next_send = acked + 2
        self._last_progress = last_progress
        self._sent_at = sent_at
        self.timeout.srtt = srtt
        self.timeout.rttvar = rttvar
        self.retransmits += retransmits
        self._lane.offer(self)  # back to C after this, if still in the steady state
