"""The initramfs writer produces archives GNU cpio reads back member for member."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from pxetui.lab.cpio import CpioEntry, write_newc


def _listing(archive: bytes) -> list[str]:
    out = subprocess.run(
        ["cpio", "-itv", "--quiet"], input=archive, capture_output=True, check=True
    )
    return out.stdout.decode().splitlines()


def test_gnu_cpio_lists_every_member_with_its_type() -> None:
    """Directories, files, symlinks and the console device survive a round trip."""
    archive = write_newc(
        [
            CpioEntry.directory("bin"),
            CpioEntry.file("bin/busybox", b"\x7fELF" + b"x" * 1001, executable=True),
            CpioEntry.symlink("bin/sh", "busybox"),
            CpioEntry.directory("dev"),
            CpioEntry.char_device("dev/console", 5, 1),
            CpioEntry.file("init", b"#!/bin/sh\n", executable=True),
        ]
    )
    lines = _listing(archive)
    by_name = {line.split()[-1] if "->" not in line else line.split()[-3]: line for line in lines}
    assert set(by_name) == {"bin", "bin/busybox", "bin/sh", "dev", "dev/console", "init"}
    assert by_name["bin"].startswith("drwxr-xr-x")
    assert by_name["bin/busybox"].startswith("-rwxr-xr-x")
    assert " 1005 " in by_name["bin/busybox"]
    assert by_name["bin/sh"].startswith("lrwxrwxrwx") and by_name["bin/sh"].endswith("busybox")
    assert by_name["dev/console"].startswith("crw-------")
    assert re.search(r" 5,\s+1 ", by_name["dev/console"])


def test_extracted_file_contents_match_byte_for_byte(tmp_path: Path) -> None:
    """Odd-sized payloads are padded correctly: extraction gives back the exact bytes."""
    payloads = {f"f{n}": bytes(range(256)) * n + b"z" * n for n in (0, 1, 2, 3, 5)}
    archive = write_newc([CpioEntry.file(name, data) for name, data in payloads.items()])
    subprocess.run(
        ["cpio", "-id", "--quiet"], input=archive, cwd=tmp_path, check=True, capture_output=True
    )
    for name, data in payloads.items():
        assert (tmp_path / name).read_bytes() == data


def test_same_entries_give_the_same_bytes() -> None:
    """No timestamps leak in: rebuilding an initrd is reproducible."""
    entries = [CpioEntry.directory("a"), CpioEntry.file("a/b", b"data")]
    assert write_newc(entries) == write_newc(entries)


def test_absolute_paths_are_refused() -> None:
    """The kernel unpacks relative names; an absolute one is a builder bug."""
    with pytest.raises(ValueError, match="relative"):
        write_newc([CpioEntry.file("/init", b"")])
