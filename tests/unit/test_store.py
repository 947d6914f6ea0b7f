"""The boot-file store: atomic writes, exact per-MAC sets, nothing outside the root."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pxetui.core.mac import MacAddress
from pxetui.engine.bootfiles import BootFileStore, StoreError, install_loaders, per_mac_paths

MAC = MacAddress.parse("52:54:00:12:34:56")
PXE = "pxelinux.cfg/01-52-54-00-12-34-56"
IPXE = "ipxe/52-54-00-12-34-56.ipxe"
GRUB = "grub/grub.cfg-01-52-54-00-12-34-56"
S390 = "s390x/01-52-54-00-12-34-56"


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_apply_writes_world_readable_files_and_reports_them(tmp_path: Path) -> None:
    """Files land under the root with mode 0644; the written list names each."""
    store = BootFileStore(tmp_path)
    written, removed = store.apply(MAC, {PXE: b"pxe\n", IPXE: b"#!ipxe\n"})
    assert sorted(written) == sorted([PXE, IPXE]) and removed == []
    assert (tmp_path / PXE).read_bytes() == b"pxe\n"
    assert stat.S_IMODE((tmp_path / IPXE).stat().st_mode) == 0o644
    assert _tree(tmp_path) == {PXE: b"pxe\n", IPXE: b"#!ipxe\n"}  # no temp files left


def test_switching_entry_kind_leaves_no_stale_files(tmp_path: Path) -> None:
    """An s390x set replaced by an x86 set removes the s390x file, and back again."""
    store = BootFileStore(tmp_path)
    store.apply(MAC, {PXE: b"# pxelinux\n", S390: b"# pxelinux\n"})
    _, removed = store.apply(MAC, {PXE: b"x86", IPXE: b"i", GRUB: b"g"})
    assert removed == [S390]
    assert _tree(tmp_path) == {PXE: b"x86", IPXE: b"i", GRUB: b"g"}
    _, removed = store.apply(MAC, {PXE: b"s", S390: b"s"})
    assert sorted(removed) == sorted([IPXE, GRUB])
    assert store.current(MAC) == {PXE: b"s", S390: b"s"}


def test_remove_deletes_only_that_macs_files(tmp_path: Path) -> None:
    """Unassign removes the MAC's files and leaves other hosts and defaults alone."""
    store = BootFileStore(tmp_path)
    other = MacAddress.parse("52:54:00:00:00:99")
    store.apply(MAC, {PXE: b"a", IPXE: b"b"})
    store.apply(other, {per_mac_paths(other)[0]: b"c"})
    store.write_defaults({"boot.ipxe": b"#!ipxe\n"})
    assert sorted(store.remove(MAC)) == sorted([PXE, IPXE])
    assert store.remove(MAC) == []
    assert set(_tree(tmp_path)) == {per_mac_paths(other)[0], "boot.ipxe"}


def test_apply_refuses_files_that_are_not_the_macs(tmp_path: Path) -> None:
    """A host's set may only hold its own per-MAC names (they are what gets cleaned up)."""
    store = BootFileStore(tmp_path)
    with pytest.raises(StoreError, match="not boot files of"):
        store.apply(MAC, {PXE: b"a", "pxelinux.cfg/default": b"b"})
    assert _tree(tmp_path) == {}
    with pytest.raises(TypeError):
        store.remove("52:54:00:12:34:56")  # type: ignore[arg-type]


