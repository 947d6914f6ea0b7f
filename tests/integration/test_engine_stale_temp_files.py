"""Temp files a kill -9 left mid-write in the TFTP root are removed when the engine starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_engine_loopback import profile_text

from pxetui.core.events import EngineMessage, Event
from pxetui.core.profile.loader import load_profile
from pxetui.engine.engine import Engine

pytestmark = pytest.mark.timeout(60)

OURS = [
    "pxelinux.cfg/.01-52-54-00-fe-01-01.k3j_9x2a.tmp",
    "ipxe/.52-54-00-fe-01-01.ipxe.abcdefgh.tmp",
    ".boot.ipxe.0a1b2c3d.tmp",
]
NOT_OURS = [
    "pxelinux.cfg/.notes.tmp",  # no random part
    ".boot.ipxe.0a1b2c3d.tmp.keep",
    "images/.vmlinuz.0a1b2c3d.tmp",  # a directory the store never writes
    "ipxe/.SHOUT.ABCDEFGH.tmp",  # mkstemp never uses capitals
]


async def test_stale_temp_files_are_removed_at_start(tmp_path: Path) -> None:
    """Only the store's own temp names, only where it writes; one message says so."""
    (tmp_path / "lab.yaml").write_text(profile_text(tmp_path))
    root = tmp_path / "tftp"
    (root / "images").mkdir(parents=True)  # a profile `check` accepts
    (root / "images" / "vmlinuz").write_bytes(b"K")
    (root / "images" / "initrd.img").write_bytes(b"I")
    for rel in OURS + NOT_OURS:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("half a file")
    (root / "grub").mkdir()
    (root / "grub" / ".grub.cfg.aaaaaaaa.tmp").mkdir()  # a directory: not ours to remove
    engine = Engine(load_profile(tmp_path / "lab.yaml"), profile_path=tmp_path / "lab.yaml")
    seen: list[Event] = []
    engine.bus.subscribe(seen.append)
    await engine.setup()
    try:
        await engine.start()
    finally:
        await engine.stop()
    assert not [rel for rel in OURS if (root / rel).exists()]
    assert all((root / rel).exists() for rel in NOT_OURS)
    assert (root / "grub" / ".grub.cfg.aaaaaaaa.tmp").is_dir()
    notes = [e.text for e in seen if isinstance(e, EngineMessage) and "temp file" in e.text]
    assert len(notes) == 1 and "removed 3 temp file(s)" in notes[0], notes
