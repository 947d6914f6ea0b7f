"""Safe path resolution shared by TFTP and HTTP: only regular world-readable files in the root."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pxetui.engine.tftp.paths import (
    AccessRefused,
    FileMissing,
    normalise_name,
    open_served_file,
)


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    base = tmp_path / "root"
    (base / "pxelinux.cfg").mkdir(parents=True)
    (base / "pxelinux.0").write_bytes(b"x" * 10)
    (base / "pxelinux.cfg" / "default").write_text("DEFAULT linux\n")
    (base / "secret").write_text("s")
    (base / "secret").chmod(0o600)
    (tmp_path / "outside").write_text("o")
    (tmp_path / "outside").chmod(0o644)
    (base / "escape").symlink_to(tmp_path / "outside")
    (base / "inner-link").symlink_to(base / "pxelinux.0")
    (base / "dirlink").symlink_to(tmp_path)
    os.mkfifo(base / "fifo", 0o644)
    yield base


def _serve(root: Path, name: str) -> tuple[str, int]:
    served = open_served_file(root, name)
    os.close(served.fd)
    return served.name, served.size


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("pxelinux.0", "pxelinux.0"),
        ("/pxelinux.0", "pxelinux.0"),
        ("\\pxelinux.cfg\\default", "pxelinux.cfg/default"),
        ("//pxelinux.cfg//./default", "pxelinux.cfg/default"),
        ("pxelinux.0\udcff\udcff", "pxelinux.0"),
        ("a/../b", "a/../b"),
    ],
)
def test_names_are_normalised(raw: str, expected: str) -> None:
    """Backslashes, doubled and leading slashes, '.' and 0xFF padding are normalised away."""
    assert normalise_name(raw) == expected


@pytest.mark.parametrize("name", ["pxelinux.0", "/pxelinux.0", "\\pxelinux.0", "inner-link"])
def test_regular_files_and_inner_symlinks_are_served(root: Path, name: str) -> None:
    """Files in the root, also through a symlink that stays inside, are opened."""
    assert _serve(root, name)[1] == 10


def test_dotdot_that_stays_inside_is_served(root: Path) -> None:
    """'..' is judged on the resolved path, so a harmless one is fine."""
    assert _serve(root, "pxelinux.cfg/../pxelinux.0") == ("pxelinux.cfg/../pxelinux.0", 10)


@pytest.mark.parametrize(
    "name",
    [
        "../outside",
        "/../outside",
        "..\\outside",
        "pxelinux.cfg/../../outside",
        "escape",
        "dirlink/outside",
    ],
)
def test_escapes_are_refused(root: Path, name: str) -> None:
    """Anything whose real path leaves the root is refused, even if it exists."""
    with pytest.raises(AccessRefused):
        open_served_file(root, name)


@pytest.mark.parametrize("name", ["", "/", "pxelinux.cfg", "fifo", "secret"])
def test_non_regular_and_private_files_are_refused(root: Path, name: str) -> None:
    """Directories, FIFOs (without blocking) and 0600 files are refused."""
    with pytest.raises(AccessRefused):
        open_served_file(root, name)


def test_devices_are_refused(root: Path) -> None:
    """A device node inside the root (here via a symlink to /dev/null) is not served."""
    (root / "dev").mkdir()
    try:
        os.mknod(root / "dev" / "null", 0o20666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("mknod needs root")
    with pytest.raises(AccessRefused):
        open_served_file(root, "dev/null")


@pytest.mark.parametrize("name", ["missing", "pxelinux.cfg/01-aa-bb", "x" * 2000, "bad\x00name"])
def test_missing_names_are_not_found(root: Path, name: str) -> None:
    """Misses (and absurd names) are reported as not found, never as errors."""
    with pytest.raises((FileMissing, AccessRefused)) as info:
        open_served_file(root, name)
    if "\x00" not in name:
        assert info.type is FileMissing


def test_a_replaced_file_is_seen_on_the_next_request(root: Path) -> None:
    """No caching: an atomic replace shows up immediately."""
    assert _serve(root, "pxelinux.0")[1] == 10
    tmp = root / "new"
    tmp.write_bytes(b"y" * 3)
    tmp.chmod(0o644)
    tmp.replace(root / "pxelinux.0")
    assert _serve(root, "pxelinux.0")[1] == 3
