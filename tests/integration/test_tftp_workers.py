"""workers=N: the listener hands new clients to N processes in turn; events flow back."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from collections import Counter
from pathlib import Path

import psutil
import pytest
from tftp_testkit import make_file, raw_download, run_tool, running_server

from pxetui.core.events import TransferFinished
from pxetui.engine.tftp import TftpServer

pytestmark = pytest.mark.timeout(90)


_BEFORE: set[int] = set()


def _children() -> list[psutil.Process]:
    """Our live worker processes: children that did not exist before the test started
    (other suites' session fixtures may keep children of their own)."""
    out = []
    for proc in psutil.Process(os.getpid()).children(recursive=True):
        try:
            if proc.pid not in _BEFORE and proc.status() != psutil.STATUS_ZOMBIE:
                out.append(proc)
        except psutil.NoSuchProcess:
            continue
    return out


@pytest.fixture(autouse=True)
def _existing_children() -> None:
    _BEFORE.clear()
    _BEFORE.update(p.pid for p in psutil.Process(os.getpid()).children(recursive=True))


async def test_clients_are_spread_over_processes_and_reported_in_the_parent(
    tmp_path: Path,
) -> None:
    """24 concurrent downloads are exact and split evenly over the processes (round-robin)."""
    data = make_file(tmp_path / "root" / "initrd", 300_000)
    async with running_server(tmp_path / "root", workers=2) as (server, events):
        assert len(_children()) == 1
        results = await asyncio.gather(
            *(raw_download(server.port, "initrd", blksize=1468) for _ in range(24))
        )
        for _ in range(50):
            done = [e for e in events if isinstance(e, TransferFinished)]
            if len(done) == 24:
                break
            await asyncio.sleep(0.1)
    assert all(got == data for got, _ in results)
    assert len(done) == 24
    per_process = Counter(e.transfer_id.split("-")[1] for e in done)
    assert sorted(per_process.values()) == [12, 12]
    assert len({e.transfer_id for e in done}) == 24


async def test_stop_leaves_no_worker_processes(tmp_path: Path) -> None:
    """stop() reaps every worker."""
    make_file(tmp_path / "root" / "f", 10)
    async with running_server(tmp_path / "root", workers=3) as (server, _):
        assert len(_children()) == 2
        rc, _, _ = await run_tool(
            "curl", "-sS", "-o", "/dev/null", f"tftp://127.0.0.1:{server.port}/f"
        )
        assert rc == 0
    for _ in range(20):
        if not _children():
            break
        await asyncio.sleep(0.1)
    assert not _children()


async def test_a_killed_worker_does_not_stop_the_service(tmp_path: Path) -> None:
    """After SIGKILL of a worker the port keeps being served by the rest."""
    data = make_file(tmp_path / "root" / "f", 5000)
    async with running_server(tmp_path / "root", workers=2) as (server, _):
        (worker,) = _children()
        os.kill(worker.pid, signal.SIGKILL)
        await asyncio.sleep(0.3)
        for _ in range(10):
            got, _ = await raw_download(server.port, "f")
            assert got == data


async def test_a_port_in_use_is_refused_with_workers(tmp_path: Path) -> None:
    """workers>1 never shares port 69 with another server, even one using SO_REUSEPORT."""
    (tmp_path / "root").mkdir()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        other.bind(("127.0.0.1", 0))
        server = TftpServer(
            tmp_path / "root",
            host="127.0.0.1",
            port=other.getsockname()[1],
            publish=lambda e: None,
            workers=2,
        )
        with pytest.raises(OSError, match="cannot bind TFTP"):
            await server.start()
    assert not _children()
