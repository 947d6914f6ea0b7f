"""dnsmasq's log: a wide pipe the engine reads in batches, so logging never slows DHCP.

dnsmasq writes its log (``--log-dhcp``: a dozen lines per exchange) to stderr with blocking
writes. On a default 64 KiB pipe a busy engine that reads late stalls dnsmasq's answers,
and reading every line as it comes wakes the engine once per line (on a boot server with one
core that is a context switch per line, each costing dnsmasq its turn). Measured with
``bench/boot_storm.py --clients 100 --setups pxetui,dnsmasq+nginx``: the last of 100
clients had its lease after 0.15-0.16 s read line by line, 0.07-0.09 s read in batches
(dnsmasq alone, not logging: 0.04-0.06 s).

So the pipe is :data:`PIPE_BYTES` wide (``F_SETPIPE_SZ``; the kernel's
``/proc/sys/fs/pipe-max-size`` allows 1 MiB to every user by default) and
:meth:`LogPipe.batch` is read at most every :data:`BATCH_S`: between batches the engine
does not watch the pipe at all, and dnsmasq's writes land in the pipe without waiting.
The live view gets DHCP lines at most :data:`BATCH_S` later.

**When a line was written** (the time its DHCP event carries, :attr:`LogPipe.written_after`):
a batch read on the pace holds lines written since the pipe was last seen empty, so it is
stamped with that moment — never later than dnsmasq wrote them, at worst :data:`BATCH_S`
earlier. Stamped with the time they were read instead, the proxy's reply that told a client
its boot file could come out *after* the request for that file, and the live view then saw a
machine starting over that was not (a phantom second boot, seen in CI). A batch the reader
was waiting for (the pipe idle) is stamped when the reader woke, just after the write.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import time

log = logging.getLogger(__name__)

PIPE_BYTES = 1 << 20
BATCH_S = 0.05
MAX_LINE = 1 << 20  # a line longer than this is dropped (and the drop said)
OVERLONG = b"(overlong line dropped)"
_READ = 1 << 20


class LogPipe:
    """A pipe for one dnsmasq child's stderr: pass :attr:`write_fd` to the child, then
    :meth:`parent_side`, then :meth:`batch` until it returns ``None`` (end of file)."""

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe2(os.O_CLOEXEC)
        try:
            fcntl.fcntl(self.read_fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        except OSError as exc:  # over pipe-max-size, or a user over its pipe quota
            log.info("dnsmasq log pipe left at the kernel's default size: %s", exc)
        os.set_blocking(self.read_fd, False)
        self._partial = b""
        self._skipping = False  # inside a line already dropped as overlong: until its end
        self._next = 0.0  # monotonic time of the next batch
        self._empty_at = time.time()  # wall time the pipe was last seen empty
        self.written_after = self._empty_at
        """The earliest wall-clock time the lines of the last batch can have been written."""

    def parent_side(self) -> None:
        """The child has its copy: close ours, so end of file means every writer is gone."""
        if self.write_fd >= 0:
            os.close(self.write_fd)
            self.write_fd = -1

    def close(self) -> None:
        self.parent_side()
        if self.read_fd >= 0:
            os.close(self.read_fd)
            self.read_fd = -1

    async def batch(self, timeout: float | None) -> list[bytes] | None:
        """The complete lines written since the last batch (waiting up to *timeout* seconds
        for one; ``[]`` if none came), or ``None`` at end of file."""
        delay = self._next - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        deadline = None if timeout is None else time.monotonic() + timeout
        floor: float | None = None  # the batch's: when the pipe was empty before its first read
        while True:
            empty_at = self._empty_at
            data = self._read()
            if data == b"":
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                if not await self._readable(left):
                    return []
                self._empty_at = time.time()  # woken by the write, just after it
                continue
            if floor is None:
                floor = empty_at
            if data is None:  # end of file: the last line may lack its newline
                rest, self._partial = self._partial, b""
                self.written_after = floor
                return [rest] if rest and not self._skipping else None
            if self._skipping:
                end = data.find(b"\n")
                if end < 0:
                    continue
                self._skipping, data = False, data[end + 1 :]
            *lines, self._partial = (self._partial + data).split(b"\n")
            if len(self._partial) > MAX_LINE:
                self._partial, self._skipping = b"", True
                lines.append(OVERLONG)
            if lines:
                self._next = time.monotonic() + BATCH_S
                self.written_after = floor
                return lines

    def _read(self) -> bytes | None:
        """What the pipe holds (``b""`` if nothing yet), ``None`` at end of file."""
        before = time.time()
        try:
            data = os.read(self.read_fd, _READ)
        except BlockingIOError:
            self._empty_at = before
            return b""
        if len(data) < _READ:
            self._empty_at = before  # drained: whatever comes next is written after this
        return data or None

    async def _readable(self, timeout: float | None) -> bool:
        if timeout is not None and timeout <= 0:
            return False
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(self.read_fd, wake)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ready, timeout)
        finally:
            loop.remove_reader(self.read_fd)
        return ready.done() and not ready.cancelled()