def test_symlinked_directory_out_of_the_root_is_refused(tmp_path: Path) -> None:
    """A directory inside the root that links elsewhere is never written through."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "pxelinux.cfg").symlink_to(outside)
    store = BootFileStore(root)
    with pytest.raises(StoreError, match="outside the TFTP root"):
        store.apply(MAC, {PXE: b"evil"})
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize(
    "rel", ["../x", "/etc/passwd", "a/../../x", "a//b", "./a", "a\\..\\b", "a\x00b", ""]
)
def test_escaping_paths_are_refused(rel: str, tmp_path: Path) -> None:
    """Absolute, dotted, empty, backslashed and NUL paths never reach the filesystem."""
    store = BootFileStore(tmp_path / "root")
    with pytest.raises(StoreError):
        store.write_defaults({rel: b"x"})
    assert _tree(tmp_path) == {}


@settings(max_examples=150, deadline=None)
@given(rel=st.text(alphabet=st.sampled_from(list("ab./\\\x00-_~:")), max_size=12))
def test_no_input_writes_outside_the_root(rel: str) -> None:
    """For any path text, the store either refuses it or writes strictly inside the root."""
    with tempfile.TemporaryDirectory() as sandbox:
        root = Path(sandbox) / "r" / "root"
        store = BootFileStore(root)
        with contextlib.suppress(StoreError):
            store.write_defaults({rel: b"x"})
        for path in Path(sandbox).rglob("*"):
            if path.is_file():
                assert path.resolve().is_relative_to(root.resolve())


def test_reader_never_sees_a_partial_file(tmp_path: Path) -> None:
    """While one thread rewrites a file, every read by another is one complete version."""
    store = BootFileStore(tmp_path)
    versions = [b"A" * 600_000, b"B" * 200_000, b"C" * 1]
    store.apply(MAC, {PXE: versions[0]})
    target = tmp_path / PXE
    seen: set[bytes] = set()
    bad: list[int] = []
    done = threading.Event()

    def read() -> None:
        deadline = time.monotonic() + 30
        while not done.is_set() and time.monotonic() < deadline:
            data = target.read_bytes()
            if data not in versions:
                bad.append(len(data))
            seen.add(data[:1])

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(150):
            store.apply(MAC, {PXE: versions[i % 3]})
    finally:
        done.set()
        reader.join(timeout=30)
    assert bad == []
    assert len(seen) >= 2  # the reader really raced the writer


def test_install_loaders_copies_and_reports_missing(tmp_path: Path) -> None:
    """Loaders are copied as regular files (never links); a missing one is reported."""
    src = tmp_path / "pkg"
    src.mkdir()
    (src / "pxelinux.0").write_bytes(b"\x00pxe")
    root = tmp_path / "tftp"
    root.mkdir()
    (root / "pxelinux.0").symlink_to(src / "pxelinux.0")  # an old link must become a copy
    table = (
        ("pxelinux.0", (str(src / "pxelinux.0"),), "pxelinux"),
        ("grub/x.efi", (str(src / "nope.efi"),), "grub-efi-amd64-signed"),
    )
    assert install_loaders(root, table, optional=()) == [
        "copied pxelinux.0",
        "missing grub/x.efi (install grub-efi-amd64-signed)",
    ]
    assert not (root / "pxelinux.0").is_symlink()
    assert (root / "pxelinux.0").read_bytes() == b"\x00pxe"
    assert install_loaders(root, table, optional=())[0] == "up to date pxelinux.0"


def test_install_loaders_uses_the_system_packages(tmp_path: Path) -> None:
    """On this Debian machine pxelinux.0, ldlinux.c32 and iPXE come from their packages."""
    report = install_loaders(tmp_path)
    for name in ("pxelinux.0", "ldlinux.c32", "undionly.kpxe", "ipxe.efi", "ipxe.lkrn"):
        if f"copied {name}" not in report:
            pytest.skip(f"{name} is not installed here")
        assert os.path.getsize(tmp_path / name) > 0


@settings(max_examples=40, deadline=None)
@given(raw=st.binary(min_size=6, max_size=6))
def test_every_mac_maps_to_plain_per_mac_names_that_parse_back(raw: bytes) -> None:
    """Any MAC gives four lowercase single-directory names whose suffix parses to that MAC."""
    mac = MacAddress.from_bytes(raw)
    paths = per_mac_paths(mac)
    assert [p.split("/")[0] for p in paths] == ["pxelinux.cfg", "ipxe", "grub", "s390x"]
    for path in paths:
        name = path.split("/")[1].removeprefix("grub.cfg-").removesuffix(".ipxe")
        assert path == path.lower() and path.count("/") == 1
        assert MacAddress.parse(name) == mac
    with tempfile.TemporaryDirectory() as root:
        written, _ = BootFileStore(Path(root)).apply(mac, dict.fromkeys(paths, b"x"))
        assert sorted(written) == sorted(paths)


def test_identical_files_are_not_rewritten(tmp_path: Path) -> None:
    """Re-applying the same set (an engine restart) leaves files alone; a change replaces."""
    store = BootFileStore(tmp_path)
    store.apply(MAC, {PXE: b"same", IPXE: b"old"})
    before = {rel: (tmp_path / rel).stat().st_ino for rel in (PXE, IPXE)}
    written, removed = store.apply(MAC, {PXE: b"same", IPXE: b"new"})
    assert sorted(written) == sorted([PXE, IPXE]) and removed == []
    assert (tmp_path / PXE).stat().st_ino == before[PXE]
    assert (tmp_path / IPXE).stat().st_ino != before[IPXE]
    assert (tmp_path / IPXE).read_bytes() == b"new"
