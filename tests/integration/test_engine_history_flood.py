"""HTTP 404s for made-up per-MAC names: the engine's history stays within limits.history_rows."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from test_engine_loopback import profile_text

from pxetui.core.events import EngineMessage, Event
from pxetui.core.profile.loader import load_profile
from pxetui.engine.engine import Engine

pytestmark = pytest.mark.timeout(90)
NAMES = 400


async def test_made_up_mac_names_do_not_grow_history_without_bound(tmp_path: Path) -> None:
    """400 invented MACs asked for over HTTP, a 100-row bound: ~100 rows and one notice."""
    text = profile_text(tmp_path) + "limits:\n  history_rows: 100\n"
    (tmp_path / "lab.yaml").write_text(text)
    images = tmp_path / "tftp" / "images"  # a profile `check` accepts
    images.mkdir(parents=True)
    (images / "vmlinuz").write_bytes(b"K")
    (images / "initrd.img").write_bytes(b"I")
    engine = Engine(load_profile(tmp_path / "lab.yaml"), profile_path=tmp_path / "lab.yaml")
    seen: list[Event] = []
    engine.bus.subscribe(seen.append)
    await engine.setup()
    try:
        await engine.start()
        assert engine.http is not None
        base = f"http://127.0.0.1:{engine.http.port}"
        async with aiohttp.ClientSession() as session:
            for i in range(NAMES):
                name = f"ipxe/02-00-00-00-{i >> 8:02x}-{i & 0xFF:02x}.ipxe"
                async with session.get(f"{base}/{name}") as resp:
                    assert resp.status == 404
        engine.history.flush()
        assert engine.db.history_count() <= 110
        assert len(engine.tracker.clients()) <= engine.tracker.max_clients
    finally:
        await engine.stop()
    notices = [e for e in seen if isinstance(e, EngineMessage) and "history pruned" in e.text]
    assert notices, "no notice that history was pruned"
