"""The TFTP data path in a thread of its own: one blocking epoll for every transfer socket.

Why a thread: in lock-step (windowsize 1, the common PXE case) every block costs one round
trip, and so one wake-up of the server. Under asyncio each wake-up also runs the selector's
bookkeeping, a ready-queue ``Handle`` and the timer heap — measured ~20 % of a round at 10
clients on loopback. Here a plain loop blocks in ``epoll.poll`` and calls the transfers
directly: ACK in → next DATA out, nothing else. Retransmit timers live in the same loop (a
heap checked once per wake-up), so a transfer never needs asyncio after it started.

Concurrency contract (why a :class:`Transfer` needs no locks of its own):

* The data thread runs every transfer callback (readable, writable, timer) holding
  :attr:`DataPath.lock`, and releases it only while it sleeps in ``epoll.poll``.
* Any other thread that touches a transfer — the listener starting, superseding or evicting
  one, ``stop()`` — holds the same lock. So one transfer is only ever run by one thread at a
  time. The listener takes it for microseconds per request; nothing blocking (opening files,
  netascii conversion) happens under it.
* Events are never published from the data thread: :meth:`DataPath.publish` queues them and
  the data thread hands the queue to the event loop at most every 50 ms (one
  ``loop.call_soon_threadsafe``), in order. Subscribers (the bus, the JSON log, a worker's
  stdout) therefore still run on the loop — and they run in batches, because every time the
  loop thread runs Python it holds the GIL the data path needs (measured: one hand-off per
  event cost the data thread ~6 % of its samples in the self-pipe write alone).

With the C extension (:mod:`.fastpath`) the wait is ``pump()`` instead of ``epoll.poll``: it
also serves lock-step ACKs in C while it waits, and returns, besides the ready descriptors,
whatever it hands back to Python. It runs with the lock released, like the poll.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import heapq
import itertools
import logging
import os
import select
import threading
import time
from collections.abc import Callable

from pxetui.core.events import Event
from pxetui.engine.tftp import fastpath

log = logging.getLogger(__name__)

_MAX_EVENTS = 256
_MAX_SLEEP = 1.0  # never sleep longer without looking at the clock and the stop flag
_JOIN_TIMEOUT = 5.0
_FLUSH_INTERVAL = 0.05  # events reach the loop at most this late
_READABLE = select.EPOLLIN | select.EPOLLERR | select.EPOLLHUP


class Timer:
    """A one-shot callback at a monotonic time; :meth:`cancel` makes it a no-op."""

    __slots__ = ("callback", "cancelled")

    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class DataPath:
    """Readiness, timers and event hand-off for every transfer socket of one server."""

    def __init__(self, loop: asyncio.AbstractEventLoop, publish: Callable[[Event], None]) -> None:
        self._loop = loop
        self._publish_on_loop = publish
        self.lock = threading.Lock()
        self._epoll = select.epoll()
        self._wake_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._epoll.register(self._wake_fd, select.EPOLLIN)
        self._readers: dict[int, Callable[[], None]] = {}
        self._writers: dict[int, Callable[[], None]] = {}
        self._timers: list[tuple[float, int, Timer]] = []
        self._order = itertools.count()
        self._events: collections.deque[Event] = collections.deque()
        self._flush_scheduled = False
        self._running = True
        self._closed = False
        #: the C fast path (None: pure Python); sockets and transfers register with it
        self.lane = fastpath.lane()
        self._thread = threading.Thread(target=self._run, name="tftp-data", daemon=True)
        self._thread.start()
        self._thread_id = self._thread.ident

    # --- registration (callers hold `lock`, or are the data thread) ----------------------

    def add(self, fd: int, on_readable: Callable[[], None]) -> None:
        """Call *on_readable* (on the data thread) whenever *fd* has a datagram."""
        self._readers[fd] = on_readable
        self._epoll.register(fd, _READABLE)

    def remove(self, fd: int) -> None:
        """Forget *fd* (readable and writable interest); the caller closes it."""
        self._writers.pop(fd, None)
        if self._readers.pop(fd, None) is not None:
            with contextlib.suppress(OSError, ValueError):
                self._epoll.unregister(fd)

    def want_writable(self, fd: int, on_writable: Callable[[], None]) -> None:
        """Call *on_writable* once the send buffer of *fd* has room (after EAGAIN)."""
        self._writers[fd] = on_writable
        with contextlib.suppress(OSError, ValueError):
            self._epoll.modify(fd, _READABLE | select.EPOLLOUT)

    def stop_writable(self, fd: int) -> None:
        if self._writers.pop(fd, None) is not None and fd in self._readers:
            with contextlib.suppress(OSError, ValueError):
                self._epoll.modify(fd, _READABLE)

    def call_at(self, when: float, callback: Callable[[], None]) -> Timer:
        """Run *callback* on the data thread at ``time.monotonic()`` *when*."""
        timer = Timer(callback)
        heapq.heappush(self._timers, (when, next(self._order), timer))
        if threading.get_ident() != self._thread_id:
            self._wake()  # the data thread may be sleeping past *when*
        return timer

    # --- events ---------------------------------------------------------------------------

    def publish(self, event: Event) -> None:
        """Queue *event* for the loop, order kept; the data thread hands queued events over
        in batches, any other thread (the loop's, starting or evicting a transfer) at once."""
        self._events.append(event)
        if threading.get_ident() != self._thread_id:
            self._schedule_flush()

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            with contextlib.suppress(RuntimeError):  # the loop is closed: close() flushes
                self._loop.call_soon_threadsafe(self._flush)

    def _flush(self) -> None:
        # Cleared before draining: an event queued while we drain either gets drained here
        # or schedules the next flush; none is left behind.
        self._flush_scheduled = False
        events = self._events
        publish = self._publish_on_loop
        while events:
            event = events.popleft()
            try:
                publish(event)
            except Exception:
                log.exception("publishing a TFTP event failed")

    # --- lifecycle --------------------------------------------------------------------------

    def stop(self) -> None:
        """End the data thread, then handle (on the caller) the datagrams already queued.

        Why the last pass: a client's final ACK that reached its socket before we stopped
        finishes its transfer, instead of the transfer being reported as cut off by the stop.
        """
        if not self._running:
            return
        with self.lock:
            self._running = False
        self._wake()
        self._thread.join(_JOIN_TIMEOUT)
        if self._thread.is_alive():
            log.error("TFTP data thread did not stop in %.0f s", _JOIN_TIMEOUT)
            return
        with contextlib.suppress(OSError, ValueError):
            for fd, _mask in self._epoll.poll(0, _MAX_EVENTS):
                handler = self._readers.get(fd)
                if handler is not None:
                    try:
                        handler()
                    except Exception:
                        log.exception("TFTP transfer handler failed")

    def close(self) -> None:
        """Stop (see :meth:`stop`), release the epoll, publish whatever is still queued."""
        if self._closed:
            return
        self.stop()
        self._closed = True
        if not self._thread.is_alive():
            self._epoll.close()
            os.close(self._wake_fd)
        self._readers.clear()
        self._writers.clear()
        self._timers.clear()
        self._flush()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            os.eventfd_write(self._wake_fd, 1)

    def _run(self) -> None:
        # The hot loop: locals only, one monotonic() per wake-up (for the timers).
        poll = self._epoll.poll
        lane = self.lane
        pump = lane.pump.pump if lane is not None else None
        epfd = self._epoll.fileno()
        readers = self._readers
        writers = self._writers
        timers = self._timers
        lock = self.lock
        wake_fd = self._wake_fd
        monotonic = time.monotonic
        heappop = heapq.heappop
        events = self._events
        readable = _READABLE
        writable = select.EPOLLOUT
        flush_at = 0.0
        now = monotonic()
        lock.acquire()
        try:
            while self._running:
                timeout = timers[0][0] - now if timers else _MAX_SLEEP
                if events:
                    if now >= flush_at:
                        self._schedule_flush()
                        flush_at = now + _FLUSH_INTERVAL
                    elif flush_at - now < timeout:
                        timeout = flush_at - now
                if timeout < 0.0:
                    timeout = 0.0
                elif timeout > _MAX_SLEEP:
                    timeout = _MAX_SLEEP
                if lane is None or pump is None:
                    lock.release()
                    try:
                        ready = poll(timeout, _MAX_EVENTS)
                    finally:
                        lock.acquire()
                else:
                    lane.give_offered()
                    lock.release()
                    try:
                        ready, handups, unsent = pump(epfd, timeout)
                    finally:
                        lock.acquire()
                    if handups or unsent:
                        try:
                            lane.dispatch(handups, unsent)
                        except Exception:
                            log.exception("TFTP transfer handler failed")
                for fd, mask in ready:
                    if mask & readable:
                        handler = readers.get(fd)
                        if handler is not None:
                            try:
                                handler()
                            except Exception:
                                # One transfer's bug must not stop the others (or the thread).
                                log.exception("TFTP transfer handler failed")
                        elif fd == wake_fd:
                            with contextlib.suppress(OSError):
                                os.eventfd_read(wake_fd)
                            continue
                    if mask & writable:
                        handler = writers.get(fd)
                        if handler is not None:
                            try:
                                handler()
                            except Exception:
                                log.exception("TFTP transfer handler failed")
                now = monotonic()
                if timers and timers[0][0] <= now:
                    while timers and timers[0][0] <= now:
                        timer = heappop(timers)[2]
                        if timer.cancelled:
                            continue
                        timer.cancelled = True
                        try:
                            timer.callback()
                        except Exception:
                            log.exception("TFTP transfer timer failed")
        finally:
            lock.release()
