"""Files over 32 MB at blksize 512 need more than 65535 blocks: numbers roll over to 0."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from tftp_testkit import make_file, run_tool, running_server

from pxetui.core.events import TransferFinished

pytestmark = pytest.mark.timeout(120)

SIZE = 33 * 1024 * 1024 + 123  # 67 831 blocks of 512 bytes: past 65535


async def test_curl_gets_a_33_mib_file_at_blksize_512(tmp_path: Path) -> None:
    """curl (independent client) receives the exact bytes across the block-number rollover."""
    data = make_file(tmp_path / "root" / "big.img", SIZE)
    async with running_server(tmp_path / "root") as (server, events):
        rc, _, err = await run_tool(
            "curl",
            "-sS",
            "--tftp-blksize",
            "512",
            "-o",
            str(tmp_path / "out"),
            f"tftp://127.0.0.1:{server.port}/big.img",
            timeout=100,
        )
    assert rc == 0, err
    got = (tmp_path / "out").read_bytes()
    assert len(got) == SIZE
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
    done = [e for e in events if isinstance(e, TransferFinished)]
    assert len(done) == 1 and done[0].bytes_sent == SIZE
