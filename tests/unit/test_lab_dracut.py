"""The dracut builder's checks that need no packages: module closure and the live init."""

from __future__ import annotations

from pathlib import Path

import pytest

from pxetui.lab.dracut import LIVE_MARKER, DracutBuildError, check_module_closure, init_script


def _module(moddir: Path, rel: str, depends: str) -> None:
    path = moddir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x7fELF...\x00license=GPL\x00depends=" + depends.encode() + b"\x00")


def test_module_closure_follows_depends_and_builtins(tmp_path: Path) -> None:
    _module(tmp_path, "kernel/fs/isofs/isofs.ko", "cdrom")
    _module(tmp_path, "kernel/drivers/cdrom/cdrom.ko", "")
    _module(tmp_path, "kernel/drivers/md/dm-snapshot.ko", "dm-bufio,dm-mod")
    _module(tmp_path, "kernel/drivers/md/dm-mod.ko", "")
    (tmp_path / "modules.builtin").write_text("kernel/drivers/md/dm-bufio.ko\n")
    check_module_closure(tmp_path, ["isofs", "dm_snapshot"])


def test_a_missing_dependency_is_found_at_build_time_not_boot(tmp_path: Path) -> None:
    """The bug this guards against: isofs without cdrom ("Unknown symbol cdrom_…" at boot)."""
    _module(tmp_path, "kernel/fs/isofs/isofs.ko", "cdrom")
    with pytest.raises(DracutBuildError, match="kernel module cdrom is not among those"):
        check_module_closure(tmp_path, ["isofs"])


def test_live_init_prints_marker_mount_and_cmdline_then_powers_off() -> None:
    script = init_script("squashfs-tree")
    assert script.startswith("#!/bin/sh\n")
    assert f'echo "{LIVE_MARKER} layout=squashfs-tree pid=$$"' in script
    assert "PXETUI-LIVE-MOUNT:" in script and "PXETUI-CMDLINE:" in script
    assert script.rstrip().endswith("poweroff -f")
