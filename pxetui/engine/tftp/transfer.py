"""One TFTP read transfer: its own UDP socket (the RFC's transfer ID), window, timer, events.

Everything per block is kept tiny, because the benchmark compares us with C servers: an ACK
is two byte reads and a subtraction, a DATA packet is one precompiled ``struct`` header plus
an ``os.pread`` slice, a window goes out in one loop, and the retransmit timer is not
re-armed per ACK (it records the time of the last progress and checks it when it fires).

Rules that keep a LAN safe:

* Only the client's exact (address, port) may drive the transfer. Anyone else gets
  ERROR 5 and nothing changes (RFC 1350 transfer IDs).
* Only an ACK that moves the window forward sends DATA. Duplicate or stale ACKs do nothing,
  so a delayed duplicate can never double the traffic (the Sorcerer's Apprentice bug); lost
  packets are recovered by our own timer (~1 s, doubling, bounded retries).
* An ACK for a block inside the window that is not its end means the client lost the rest
  (RFC 7440): the window restarts right after that block.
* Block numbers are 16 bits on the wire and roll over 65535 → 0; internally they are counted
  without limit and the wire number is mapped back relative to the window.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import time
from collections.abc import Callable

from pxetui.engine.progress import TransferReporter
from pxetui.engine.tftp import packets
from pxetui.engine.tftp.datapath import DataPath, Timer
from pxetui.engine.tftp.options import Negotiated
from pxetui.engine.tftp.sources import Reader

_RECV_SIZE = 2048
_DATA = packets.DATA
_ERROR = packets.ERROR

_UDP_SEGMENT = 103  # Linux UDP GSO socket option (not exported by Python)
_GSO_MAX_SEGMENTS = 64
_GSO_MAX_BYTES = 65000

# Never retransmit sooner than this, however fast the path measured.
MIN_RTO = 0.1

_monotonic = time.monotonic


class Transfer:
    """A read transfer in progress. Created and started by the server, closed exactly once.

    Runs on the data thread (:mod:`.datapath`); any other thread calls it only while holding
    ``DataPath.lock``, so no method here needs a lock of its own.
    """

    def __init__(
        self,
        *,
        sockets: DataPath,
        sock: socket.socket,
        client: tuple[str, int],
        read: Reader,
        size: int,
        negotiated: Negotiated,
        reporter: TransferReporter,
        on_close: Callable[[Transfer], None],
        release: Callable[[], None] = lambda: None,
        base_timeout: float = 1.0,
        min_rto: float = MIN_RTO,
        max_retries: int = 5,
        gso: bool = True,
    ) -> None:
        self._sockets = sockets
        self._sock = sock
        self.client = client
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
        self._base_rto = timeout
        self._min_rto = min(min_rto, timeout)
        self._srtt = -1.0  # smoothed round-trip time; < 0 until the first sample
        self._rttvar = 0.0
        self._sent_at = self.created  # when the current window went out (RTT samples)
        self._sample_ok = False  # Karn: no RTT sample from a retransmitted window
        # Give up after as long as `max_retries` back-offs from the base timeout take (1 s:
        # 1+2+4+8+8 = 23 s), however short the adaptive timeout is: a client that is merely
        # slow for a few seconds (a busy host, a firmware pause) must not be dropped.
        self._give_up_after = sum(min(timeout * (1 << i), timeout * 8) for i in range(max_retries))
        self._stalled_since = 0.0
        self._tries = 0
        self._last_progress = self.created
        self._progress_due = self.created + 0.1
        self._timer: Timer | None = None
        self._closed = False
        self._sendto = sock.sendto
        self._recvfrom = sock.recvfrom
        self._pack = packets.HEADER.pack
        # UDP GSO for windows: up to 64 segments and 64 KiB per sendmsg (kernel limits).
        seg = self._blksize + 4
        batch = min(_GSO_MAX_SEGMENTS, _GSO_MAX_BYTES // seg) if gso else 0
        self._gso_batch = batch if self._window > 1 and batch >= 2 else 0
        self._gso_cmsg = [(socket.SOL_UDP, _UDP_SEGMENT, struct.pack("=H", seg))]

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        """Register the socket, send the OACK or the first window, arm the timer."""
        self._sockets.add(self._sock.fileno(), self._on_readable)
        self.reporter.started(self.negotiated.oack)
        if self._oack_pending:
            self._send_raw(self._oack)
        else:
            self._open_window(1)
        self._arm(self._last_progress + self._base_rto)

    def close(self, *, reason: str | None = None) -> None:
        """Stop for good; with *reason*, report the transfer as failed (if nothing else was)."""
        if self._closed:
            return
        self._closed = True
        if reason is not None:
            self.reporter.failed(reason, self._bytes_acked())
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        fd = self._sock.fileno()
        if fd >= 0:
            self._sockets.remove(fd)
        self._sock.close()
        self._release()
        self._on_close(self)

    @property
    def closed(self) -> bool:
        return self._closed

    def _bytes_acked(self) -> int:
        return min(self._acked * self._blksize, self.size)

    # --- receiving ----------------------------------------------------------------------

    def _on_readable(self) -> None:
        # One datagram per call: the readiness is level-triggered, so anything else queued
        # is reported again right away, and the common case raises no BlockingIOError.
        if self._closed:
            return
        try:
            data, addr = self._recvfrom(_RECV_SIZE)
        except OSError:
            # EAGAIN (spurious wake-up) or an ICMP error queued on the socket; a dead
            # client is the retransmit timer's business.
            return
        if addr != self.client:
            self._stranger(data, addr)
        elif len(data) >= 4 and data[0] == 0 and data[1] == 4:
            self._on_ack((data[2] << 8) | data[3])
        elif len(data) >= 2 and data[0] == 0 and data[1] == _ERROR:
            self._on_client_error(data)
        # anything else from the client (DATA, a repeated RRQ, junk) is ignored

    def _stranger(self, data: bytes, addr: tuple[str, int]) -> None:
        """RFC 1350: a packet from the wrong TID gets ERROR 5; the transfer is untouched."""
        if len(data) >= 2 and data[0] == 0 and data[1] == _ERROR:
            return  # never answer an error with an error (no ping-pong)
        with contextlib.suppress(OSError):
            self._sendto(packets.encode_error(packets.ERR_UNKNOWN_TID, "Unknown transfer ID"), addr)

    def _on_ack(self, block: int) -> None:
        # The hot path: runs once per block (per window with windowsize), so it is written
        # flat, with no helper calls in the common case.
        if self._oack_pending:
            if block != 0:
                return
            self._oack_pending = False
            self.half_open = False
            self._last_progress = _monotonic()
            self._tries = 0
            self._open_window(1)
            return
        acked = self._acked
        delta = (block - acked) & 0xFFFF
        if delta == 0 or delta > self._highest_sent - acked:
            return  # duplicate or stale ACK: never triggers DATA (Sorcerer's Apprentice)
        acked += delta
        self._acked = acked
        now = _monotonic()
        self._last_progress = now
        if self._sample_ok:
            # RFC 6298 smoothing of the send-to-ACK time, for the retransmit timeout.
            sample = now - self._sent_at
            if self._srtt < 0:
                self._srtt, self._rttvar = sample, sample / 2
                self._rearm(now + self.rto())  # the first sample: stop waiting a full second
            else:
                self._rttvar += (abs(sample - self._srtt) - self._rttvar) * 0.25
                self._srtt += (sample - self._srtt) * 0.125
        self._sample_ok = True
        if self._tries:
            self._tries = 0
        self.half_open = False
        if acked >= self._last_block:
            self.reporter.finished(self.size, self.retransmits)
            self.close()
            return
        if now >= self._progress_due:
            self._progress_due = now + 0.1
            self.reporter.progress(acked * self._blksize, now)
        self._sent_at = now
        if self._window == 1 and not self._writer_armed:
            # Lock-step (the common PXE case): send the next block right here.
            blksize = self._blksize
            following = acked + 1
            try:
                self._sendto(
                    self._pack(_DATA, following & 0xFFFF) + self._read(blksize, acked * blksize),
                    self.client,
                )
            except OSError:
                pass  # the general path below retries and handles EAGAIN and errors
            else:
                self._next_send = following + 1
                self._window_end = following
                if following > self._highest_sent:
                    self._highest_sent = following
                else:
                    self.retransmits += 1
                return
        # The end of the window slides the next one out; a mid-window ACK (RFC 7440) means
        # the client lost what followed, so the window restarts right after it either way.
        self._next_send = acked + 1
        end = acked + self._window
        self._window_end = end if end < self._last_block else self._last_block
        self._pump()

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
                block = self._pump_gso(block, end)
            while block <= end:
                sendto(pack(_DATA, block & 0xFFFF) + read(blksize, (block - 1) * blksize), client)
                block += 1
        except (BlockingIOError, InterruptedError):
            if not self._writer_armed and not self._closed:
                self._writer_armed = True
                self._sockets.want_writable(self._sock.fileno(), self._on_writable)
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

    def _pump_gso(self, block: int, end: int) -> int:
        """Send blocks with UDP GSO: one ``sendmsg`` carries many equal-size datagrams.

        Returns the next block still to send. The kernel cuts the buffer every
        ``4 + blksize`` bytes, so every segment but the last must be a full block; anything
        else (a file that shrank underneath us) is left to the per-packet loop. A kernel
        that refuses GSO disables it for this transfer.
        """
        blksize = self._blksize
        seg = blksize + 4
        read = self._read
        pack = self._pack
        while block < end:
            last = block + self._gso_batch - 1
            if last > end:
                last = end
            parts = [
                pack(_DATA, k & 0xFFFF) + read(blksize, (k - 1) * blksize)
                for k in range(block, last + 1)
            ]
            payload = b"".join(parts)
            if len(payload) != (last - block + 1) * seg and last != self._last_block:
                return block
            try:
                self._sock.sendmsg([payload], self._gso_cmsg, 0, self.client)
            except (BlockingIOError, InterruptedError):
                raise
            except OSError:
                self._gso_batch = 0  # not supported here: plain datagrams from now on
                return block
            block = last + 1
        return block

    def _on_writable(self) -> None:
        if self._writer_armed:
            self._writer_armed = False
            self._sockets.stop_writable(self._sock.fileno())
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
        """The current retransmit timeout.

        The base (1 s, or the client's negotiated ``timeout``) until the first RTT sample;
        then ``srtt + 4·rttvar`` (RFC 6298) kept between ``min_rto`` and the base, so a lost
        ACK on a fast LAN costs a tenth of a second instead of a full second. Each
        retransmission without progress doubles it, up to eight times the base.
        """
        base = self._base_rto
        if self._srtt < 0:
            rto = base
        else:
            rto = self._srtt + 4 * self._rttvar
            rto = self._min_rto if rto < self._min_rto else (base if rto > base else rto)
        return float(min(rto * (1 << self._tries), base * 8))

    def _on_timer(self) -> None:
        self._timer = None
        if self._closed:
            return
        due = self._last_progress + self.rto()
        now = _monotonic()
        if now < due:
            self._arm(due)  # progress happened since this timer was set: look again later
            return
        if not self._tries:
            self._stalled_since = self._last_progress
        elif now - self._stalled_since >= self._give_up_after:
            self.close(
                reason=f"no answer from client for {now - self._stalled_since:.1f} s "
                f"({self._tries} retransmissions)"
            )
            return
        self._tries += 1
        self._last_progress = now
        self._sample_ok = False
        if self._oack_pending:
            self.retransmits += 1
            self._send_raw(self._oack)
        else:
            self._open_window(self._acked + 1)
        if not self._closed:
            self._arm(now + self.rto())
