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

import asyncio
import contextlib
import functools
import os
import socket
from collections.abc import Callable

from pxetui.engine.progress import TransferReporter
from pxetui.engine.tftp import packets
from pxetui.engine.tftp.options import Negotiated

# Read at most this many datagrams per wake-up, so one busy socket cannot starve the others.
_READ_BATCH = 32
_RECV_SIZE = 2048
_DATA = packets.DATA
_ERROR = packets.ERROR

Reader = Callable[[int, int], bytes]  # (length, offset) -> bytes


class Transfer:
    """A read transfer in progress. Created and started by the server, closed exactly once."""

    def __init__(
        self,
        *,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        client: tuple[str, int],
        read: Reader,
        size: int,
        negotiated: Negotiated,
        reporter: TransferReporter,
        on_close: Callable[[Transfer], None],
        release: Callable[[], None] = lambda: None,
        base_timeout: float = 1.0,
        max_retries: int = 5,
    ) -> None:
        self._loop = loop
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
        self.created = loop.time()
        timeout = float(negotiated.timeout) if negotiated.timeout else base_timeout
        self._base_rto = timeout
        self._rto = timeout
        self._max_retries = max_retries
        self._tries = 0
        self._last_progress = self.created
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False
        self._sendto = sock.sendto
        self._recvfrom = sock.recvfrom
        self._pack = packets.HEADER.pack

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        """Register the socket, send the OACK or the first window, arm the timer."""
        self._loop.add_reader(self._sock.fileno(), self._on_readable)
        self.reporter.started(self.negotiated.oack)
        if self._oack_pending:
            self._send_raw(self._oack)
        else:
            self._open_window(1)
        self._arm(self._last_progress + self._rto)

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
            self._loop.remove_reader(fd)
            if self._writer_armed:
                self._loop.remove_writer(fd)
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
        for _ in range(_READ_BATCH):
            if self._closed:
                return
            try:
                data, addr = self._recvfrom(_RECV_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                # e.g. an ICMP error queued on the socket; the timer handles a dead client.
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
        if self._oack_pending:
            if block != 0:
                return
            self._oack_pending = False
            self._progressed()
            self._open_window(1)
            return
        delta = (block - self._acked) & 0xFFFF
        if delta == 0 or delta > self._highest_sent - self._acked:
            return  # duplicate or stale ACK: never triggers DATA (Sorcerer's Apprentice)
        acked = self._acked + delta
        self._acked = acked
        now = self._progressed()
        if acked >= self._last_block:
            self.reporter.finished(self.size, self.retransmits)
            self.close()
            return
        self.reporter.progress(acked * self._blksize, now)
        # The end of the window slides the next one out; a mid-window ACK (RFC 7440) means
        # the client lost what followed, so the window restarts right after it either way.
        self._open_window(acked + 1)

    def _on_client_error(self, data: bytes) -> None:
        code, message = packets.decode_error(data)
        if self._oack_pending and self.negotiated.tsize_asked:
            self.reporter.size_probe()
            self.close()
            return
        self.close(reason=f"client aborted with ERROR {code}: {message}")

    def _progressed(self) -> float:
        now = self._loop.time()
        self._last_progress = now
        self.half_open = False
        if self._tries:
            self._tries = 0
            self._rto = self._base_rto
        return now

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
            while block <= end:
                sendto(pack(_DATA, block & 0xFFFF) + read(blksize, (block - 1) * blksize), client)
                block += 1
        except (BlockingIOError, InterruptedError):
            if not self._writer_armed and not self._closed:
                self._writer_armed = True
                self._loop.add_writer(self._sock.fileno(), self._on_writable)
        except OSError as exc:
            self.close(reason=f"cannot send: {exc.strerror or exc}")
            return
        sent_up_to = block - 1
        if sent_up_to >= self._next_send:
            resent = min(sent_up_to, already) - self._next_send + 1
            if resent > 0:
                self.retransmits += resent
        self._next_send = block
        if sent_up_to > already:
            self._highest_sent = sent_up_to

    def _on_writable(self) -> None:
        if self._writer_armed:
            self._writer_armed = False
            self._loop.remove_writer(self._sock.fileno())
        if not self._closed:
            self._pump()

    # --- timer --------------------------------------------------------------------------

    def _arm(self, when: float) -> None:
        self._timer = self._loop.call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if self._closed:
            return
        due = self._last_progress + self._rto
        now = self._loop.time()
        if now < due:
            self._arm(due)  # progress happened since this timer was set: look again later
            return
        if self._tries >= self._max_retries:
            self.close(reason=f"no answer from client after {self._tries} retransmissions")
            return
        self._tries += 1
        self._rto = min(self._rto * 2, self._base_rto * 8)
        self._last_progress = now
        if self._oack_pending:
            self.retransmits += 1
            self._send_raw(self._oack)
        else:
            self._open_window(self._acked + 1)
        if not self._closed:
            self._arm(now + self._rto)


def file_reader(fd: int) -> Reader:
    """Blocks straight from the file descriptor (the page cache), no per-transfer copy.

    ``os.pread`` rather than ``mmap``: a file truncated in place under an mmap kills the
    whole process with SIGBUS, a short pread only ends one transfer early.
    """
    return functools.partial(os.pread, fd)


def bytes_reader(data: bytes) -> Reader:
    """Blocks from memory, for converted (netascii) content."""
    view = memoryview(data)

    def read(length: int, offset: int) -> bytes:
        return bytes(view[offset : offset + length])

    return read
