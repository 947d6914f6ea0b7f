"""The squashfs reader (core/squashfs.py) against real images made by mksquashfs."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest

from pxetui.core.squashfs import SquashfsError, SquashfsImage, names, read_superblock

DATA = Path(__file__).resolve().parents[1] / "data" / "live"


def image(name: str) -> SquashfsImage:
    return SquashfsImage(io.BytesIO((DATA / name).read_bytes()))


@pytest.mark.parametrize(
    ("name", "compressor"),
    [("tree-gzip.sqfs", "gzip"), ("tree-xz.sqfs", "xz"), ("tree-zstd.sqfs", "zstd")],
)
def test_superblock_names_version_and_compressor(name: str, compressor: str) -> None:
    sb = image(name).sb
    assert sb.version == (4, 0)
    assert sb.compressor == compressor
    assert sb.block_size == 128 * 1024
    assert sb.inode_count == 5 + 302 + 1  # /, etc, sbin, usr, usr/bin; files; the symlink
    assert sb.bytes_used <= (DATA / name).stat().st_size


@pytest.mark.parametrize("name", ["tree-gzip.sqfs", "tree-xz.sqfs"])
def test_root_listing_with_kinds(name: str) -> None:
    entries = {e.name: e.kind for e in image(name).listdir("/")}
    assert entries == {"bin": "symlink", "etc": "dir", "sbin": "dir", "usr": "dir"}


@pytest.mark.parametrize("name", ["tree-gzip.sqfs", "tree-xz.sqfs"])
def test_a_directory_over_several_metadata_blocks_and_runs(name: str) -> None:
    """300 entries: more than one 8 KiB metadata block and more than one 256-entry run."""
    listed = image(name).listdir("usr/bin")
    assert len(listed) == 300
    assert names(listed) == {f"tool-with-a-long-name-number-{i}" for i in range(1, 301)}
    assert {e.kind for e in listed} == {"file"}


def test_nested_paths_and_what_is_not_a_directory() -> None:
    img = image("tree-gzip.sqfs")
    assert names(img.listdir("/sbin/")) == {"init"}
    with pytest.raises(SquashfsError, match=r"no 'LiveOS' in /"):
        img.listdir("LiveOS")
    with pytest.raises(SquashfsError, match=r"/sbin/init is a file, not a dir"):
        img.listdir("sbin/init")
    with pytest.raises(SquashfsError, match=r"/bin is a symlink"):
        img.listdir("bin")


def test_classic_layout_lists_liveos_rootfs() -> None:
    img = image("classic.sqfs")
    assert names(img.listdir("/")) == {"LiveOS"}
    assert [(e.name, e.kind) for e in img.listdir("LiveOS")] == [("rootfs.img", "file")]


def test_zstd_reads_the_superblock_but_names_the_compressor_for_listing() -> None:
    with pytest.raises(SquashfsError, match=r"compressed with zstd.*gzip and xz can"):
        image("tree-zstd.sqfs").listdir("/")


def test_not_a_squashfs_and_truncated_images_are_errors() -> None:
    with pytest.raises(SquashfsError, match="no 'hsqs' magic"):
        read_superblock(io.BytesIO(b"\0" * 200))
    with pytest.raises(SquashfsError, match="too short"):
        read_superblock(io.BytesIO(b"hsqs"))
    raw = (DATA / "tree-gzip.sqfs").read_bytes()
    sb = read_superblock(io.BytesIO(raw))
    cut = SquashfsImage(io.BytesIO(raw[: sb.inode_table + 10]))
    with pytest.raises(SquashfsError, match=r"cut short|past the end|truncated"):
        cut.listdir("/")


def test_an_image_inside_another_file_at_an_offset() -> None:
    """As the ISO inspector reads it: the squashfs at a byte offset of a bigger file."""
    raw = (DATA / "classic.sqfs").read_bytes()
    img = SquashfsImage(io.BytesIO(b"x" * 4096 + raw), base=4096)
    assert names(img.listdir("LiveOS")) == {"rootfs.img"}


def test_corrupted_images_raise_squashfs_error_only() -> None:
    """Random byte damage in the tables: a clear SquashfsError or a listing, never another
    exception, and always bounded (the reader caps every read)."""
    raw = bytearray((DATA / "tree-gzip.sqfs").read_bytes())
    sb = read_superblock(io.BytesIO(bytes(raw)))
    rng = random.Random(12)
    refused = 0
    for _ in range(300):
        damaged = bytearray(raw)
        for _ in range(rng.randint(1, 6)):
            damaged[rng.randrange(sb.inode_table, sb.bytes_used)] = rng.randrange(256)
        try:
            SquashfsImage(io.BytesIO(bytes(damaged))).listdir("usr/bin")
        except SquashfsError:
            refused += 1
    assert refused > 100, f"only {refused} of 300 damaged images were refused"
