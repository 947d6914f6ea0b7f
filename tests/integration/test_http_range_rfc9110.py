"""RFC 9110 §14.1.2: a suffix range of length zero (``bytes=-0``) cannot be satisfied."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from tftp_testkit import make_file

from pxetui.core.events import Event
from pxetui.engine.http import HttpFileServer

pytestmark = pytest.mark.timeout(30)


@pytest.mark.parametrize("header", ["bytes=-0", "bytes=-00", "bytes= -0 "])
async def test_zero_length_suffix_range_is_416(tmp_path: Path, header: str) -> None:
    """``bytes=-0`` -> 416 with ``bytes */size``, not 206 with the whole file."""
    make_file(tmp_path / "vmlinuz", 5000)
    events: list[Event] = []
    server = HttpFileServer(tmp_path, host="127.0.0.1", port=0, publish=events.append)
    await server.start()
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"http://127.0.0.1:{server.port}/vmlinuz", headers={"Range": header}
            ) as resp,
        ):
            assert resp.status == 416
            assert resp.headers["Content-Range"] == "bytes */5000"
    finally:
        await server.stop()
