"""Bodies sent side by side take turns on the one loop (pxetui.engine.http.body): each client
still gets exactly its bytes, and every sender is closed again, also for a client that left."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from tftp_testkit import make_file

from pxetui.core.events import TransferFailed, TransferFinished
from pxetui.engine.http.body import TURN, BodySender
from tests.helpers.http import running_http

pytestmark = pytest.mark.timeout(60)

SIZE = 12 * TURN + 12345  # many turns, and a last one that is short


async def test_side_by_side_bodies_are_exact_and_every_sender_is_closed(tmp_path: Path) -> None:
    data = make_file(tmp_path / "initrd", SIZE)
    make_file(tmp_path / "squashfs", 64 * 1024 * 1024)  # more than loopback's buffers hold
    async with running_http(tmp_path) as (url, events), aiohttp.ClientSession() as session:

        async def whole(slow: bool) -> bytes:
            async with session.get(f"{url}/initrd") as resp:
                assert resp.status == 200
                if not slow:
                    return await resp.read()
                parts = []
                async for part in resp.content.iter_chunked(256 * 1024):
                    parts.append(part)
                    await asyncio.sleep(0.002)  # a reader slower than the others
                return b"".join(parts)

        async def ranged(first: int, last: int) -> bytes:
            headers = {"Range": f"bytes={first}-{last}"}
            async with session.get(f"{url}/initrd", headers=headers) as resp:
                assert resp.status == 206
                return await resp.read()

        async def leaves() -> None:
            async with session.get(f"{url}/squashfs") as resp:
                await resp.content.read(1000)
                resp.close()  # gone mid-body

        got = await asyncio.gather(
            *(whole(slow=i % 3 == 0) for i in range(6)),
            ranged(TURN - 7, 5 * TURN + 3),
            ranged(SIZE - 100, SIZE - 1),
            leaves(),
        )
        for body in got[:6]:
            assert body == data
        assert got[6] == data[TURN - 7 : 5 * TURN + 4]
        assert got[7] == data[-100:]
        # the server notices the one that left (a send fails) within its own time
        for _ in range(500):
            if any(isinstance(e, TransferFailed) for e in events):
                break
            await asyncio.sleep(0.01)
    assert BodySender._active == 0
    assert sum(isinstance(e, TransferFinished) for e in events) == 8
    failed = [e for e in events if isinstance(e, TransferFailed)]
    assert len(failed) == 1 and failed[0].filename == "squashfs"
