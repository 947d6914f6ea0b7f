"""Editing entries in the operator's profile YAML: only what was edited changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from pxetui.core.profile.loader import load_profile_text
from pxetui.ui.profile_edit import (
    edit_entry,
    problems,
    read_entries,
    save_profile,
    split_initrds,
)

PROFILE = """\
name: lab
network:
  dhcp:
    mode: off
entries:
  tiny:
    kind: linux
    description: tiny kernel
    kernel: lab/vmlinuz
    initrds: [lab/initrd.gz]
    args: console=ttyS0,115200 quiet
  menu:
    kind: menu
    items: [tiny, local]
hosts:
  52:54:00:e2:e0:01:
    entry: tiny
"""


def test_read_entries_lists_every_entry_with_its_fields() -> None:
    """Kernel entries are editable, menus are listed but not editable."""
    entries = {e.name: e for e in read_entries(PROFILE)}
    assert entries["tiny"].kernel == "lab/vmlinuz"
    assert entries["tiny"].initrds == ("lab/initrd.gz",)
    assert entries["tiny"].args == "console=ttyS0,115200 quiet"
    assert entries["tiny"].editable
    assert not entries["menu"].editable


def test_edit_changes_the_entry_and_keeps_unquoted_macs_and_off() -> None:
    """A load/dump round trip would turn the MAC into an int and 'off' into False."""
    new = edit_entry(
        PROFILE, "tiny", kernel="k/vmlinuz-6", initrds=("a.img", "b.img"), args="quiet x=1"
    )
    profile = load_profile_text(new, "lab.yaml")
    entry = profile.entries["tiny"]
    assert entry.kernel == "k/vmlinuz-6"  # type: ignore[union-attr]
    assert entry.initrds == ("a.img", "b.img")  # type: ignore[union-attr]
    assert entry.args == "quiet x=1"  # type: ignore[union-attr]
    assert profile.network.dhcp.mode == "off"
    assert [m.colon for m in profile.hosts] == ["52:54:00:e2:e0:01"]
    assert "52:54:00:e2:e0:01:" in new
    assert "mode: off" in new


def test_removing_all_initrds_and_args_drops_the_keys() -> None:
    """Empty fields are removed, not written as empty strings."""
    new = edit_entry(PROFILE, "tiny", kernel="lab/vmlinuz", initrds=(), args="")
    tiny = next(e for e in read_entries(new) if e.name == "tiny")
    assert tiny.initrds == ()
    assert tiny.args == ""
    assert "initrds" not in new.split("menu:")[0]


def test_unknown_entry_is_refused() -> None:
    """Editing an entry that is not in the file raises KeyError."""
    with pytest.raises(KeyError):
        edit_entry(PROFILE, "nope", kernel="k", initrds=(), args="")


def test_problems_names_file_and_line(tmp_path: Path) -> None:
    """The real loader's message comes back: file, line, field."""
    for name in ("lab/vmlinuz", "lab/initrd.gz"):
        (tmp_path / "tftp" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "tftp" / name).write_bytes(b"x")
    broken = PROFILE.replace("kind: menu", "kind: menus")
    message = problems(broken, "lab.yaml", tmp_path)
    assert message is not None
    assert "lab.yaml:" in message
    assert problems(PROFILE, "lab.yaml", tmp_path) is None


def test_the_editor_refuses_what_check_refuses(tmp_path: Path) -> None:
    """One validation: a kernel that is not there is refused with check's own words."""
    message = problems(PROFILE, "lab.yaml", tmp_path)
    assert message is not None
    assert "lab.yaml:9: entries.tiny.kernel: file lab/vmlinuz not found" in message


def test_save_keeps_the_previous_file_as_bak(tmp_path: Path) -> None:
    """Saving replaces the file atomically and leaves the old text in <file>.bak."""
    path = tmp_path / "lab.yaml"
    path.write_text(PROFILE)
    path.chmod(0o640)
    new = edit_entry(PROFILE, "tiny", kernel="k2", initrds=(), args="")
    backup = save_profile(path, new)
    assert backup == tmp_path / "lab.yaml.bak"
    assert backup.read_text() == PROFILE
    assert path.read_text() == new
    assert path.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lab.yaml", "lab.yaml.bak"]


def test_initrds_split_on_spaces_and_commas() -> None:
    """Operators type either separator."""
    assert split_initrds("a.img, b.img  c.img") == ("a.img", "b.img", "c.img")
