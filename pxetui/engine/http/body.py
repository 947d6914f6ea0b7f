"""A response body straight from the file with ``os.sendfile``, waiting for room on the loop.

Why not ``loop.sendfile``: each call of it (one per 4 MiB slice) is a Task (``wait_for``), an
``fstat``, a fresh future, the transport unregistered and registered again, a ``seek``, and a
``sendfile`` into a full socket that only says EAGAIN. Here a slice is ``os.sendfile`` calls
on the socket until it is sent, and after a short one (the socket is full) one wait for room:
a future and one timer (the socket is registered once per body).

Bodies side by side take turns: while another body is being sent, one call moves at most
:data:`TURN` bytes, then the loop runs the others. Why: in the bench (server on one core, 50
curl clients on the other) the clients' core was measured full and the server's not. Our
reading, not traced: a socket holding megabytes it has not sent yet sends them as the ACKs
arrive, in softirq on the *receiver's* core; short turns keep that queue short, so more of
the sending is done by the server's core (README "Benchmarks": 0.87-0.91x nginx with 4 MiB
calls, 1.08-1.16x with 256 KiB turns). Alone, a body needs no turns: a socketful per call.

The socket is the transport's, reached through a ``dup`` of its fd: asyncio refuses a writer
on a transport's own fd, and a dup is the same socket. While the body goes, the transport
neither reads (paused, as ``loop.sendfile`` does) nor writes (its buffer is empty before
the first byte, and nothing else writes until the body is done).
"""

from __future__ import annotations

import asyncio
import os

# Next to other bodies, one sendfile call moves at most this much, then the loop lets the
# others have a turn (as nginx's sendfile_max_chunk, 2 MiB there). Measured (README
# "Benchmarks", HTTP at 50 clients): 4 MiB at a time 0.87-0.91x nginx, 2 MiB 0.88x, 1 MiB
# 0.93x, 512 KiB 1.04-1.07x, 256 KiB 1.08-1.12x, 128 KiB 1.06x.
TURN = 256 * 1024


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class BodySender:
    """Sends file ranges on one connection's socket. Close it once the body is done."""

    __slots__ = ("_fd", "_loop", "_transport", "_waiter", "_watching")

    _active = 0  # bodies being sent (open senders) in this process, on its one loop

    def __init__(self, transport: asyncio.Transport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is None:
            raise ConnectionResetError("client went away")
        self._loop = asyncio.get_running_loop()
        self._transport = transport
        self._fd = os.dup(sock.fileno())
        self._waiter: asyncio.Future[None] | None = None
        self._watching = False
        BodySender._active += 1

    def close(self) -> None:
        if self._watching:
            self._loop.remove_writer(self._fd)
            self._watching = False
        if self._fd >= 0:
            os.close(self._fd)  # after its registration is gone
            self._fd = -1
            BodySender._active -= 1

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _writable(self, deadline: float) -> None:
        """Until the socket has room (its error or hang-up counts: the next send says which);
        TimeoutError at *deadline* (loop time).

        The socket stays registered from the first wait to :meth:`close` (one epoll
        registration per body, not two changes per wait). It is level-triggered, but a
        wake-up with no waiter is rare: between waits the body only sends, which fills the
        socket again, and :meth:`close` follows the last send.
        """
        loop = self._loop
        if not self._watching:
            loop.add_writer(self._fd, self._wake)
            self._watching = True
        waiter = self._waiter = loop.create_future()
        timer = loop.call_at(deadline, _expire, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None

    async def flushed(self, deadline: float) -> None:
        """Until the transport's own buffer (the response head) has gone out."""
        transport = self._transport
        while transport.get_write_buffer_size():
            if transport.is_closing():
                raise ConnectionResetError("client went away")
            await self._writable(deadline)
            await asyncio.sleep(0)  # the transport's writer runs on the same wake-up

    async def send(self, file_fd: int, offset: int, count: int, deadline: float) -> int:
        """Send *count* bytes of *file_fd* from *offset*; fewer only if the file ends first.

        TimeoutError if the client does not take them by *deadline* (loop time); OSError
        (ConnectionError for a reset) if the socket fails.
        """
        sent = 0
        fd = self._fd
        sendfile = os.sendfile
        while sent < count:
            # Alone, a body goes in one call per socketful; next to others, in turns.
            turn = count - sent if BodySender._active < 2 else min(TURN, count - sent)
            try:
                done = sendfile(fd, file_fd, offset + sent, turn)
            except (BlockingIOError, InterruptedError):
                await self._writable(deadline)
                continue
            if done == 0:
                break  # the end of the file: it shrank under us
            sent += done
            if done == turn and sent < count:
                await asyncio.sleep(0)  # the other bodies' turn
                continue
            if sent < count:
                # Short: the socket's buffer is full. Wait for room rather than ask again
                # (a send into a full socket costs a syscall that only says EAGAIN).
                await self._writable(deadline)
        return sent
