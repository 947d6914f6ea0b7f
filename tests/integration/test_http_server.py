"""The HTTP file server over real loopback sockets, with curl and aiohttp's client."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import aiohttp
import pytest
from tftp_testkit import make_file, run_tool

from pxetui.core.events import (
    FileNotFound,
    RequestRefused,
    TransferFailed,
    TransferFinished,
    TransferProgress,
    TransferStarted,
)
from tests.helpers.http import running_http

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    base = tmp_path / "root"
    make_file(base / "vmlinuz", 3_000_001)
    make_file(base / "empty", 0)
    make_file(base / "secret", 10, mode=0o600)
    make_file(tmp_path / "outside", 10)
    (base / "escape").symlink_to(tmp_path / "outside")
    (base / "inside").symlink_to(base / "vmlinuz")
    (base / "images").mkdir()
    os.mkfifo(base / "fifo", 0o644)
    return base


async def test_get_returns_exact_bytes_and_length(root: Path) -> None:
    """GET serves the whole file with an exact Content-Length, and reports the transfer."""
    async with (
        running_http(root) as (url, events),
        aiohttp.ClientSession() as session,
        session.get(f"{url}/vmlinuz") as resp,
    ):
        body = await resp.read()
        assert resp.status == 200
        assert resp.headers["Content-Length"] == "3000001"
        assert resp.headers["Accept-Ranges"] == "bytes"
    assert body == (root / "vmlinuz").read_bytes()
    started = [e for e in events if isinstance(e, TransferStarted)]
    done = [e for e in events if isinstance(e, TransferFinished)]
    assert len(started) == 1 and started[0].proto == "http" and started[0].size == 3_000_001
    assert len(done) == 1 and done[0].bytes_sent == 3_000_001
    assert done[0].transfer_id == started[0].transfer_id


async def test_curl_gets_the_file_and_an_empty_file(root: Path, tmp_path: Path) -> None:
    """curl agrees, for a big file and a zero-byte one."""
    async with running_http(root) as (url, _):
        for name in ("vmlinuz", "empty"):
            rc, out, err = await run_tool(
                "curl", "-sS", "-o", str(tmp_path / name), "-w", "%{http_code}", f"{url}/{name}"
            )
            assert rc == 0 and out == b"200", err
            assert (tmp_path / name).read_bytes() == (root / name).read_bytes()


async def test_head_sends_headers_only(root: Path) -> None:
    """HEAD: same status and Content-Length, no body, no transfer events."""
    async with (
        running_http(root) as (url, events),
        aiohttp.ClientSession() as session,
        session.head(f"{url}/vmlinuz") as resp,
    ):
        assert resp.status == 200
        assert resp.headers["Content-Length"] == "3000001"
        assert await resp.read() == b""
    assert not [e for e in events if isinstance(e, TransferStarted)]


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-9", 0, 10),
        ("bytes=100-", 100, 3_000_001),
        ("bytes=-5", 2_999_996, 3_000_001),
        ("bytes=2999990-9999999", 2_999_990, 3_000_001),
    ],
)
async def test_single_range_gets_206_with_content_range(
    root: Path, header: str, start: int, end: int
) -> None:
    """One byte range -> 206, the right slice, Content-Range and Content-Length."""
    data = (root / "vmlinuz").read_bytes()
    async with (
        running_http(root) as (url, _),
        aiohttp.ClientSession() as session,
        session.get(f"{url}/vmlinuz", headers={"Range": header}) as resp,
    ):
        body = await resp.read()
        assert resp.status == 206
        assert resp.headers["Content-Range"] == f"bytes {start}-{end - 1}/3000001"
        assert int(resp.headers["Content-Length"]) == end - start
    assert body == data[start:end]


async def test_curl_range_and_resume(root: Path, tmp_path: Path) -> None:
    """curl -r and curl -C - (resume) both work."""
    data = (root / "vmlinuz").read_bytes()
    (tmp_path / "part").write_bytes(data[:1000])
    async with running_http(root) as (url, _):
        rc, out, _ = await run_tool("curl", "-sS", "-r", "10-19", f"{url}/vmlinuz")
        assert rc == 0 and out == data[10:20]
        rc, _, err = await run_tool(
            "curl", "-sS", "-C", "-", "-o", str(tmp_path / "part"), f"{url}/vmlinuz"
        )
        assert rc == 0, err
    assert (tmp_path / "part").read_bytes() == data


@pytest.mark.parametrize("header", ["bytes=3000001-", "bytes=5000000-6000000"])
async def test_unsatisfiable_range_is_416(root: Path, header: str) -> None:
    """A range starting past the end gets 416 with Content-Range: bytes */size."""
    async with (
        running_http(root) as (url, _),
        aiohttp.ClientSession() as session,
        session.get(f"{url}/vmlinuz", headers={"Range": header}) as resp,
    ):
        assert resp.status == 416
        assert resp.headers["Content-Range"] == "bytes */3000001"


async def test_malformed_range_serves_the_whole_file(root: Path) -> None:
    """A Range header we cannot parse is ignored (RFC 9110), not an error."""
    async with (
        running_http(root) as (url, _),
        aiohttp.ClientSession() as session,
        session.get(f"{url}/vmlinuz", headers={"Range": "bytes=abc"}) as resp,
    ):
        assert resp.status == 200
        assert len(await resp.read()) == 3_000_001


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE", "PATCH", "OPTIONS"])
async def test_other_methods_are_405(root: Path, method: str) -> None:
    """Read-only: anything but GET/HEAD is 405 with an Allow header; files stay untouched."""
    before = (root / "vmlinuz").read_bytes()
    async with (
        running_http(root) as (url, events),
        aiohttp.ClientSession() as session,
        session.request(method, f"{url}/vmlinuz", data=b"x") as resp,
    ):
        assert resp.status == 405
        assert set(resp.headers["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD"}
    assert (root / "vmlinuz").read_bytes() == before
    assert any(isinstance(e, RequestRefused) for e in events)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/../outside", 403),
        ("/%2e%2e/outside", 403),
        ("/..%2foutside", 403),
        ("/images/..%2f..%2foutside", 403),
        ("/escape", 403),
        ("/secret", 403),
        ("/fifo", 403),
        ("/images", 403),
        ("/images/", 403),
        ("/", 403),
        ("/nope", 404),
        ("/..%5coutside", 403),
        ("/inside", 200),
        ("//vmlinuz", 200),
        ("/vmlinuz%00.txt", 403),
        ("/" + "a" * 3000, 404),
    ],
)
async def test_path_safety(root: Path, path: str, status: int) -> None:
    """Escapes, symlinks out, 0600, FIFOs and directories are refused; no listings."""
    async with running_http(root) as (url, events):
        rc, out, _ = await run_tool(
            "curl", "-s", "--path-as-is", "-o", "/dev/null", "-w", "%{http_code}", url + path
        )
    assert rc == 0
    assert out.decode() == str(status)
    if status == 403:
        assert any(isinstance(e, RequestRefused) for e in events)
    if status == 404:
        assert any(isinstance(e, FileNotFound) for e in events)


async def test_a_client_that_disconnects_is_a_failed_transfer(root: Path) -> None:
    """Reading a few bytes then closing ends the transfer as failed, the server keeps going."""
    big = root / "big"
    make_file(big, 64 * 1024 * 1024)
    async with (
        running_http(root) as (url, events),
        aiohttp.ClientSession() as session,
        session.get(f"{url}/big") as resp,
    ):
        await resp.content.read(1000)
        resp.close()
        async with session.get(f"{url}/vmlinuz") as resp:
            assert len(await resp.read()) == 3_000_001
    failed = [e for e in events if isinstance(e, TransferFailed)]
    assert len(failed) == 1 and failed[0].filename == "big"


async def test_progress_is_reported_and_coalesced(root: Path) -> None:
    """A slow reader sees progress events between start and finish, at most ~10 per second."""
    make_file(root / "big", 48 * 1024 * 1024)
    loop = asyncio.get_running_loop()
    async with running_http(root) as (url, events), aiohttp.ClientSession() as session:
        t0 = loop.time()
        async with session.get(f"{url}/big") as resp:
            async for _ in resp.content.iter_chunked(1 << 20):
                await asyncio.sleep(0.01)
        elapsed = loop.time() - t0
    kinds = [e.kind for e in events]
    assert kinds[0] == "transfer_started" and kinds[-1] == "transfer_finished"
    progress = [e for e in events if isinstance(e, TransferProgress)]
    assert 1 <= len(progress) <= elapsed * 10 + 1
    sent = [p.bytes_sent for p in progress]
    assert sent == sorted(sent) and 0 < sent[-1] <= 48 * 1024 * 1024
