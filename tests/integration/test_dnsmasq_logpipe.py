"""dnsmasq's log pipe: wide enough that dnsmasq never waits for the engine, read in batches,
lines whole whatever the writes' boundaries, an overlong line dropped and said."""

from __future__ import annotations

import asyncio
import fcntl
import os
import time

from pxetui.engine.dnsmasq.logpipe import BATCH_S, MAX_LINE, OVERLONG, PIPE_BYTES, LogPipe


async def test_a_writer_never_waits_while_the_engine_is_busy() -> None:
    """512 KiB of log (some 4,000 DHCP exchanges) fit before the engine reads a byte; the
    default pipe (64 KiB) would have blocked dnsmasq after ~500."""
    pipe = LogPipe()
    try:
        assert fcntl.fcntl(pipe.read_fd, fcntl.F_GETPIPE_SZ) == PIPE_BYTES
        os.set_blocking(pipe.write_fd, False)
        line = b"dnsmasq-dhcp[7]: 1234 available DHCP range: 10.0.0.100 -- 10.0.0.250\n"
        count = (512 << 10) // len(line)
        for _ in range(count):
            assert os.write(pipe.write_fd, line) == len(line)  # BlockingIOError if full
        pipe.parent_side()
        got: list[bytes] = []
        while (batch := await asyncio.wait_for(pipe.batch(None), 10)) is not None:
            got += batch
        assert len(got) == count and set(got) == {line.rstrip(b"\n")}
    finally:
        pipe.close()


async def test_lines_are_whole_across_writes_and_the_last_one_comes_at_eof() -> None:
    pipe = LogPipe()
    try:
        os.write(pipe.write_fd, b"first li")
        assert await pipe.batch(0.1) == []  # no complete line yet: as quiet as nothing
        os.write(pipe.write_fd, b"ne\nsecond\nthi")
        assert await pipe.batch(5) == [b"first line", b"second"]
        os.write(pipe.write_fd, b"rd")
        pipe.parent_side()
        assert await pipe.batch(5) == [b"third"]  # at end of file, without its newline
        assert await pipe.batch(5) is None
    finally:
        pipe.close()


async def test_batches_are_paced_and_a_quiet_pipe_times_out() -> None:
    """Two batches are at least BATCH_S apart (one wake-up per batch, not per line); with
    nothing written, a timeout gives an empty batch."""
    pipe = LogPipe()
    try:
        os.write(pipe.write_fd, b"a\n")
        assert await pipe.batch(5) == [b"a"]
        started = time.monotonic()
        os.write(pipe.write_fd, b"b\n")
        assert await pipe.batch(5) == [b"b"]
        assert time.monotonic() - started >= BATCH_S * 0.9
        assert await pipe.batch(0.05) == []
    finally:
        pipe.close()


async def test_a_batch_is_stamped_no_later_than_its_lines_were_written() -> None:
    """A batch read on the pace carries the time the pipe was last seen empty: not later
    than the write (the DHCP event must not come after the request it led to), and not
    before the previous batch was read. A batch the reader waited for carries its wake-up."""
    pipe = LogPipe()
    try:
        before_first = time.time()
        os.write(pipe.write_fd, b"a\n")
        assert await pipe.batch(5) == [b"a"]
        first = pipe.written_after
        read_first = time.time()
        assert first <= read_first
        written = time.time()
        os.write(pipe.write_fd, b"b\n")  # inside the pace: read with the next batch
        assert await pipe.batch(5) == [b"b"]
        assert before_first <= pipe.written_after <= written
        assert pipe.written_after <= read_first
        waiting = asyncio.ensure_future(pipe.batch(5))  # an idle pipe: the reader waits
        await asyncio.sleep(BATCH_S * 3)
        idle_write = time.time()
        os.write(pipe.write_fd, b"c\n")
        assert await waiting == [b"c"]
        assert pipe.written_after >= idle_write  # woken by the write, not the wait's start
    finally:
        pipe.close()


async def test_an_overlong_line_is_dropped_whole_and_said_and_the_next_lines_survive() -> None:
    pipe = LogPipe()
    try:
        os.set_blocking(pipe.write_fd, False)
        got: list[bytes] = []
        chunk = b"x" * (256 << 10)
        written = 0
        while written <= MAX_LINE:  # one line, over the bound, written while being read
            written += os.write(pipe.write_fd, chunk)
            got += await pipe.batch(0.05) or []
        os.write(pipe.write_fd, b"tail of it\nnext line\n")
        pipe.parent_side()
        while (batch := await asyncio.wait_for(pipe.batch(5), 10)) is not None:
            got += batch
        assert got == [OVERLONG, b"next line"]  # the rest of the long line went with it
    finally:
        pipe.close()
