"""One validation: the engine refuses at start, and rejects at reload, exactly what `check` does.

Reload also runs off the event loop within a time budget, and a profile over the size
limit is refused before it is parsed.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from test_engine_loopback import profile_text

from pxetui.core.events import EngineMessage, Event
from pxetui.core.profile.audit import load_checked
from pxetui.core.profile.loader import load_profile
from pxetui.engine import profile_reload
from pxetui.engine.control.client import ControlClient
from pxetui.engine.control.protocol import ControlError
from pxetui.engine.engine import Engine, EngineError

pytestmark = pytest.mark.timeout(90)
REPO = Path(__file__).resolve().parents[2]


def _lab(tmp_path: Path, *, kernel_mode: int = 0o644, with_initrd: bool = True) -> Path:
    (tmp_path / "lab.yaml").write_text(profile_text(tmp_path))
    images = tmp_path / "tftp" / "images"
    images.mkdir(parents=True, exist_ok=True)
    (images / "vmlinuz").write_bytes(b"K" * 1000)
    (images / "vmlinuz").chmod(kernel_mode)
    if with_initrd:
        (images / "initrd.img").write_bytes(b"I" * 1000)
        (images / "initrd.img").chmod(0o644)
    return tmp_path / "lab.yaml"


def _check_lines(path: Path) -> tuple[int, list[str]]:
    done = subprocess.run(
        [sys.executable, "-m", "pxetui", "check", "--profile", str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    return done.returncode, done.stdout.splitlines()


@pytest.mark.parametrize(
    ("kernel_mode", "with_initrd", "words"),
    [(0o644, False, "initrd.img not found"), (0o600, True, "not world-readable")],
    ids=["missing-initrd", "unreadable-kernel"],
)
async def test_start_refuses_what_check_rejects(
    tmp_path: Path, kernel_mode: int, with_initrd: bool, words: str
) -> None:
    """Missing initrd / 0600 kernel: check exits 1, the engine refuses with the same lines."""
    path = _lab(tmp_path, kernel_mode=kernel_mode, with_initrd=with_initrd)
    code, lines = _check_lines(path)
    assert code == 1 and any(words in line for line in lines), lines
    engine = Engine(load_profile(path), profile_path=path)
    try:
        with pytest.raises(EngineError) as caught:
            await engine.setup()
    finally:
        await engine.stop()
    assert str(caught.value).splitlines()[1:] == lines


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    path = _lab(tmp_path)
    assert _check_lines(path)[0] == 0
    eng = Engine(load_profile(path), profile_path=path)
    await eng.setup()
    try:
        await eng.start()
        yield eng
    finally:
        await eng.stop()


async def test_reload_keeps_the_old_profile_when_check_would_reject(
    engine: Engine, tmp_path: Path
) -> None:
    """The kernel vanishes and the entry changes: reload refuses, with an error event."""
    seen: list[Event] = []
    engine.bus.subscribe(seen.append)
    path = tmp_path / "lab.yaml"
    path.write_text(path.read_text().replace("console=ttyS0", "console=ttyS1"))
    (tmp_path / "tftp" / "images" / "vmlinuz").unlink()
    assert _check_lines(path)[0] == 1
    async with ControlClient(engine.socket_path) as client:
        with pytest.raises(ControlError, match="vmlinuz not found"):
            await client.request("reload")
    assert engine.profile.entries["centos"].args == "console=ttyS0"  # type: ignore[union-attr]
    errors = [e for e in seen if isinstance(e, EngineMessage) and e.level == "error"]
    assert errors and "still serving the previous one" in errors[-1].text


async def test_reload_runs_off_the_event_loop(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a slow profile load runs, the control socket still answers."""
    release = threading.Event()

    def slow(path: Path, server: object) -> object:
        release.wait(10)
        return load_checked(path, server)  # type: ignore[arg-type]

    monkeypatch.setattr(profile_reload, "load_checked", slow)
    async with (
        ControlClient(engine.socket_path) as reloader,
        ControlClient(engine.socket_path) as other,
    ):
        reload = asyncio.create_task(reloader.request("reload"))
        await asyncio.sleep(0.2)
        state = await asyncio.wait_for(other.request("state"), 5)
        assert not reload.done()
        assert state["profile"]["name"] == "loopback"
        release.set()
        assert (await asyncio.wait_for(reload, 10))["name"] == "loopback"


async def test_reload_over_the_time_budget_is_rejected(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A load that outlasts the budget is rejected and the old profile keeps serving."""
    release = threading.Event()

    def stuck(path: Path, server: object) -> object:
        release.wait(10)
        raise AssertionError("not used")

    monkeypatch.setattr(profile_reload, "load_checked", stuck)
    monkeypatch.setattr(profile_reload, "PROFILE_LOAD_BUDGET_S", 0.3)
    try:
        with pytest.raises(ControlError, match=r"took longer than 0\.3 s"):
            await engine.reload_profile()
    finally:
        release.set()


async def test_oversize_profile_is_refused_before_parsing(engine: Engine, tmp_path: Path) -> None:
    """A profile over the size limit: reload and check both refuse it, naming the limit."""
    path = tmp_path / "lab.yaml"
    with path.open("a") as handle:
        handle.write(("# padding " + "x" * 90 + "\n") * 45_000)  # ~4.5 MB of comments
    with pytest.raises(ControlError, match="larger than 4194304 bytes"):
        await engine.reload_profile()
    code, lines = _check_lines(path)
    assert code == 1 and "larger than 4194304 bytes" in "\n".join(lines)
