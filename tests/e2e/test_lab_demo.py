"""`pxetui lab` really boots a VM through pxetui and leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pxetui.lab.netns import REGISTRY, netns_exists

pytestmark = pytest.mark.e2e

PREFIX = "pxg-lab-"


@pytest.fixture
def lab_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Lab namespaces in this suite's own name range."""
    monkeypatch.setenv("PXETUI_LAB_PREFIX", PREFIX)
    return {**os.environ, "PXETUI_LAB_PREFIX": PREFIX}


def _lab_namespaces() -> set[str]:
    if not REGISTRY.is_dir():
        return set()
    return {p.name for p in REGISTRY.iterdir() if p.name.startswith(PREFIX)}


def _namespaces_in(output: str) -> list[str]:
    for line in output.splitlines():
        if "namespaces: " in line:
            names = line.split("namespaces: ", 1)[1].split(" (", 1)[0]
            return [n.strip() for n in names.split(",")]
    return []


def test_no_tui_lab_streams_serial_and_events_and_exits_zero(
    amd64_files: dict[str, Path], lab_env: dict[str, str]
) -> None:
    """The README's demo without the TUI: boot, show both sides, tear down, exit 0."""
    proc = subprocess.run(
        [sys.executable, "-m", "pxetui", "lab", "--no-tui"],
        capture_output=True,
        text=True,
        timeout=240,
        env=lab_env,
        check=False,
    )
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:] + proc.stderr[-2000:]
    assert "serial |" in out and "PXETUI-BOOTED marker=initrd-amd64" in out
    assert "event  | DHCP PXE 52:54:00:e2:e0:01" in out
    assert "event  | HTTP sent lab/vmlinuz-amd64" in out
    assert "pxetui.entry=tiny" in out
    assert "client | 52:54:00:e2:e0:01 phase=" in out  # the tracker, via `pxetui status`
    names = _namespaces_in(out)
    assert names and all(n.startswith(PREFIX) for n in names)
    assert not any(netns_exists(n) for n in names)
    assert not (_lab_namespaces() & set(names))


def test_sigterm_during_a_boot_tears_everything_down(
    amd64_files: dict[str, Path], lab_env: dict[str, str], tmp_path: Path
) -> None:
    """Stopping the lab mid-boot leaves no namespace, engine or QEMU behind."""
    log = tmp_path / "lab.out"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pxetui", "lab", "--no-tui"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=lab_env,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while "serial |" not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()[-3000:]
            time.sleep(0.2)
        names = _namespaces_in(log.read_text())
        assert names, log.read_text()[-3000:]
        pids_before = subprocess.run(
            ["ip", "netns", "pids", names[0]], capture_output=True, text=True, check=False
        ).stdout.split()
        assert pids_before, "nothing ran in the server namespace"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) is not None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    text = log.read_text()
    assert "tearing down" in text, text[-2000:]
    assert not any(netns_exists(n) for n in names)
    for pid in pids_before:
        assert not Path(f"/proc/{pid}").exists() or _is_zombie(pid), f"pid {pid} survived"


def test_a_killed_lab_is_cleaned_up_by_the_next_run(
    amd64_files: dict[str, Path], lab_env: dict[str, str], tmp_path: Path
) -> None:
    """kill -9 skips every finally-block; the registry lets the next run remove the rest."""
    from pxetui.lab.netns import remove_stale
    from pxetui.lab.session import remove_stale_workdirs

    log = tmp_path / "lab.out"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pxetui", "lab", "--no-tui"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=lab_env,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while "serial |" not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()[-3000:]
            time.sleep(0.2)
        names = _namespaces_in(log.read_text())
        assert names, log.read_text()[-3000:]
        orphans = subprocess.run(
            ["ip", "netns", "pids", names[0]], capture_output=True, text=True, check=False
        ).stdout.split()
    finally:
        proc.kill()
        proc.wait(10)
    assert all(netns_exists(n) for n in names), "kill -9 cannot have cleaned up"
    removed = remove_stale(PREFIX)
    assert set(names) <= set(removed)
    workdir = Path(log.read_text().split("preparing the lab tree in ", 1)[1].split()[0])
    assert workdir.is_dir()
    assert workdir in remove_stale_workdirs()
    assert not workdir.exists()
    assert not any(netns_exists(n) for n in names)
    for pid in orphans:
        assert not Path(f"/proc/{pid}").exists() or _is_zombie(pid), f"pid {pid} survived"


def _is_zombie(pid: str) -> bool:
    try:
        return " Z " in Path(f"/proc/{pid}/stat").read_text().split(")", 1)[1][:4]
    except OSError:
        return True
