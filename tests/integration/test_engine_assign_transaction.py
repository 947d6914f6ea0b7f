"""assign is one transaction: files first (all or none), then the database, or neither.

A full TFTP root (ENOSPC injected at the store's one write boundary), a refused write and
a database that fails to commit each leave the files, ``state`` and the next restart exactly
as they were, and the reply says why in words.
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from test_engine_loopback import MAC, profile_text

from pxetui.core.profile.loader import load_profile
from pxetui.engine.bootfiles import per_mac_paths
from pxetui.engine.bootfiles import store as store_module
from pxetui.engine.control.client import ControlClient
from pxetui.engine.control.protocol import ControlError
from pxetui.engine.engine import Engine

pytestmark = pytest.mark.timeout(60)


async def _engine(tmp_path: Path) -> Engine:
    path = tmp_path / "lab.yaml"
    if not path.exists():
        path.write_text(profile_text(tmp_path))
        images = tmp_path / "tftp" / "images"
        images.mkdir(parents=True)
        (images / "vmlinuz").write_bytes(b"K" * 1000)
        (images / "initrd.img").write_bytes(b"I" * 1000)
    engine = Engine(load_profile(path), profile_path=path)
    await engine.setup()
    await engine.start()
    return engine


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    eng = await _engine(tmp_path)
    try:
        yield eng
    finally:
        await eng.stop()


def _disk(root: Path) -> dict[str, bytes]:
    return {rel: (root / rel).read_bytes() for rel in per_mac_paths(MAC) if (root / rel).exists()}


def _temps(root: Path) -> list[Path]:
    return [p for p in root.rglob("*.tmp")]


def _fail_second_write(monkeypatch: pytest.MonkeyPatch, error: OSError) -> None:
    real = store_module.write_temp
    calls = 0

    def flaky(target: Path, data: bytes) -> str:
        nonlocal calls
        calls += 1
        if calls >= 2:  # the first file is written: only all-or-none keeps the old set
            raise error
        return real(target, data)

    monkeypatch.setattr(store_module, "write_temp", flaky)


async def _state(engine: Engine) -> dict[str, Any]:
    async with ControlClient(engine.socket_path) as client:
        return dict(await client.request("state"))


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), "TFTP root is full: "),
        (OSError(errno.EACCES, "Permission denied", "/x/ipxe"), "permission denied: /x/ipxe"),
    ],
    ids=["enospc", "eacces"],
)
async def test_failed_write_changes_nothing_and_says_why(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: OSError, words: str
) -> None:
    """The reply names the reason; state, disk and the next start keep the old entry."""
    root = tmp_path / "tftp"
    async with ControlClient(engine.socket_path) as client:
        await client.request("assign", mac=MAC.colon, entry="centos")
        before = _disk(root)
        assert before
        _fail_second_write(monkeypatch, error)
        with pytest.raises(ControlError) as caught:
            await client.request("assign", mac=MAC.colon, entry="local")
    assert words in str(caught.value)
    if error.errno == errno.ENOSPC:
        assert str(caught.value) == f"TFTP root is full: {root}"
    assert "internal error" not in str(caught.value)
    state = await _state(engine)
    assert state["assignments"][MAC.colon]["entry"] == "centos"
    row = engine.tracker.get(MAC)
    assert row is None or row.entry == "centos"
    assert _disk(root) == before
    assert not _temps(root)
    monkeypatch.undo()
    await engine.stop()
    again = await _engine(tmp_path)
    try:
        assert again.effective().hosts[MAC].entry == "centos"
        assert _disk(root) == before
    finally:
        await again.stop()


async def test_database_failure_puts_the_files_back(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files written, then the commit fails: the old files return and the reply says so."""
    root = tmp_path / "tftp"
    await engine.assign(MAC, "centos")
    before = _disk(root)

    def broken(*_: Any, **__: Any) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(engine.db, "assign", broken)
    with pytest.raises(ControlError, match=r"not saved, boot files restored.*disk I/O error"):
        await engine.assign(MAC, "local")
    assert _disk(root) == before
    assert engine.effective().hosts[MAC].entry == "centos"


async def test_reload_onto_a_full_root_says_so(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reload whose boot files cannot be written replies with the reason, not a traceback."""
    await engine.assign(MAC, "centos")
    path = tmp_path / "lab.yaml"
    path.write_text(path.read_text().replace("console=ttyS0", "console=ttyS1"))
    _fail_second_write(monkeypatch, OSError(errno.ENOSPC, "No space left on device"))
    with pytest.raises(ControlError, match="could not all be written: TFTP root is full"):
        await engine.reload_profile()
