"""One TFTP read transfer: window, retransmit timer and events, on the server's shared socket.

Everything per block is kept tiny, because the benchmark compares us with C servers. In
lock-step (windowsize 1, the common PXE case) an ACK is two byte reads and a subtraction,
and the next DATA is written in place into this transfer's own packet buffer (a
``pack_into`` header and an ``os.preadv`` payload: no Python object per block) and queued on
the shared socket, which sends every ready transfer's packet in one ``sendmmsg`` (see
:mod:`.mux`). Windows go out with UDP GSO (:mod:`.gso`). The retransmit timer is not
re-armed per ACK: it records the time of the last progress and checks it when it fires.

Rules that keep a LAN safe:

* Only the client's exact (address, port) may drive the transfer: the shared socket hands a
  transfer only its own client's datagrams, and answers anyone else with ERROR 5 (RFC 1350
  transfer IDs).
* Only an ACK that moves the window forward sends DATA. Duplicate or stale ACKs do nothing,
  so a delayed duplicate can never double the traffic (the Sorcerer's Apprentice bug); lost
  packets are recovered by our own timer (~1 s, doubling, bounded retries).
* An ACK for a block inside the window that is not its end means the client lost the rest
  (RFC 7440): the window restarts right after that block.
* Block numbers are 16 bits on the wire and roll over 65535 → 0; internally they are counted
  without limit and the wire number is mapped back relative to the window.

With the C extension, a lock-step transfer of a file in its steady state is moved forward by
C between the events Python handles: the hand-over is :mod:`.handover`'s (``_in_c`` says C
holds the state; every entry point here takes it back first).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pxetui.engine.progress import TransferReporter
from pxetui.engine.tftp import gso as gso_send
from pxetui.engine.tftp import mmsg, packets
from pxetui.engine.tftp.datapath import DataPath, Timer
from pxetui.engine.tftp.handover import CHandOver
from pxetui.engine.tftp.mux import SharedSocket
from pxetui.engine.tftp.options import Negotiated
from pxetui.engine.tftp.rto import MIN_RTO, RetransmitTimeout
from pxetui.engine.tftp.sources import IntoReader, Reader

_DATA = packets.DATA
_ERROR = packets.ERROR
_PROGRESS_EVERY = 0.1  # seconds between progress events

_monotonic = time.monotonic


class Transfer(CHandOver):
    """A read transfer in progress. Created and started by the server, closed exactly once.

    Runs on the data thread (:mod:`.datapath`); any other thread calls it only while holding
    ``DataPath.lock``, so no method here needs a lock of its own.
    """

    # Slots: the ACK path reads and writes a dozen of these per block (the ones C moves
    # forward are CHandOver's).
    __slots__ = (
        "_blksize",
        "_buf",
        "_closed",
        "_fill",
        "_give_up_after",
        "_gso_batch",
        "_gso_cmsg",
        "_iov_len",
        "_last_block",
        "_oack",
        "_oack_pending",
        "_on_close",
        "_pack",
        "_pack_into",
        "_progress_due",
        "_queue",
        "_read",
        "_release",
        "_sample_ok",
        "_sendto",
        "_shared",
        "_sockets",
        "_stalled_since",
        "_timer",
        "_window",
        "_writer_armed",
        "client",
        "created",
        "half_open",
        "key",
        "negotiated",
        "packet",
        "reporter",
        "size",
        "timeout",
    )

    def __init__(
        self,
        *,
        sockets: DataPath,
        shared: SharedSocket,
        client: tuple[str, int],
        read: Reader,
        readinto: IntoReader,
        size: int,
        negotiated: Negotiated,
        reporter: TransferReporter,
        on_close: Callable[[Transfer], None],
        release: Callable[[], None] = lambda: None,
        base_timeout: float = 1.0,
        min_rto: float = MIN_RTO,
        max_retries: int = 5,
        gso: bool = True,
        file_fd: int | None = None,
    ) -> None:
        self._sockets = sockets
        self._shared = shared
        self.client = client
        self.key = mmsg.key_of(client)
        self._read = read
        self.size = size
        self.negotiated = negotiated
        self.reporter = reporter
        self._on_close = on_close
        self._release = release
        self._blksize = negotiated.blksize
        self._window = negotiated.windowsize
        # The final block is always short (possibly empty): size // blksize + 1 blocks.
        self._last_block = size // negotiated.blksize + 1
        self._oack = packets.encode_oack(negotiated.oack) if negotiated.oack else b""
        self._oack_pending = bool(self._oack)
        self._acked = 0  # highest block the client acknowledged (absolute, unbounded)
        self._highest_sent = 0
        self._next_send = 1
        self._window_end = 0
        self._writer_armed = False
        self.retransmits = 0
        self.half_open = True  # until the client's first valid ACK
        self.created = _monotonic()
        timeout = float(negotiated.timeout) if negotiated.timeout else base_timeout
        self.timeout = RetransmitTimeout(timeout, min_rto)
        self._sent_at = self.created  # when the current window went out (RTT samples)
        self._sample_ok = False  # Karn: no RTT sample from a retransmitted window
        self._give_up_after = self.timeout.give_up_after(max_retries)
        self._stalled_since = 0.0
        self._last_progress = self.created
        self._progress_due = self.created + _PROGRESS_EVERY
        self._timer: Timer | None = None
        self._closed = False
        self._sendto = shared.sendto
        self._pack = packets.HEADER.pack
        # Lock-step: one packet buffer, refilled in place for every block.
        self.packet = mmsg.Packet(4 + self._blksize, client)
        self._buf = self.packet.buf
        self._iov_len = self.packet.iov_len
        self._queue = shared.queue
        self._pack_into = packets.HEADER.pack_into
        self._fill = readinto(self.packet.buf[4:])
        self._gso_batch = gso_send.batch_size(self._blksize, self._window, gso)
        self._gso_cmsg = gso_send.control(self._blksize)
        self._init_c(sockets, file_fd, self._window)  # the C fast path: see .handover

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        """Join the shared socket, send the OACK or the first window, arm the timer."""
        self._shared.add(self)
        self.reporter.started(self.negotiated.oack)
        if self._oack_pending:
            self._send_raw(self._oack)
        else:
            self._open_window(1)
        self._arm(self._last_progress + self.timeout.base)

    def close(self, *, reason: str | None = None) -> None:
        """Stop for good; with *reason*, report the transfer as failed (if nothing else was)."""
        if self._closed:
            return
        if self._in_c:
            self._reclaim()
        self._closed = True
        if reason is not None:
            self.reporter.failed(reason, self._bytes_acked())
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._shared.remove(self)
        self._leave_c()  # before the file is closed
        self._release()
        self._on_close(self)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def srtt(self) -> float | None:
        """The smoothed round-trip time measured so far (None before the first sample)."""
        return self.timeout.srtt if self.timeout.srtt >= 0 else None

    def _bytes_acked(self) -> int:
        return min(self._acked * self._blksize, self.size)

    # --- receiving (called by the shared socket with this client's datagrams only) ------

    def on_datagram(self, data: bytes) -> None:
        """Anything from our client that is not an ACK: an ERROR ends the transfer; DATA,
        a repeated RRQ or junk is ignored."""
        if self._in_c:
            self._reclaim()
        if self._closed:
            return
        if len(data) >= 2 and data[0] == 0 and data[1] == _ERROR:
            self._on_client_error(data)

    def on_ack(self, block: int) -> None:
        # The hot path: runs once per block (per window with windowsize), so it is written
        # flat, with no helper calls in the common case.
        if self._in_c:
            self._reclaim()
        if self._closed:
            return
        if self._oack_pending:
            if block != 0:
                return
            self._oack_pending = False
            self.half_open = False
            self._last_progress = self._shared.now
            self.timeout.tries = 0
            self._open_window(1)
            return
        acked = self._acked
        delta = (block - acked) & 0xFFFF
        if delta == 0 or delta > self._highest_sent - acked:
            return  # duplicate or stale ACK: never triggers DATA (Sorcerer's Apprentice)
        acked += delta
        self._acked = acked
        now = self._shared.now
        self._last_progress = now
        timeout = self.timeout
        if self._sample_ok:
            # RFC 6298 smoothing (see .rto), inline: a method call per block costs more.
            sample = now - self._sent_at
            if timeout.srtt < 0:
                timeout.sample(sample)
                self._rearm(now + timeout.current())  # first sample: stop waiting a second
            else:
                timeout.rttvar += (abs(sample - timeout.srtt) - timeout.rttvar) * 0.25
                timeout.srtt += (sample - timeout.srtt) * 0.125
        self._sample_ok = True
        if timeout.tries:
            timeout.tries = 0
        self.half_open = False
        if acked >= self._last_block:
            self.reporter.finished(self.size, self.retransmits)
            self.close()
            return
        if now >= self._progress_due:
            self._progress_due = now + _PROGRESS_EVERY
            self.reporter.progress(acked * self._blksize, now)
        self._sent_at = now
        if self._window == 1 and not self._writer_armed:
            # Lock-step (the common PXE case): the next block, written in place, queued.
            following = acked + 1
            self._pack_into(self._buf, 0, _DATA, following & 0xFFFF)
            self._iov_len[1] = 4 + self._fill(acked * self._blksize)
            self._queue(self)
            self._next_send = following + 1
            self._window_end = following
            if following > self._highest_sent:
                self._highest_sent = following
            else:
                self.retransmits += 1
            if self._lane is not None:
                self._lane.offer(self)
            return
        # The end of the window slides the next one out; a mid-window ACK (RFC 7440) means
        # the client lost what followed, so the window restarts right after it either way.
        self._next_send = acked + 1
        end = acked + self._window
        self._window_end = end if end < self._last_block else self._last_block
        self._pump()

    def unsent(self, error: OSError | None) -> None:
        """The shared socket could not send our queued block: wait for room, or give up."""
        if self._in_c:
            self._reclaim()
        if self._closed:
            return
        if error is not None:
            self.close(reason=f"cannot send: {error.strerror or error}")
            return
        self._next_send = self._window_end  # the queued block is still to send
        self._wait_writable()

    def _on_client_error(self, data: bytes) -> None:
        code, message = packets.decode_error(data)
        if self._oack_pending and self.negotiated.tsize_asked:
            self.reporter.size_probe()
            self.close()
            return
        self.close(reason=f"client aborted with ERROR {code}: {message}")

    # --- sending ------------------------------------------------------------------------

    def _send_raw(self, packet: bytes) -> None:
        try:
            self._sendto(packet, self.client)
        except (BlockingIOError, InterruptedError):
            pass  # the retransmit timer resends it
        except OSError as exc:
            self.close(reason=f"cannot send: {exc.strerror}")

    def _open_window(self, first: int) -> None:
        """Send blocks *first* … *first* + window - 1 (not past the last block)."""
        self._next_send = first
        self._window_end = min(first + self._window - 1, self._last_block)
        self._pump()

    def _pump(self) -> None:
        block = self._next_send
        end = self._window_end
        blksize = self._blksize
        read = self._read
        sendto = self._sendto
        pack = self._pack
        client = self.client
        already = self._highest_sent
        try:
            if self._gso_batch and end > block:
                block, works = gso_send.send_blocks(
                    self._shared.sock.sendmsg,
                    self._gso_cmsg,
                    client,
                    read,
                    blksize,
                    self._gso_batch,
                    block,
                    end,
                    self._last_block,
                )
                if not works:
                    self._gso_batch = 0  # not supported here: plain datagrams from now on
            while block <= end:
                sendto(pack(_DATA, block & 0xFFFF) + read(blksize, (block - 1) * blksize), client)
                block += 1
        except (BlockingIOError, InterruptedError):
            self._wait_writable()
        except OSError as exc:
            self.close(reason=f"cannot send: {exc.strerror or exc}")
            return
        first = self._next_send
        self._next_send = block
        last_sent = block - 1
        if last_sent > already:
            self._highest_sent = last_sent
            if first <= already:
                self.retransmits += already - first + 1
        elif last_sent >= first:
            self.retransmits += last_sent - first + 1

    def _wait_writable(self) -> None:
        if not self._writer_armed and not self._closed:
            self._writer_armed = True
            self._shared.want_writable(self)

    def on_writable(self) -> None:
        if self._in_c:
            self._reclaim()
        self._writer_armed = False
        if not self._closed:
            self._pump()

    # --- timer --------------------------------------------------------------------------

    def _rearm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._arm(when)

    def _arm(self, when: float) -> None:
        # On the data thread's clock, time.monotonic.
        self._timer = self._sockets.call_at(when, self._on_timer)

    def rto(self) -> float:
        """The current retransmit timeout (see :mod:`.rto`)."""
        return self.timeout.current()

    def _on_timer(self) -> None:
        self._timer = None
        if self._in_c:
            self._reclaim()
        if self._closed:
            return
        due = self._last_progress + self.timeout.current()
        now = _monotonic()
        if now < due:
            self._arm(due)  # progress happened since this timer was set: look again later
            return
        if not self.timeout.tries:
            self._stalled_since = self._last_progress
        elif now - self._stalled_since >= self._give_up_after:
            self.close(
                reason=f"no answer from client for {now - self._stalled_since:.1f} s "
                f"({self.timeout.tries} retransmissions)"
            )
            return
        self.timeout.tries += 1
        self._last_progress = now
        self._sample_ok = False
        if self._oack_pending:
            self.retransmits += 1
            self._send_raw(self._oack)
        else:
            self._open_window(self._acked + 1)
        if not self._closed:
            self._arm(now + self.timeout.current())
