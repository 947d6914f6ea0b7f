"""The editor's check before saving: the loader's reasons and `check`'s, or None."""

from __future__ import annotations

from pathlib import Path

from pxetui.core.profile.audit import text_problems

PROFILE = """\
name: lab
tftp: {root: tftp}
entries:
  tiny:
    kind: linux
    kernel: lab/vmlinuz
"""


def test_a_missing_kernel_is_a_reason_not_to_save(tmp_path: Path) -> None:
    """Valid YAML and schema, but the kernel is not there: the same line `check` prints."""
    said = text_problems(PROFILE, "lab.yaml", tmp_path)
    assert said is not None and "file lab/vmlinuz not found under the TFTP root" in said


def test_a_bootable_profile_has_no_problems(tmp_path: Path) -> None:
    """Kernel present and world-readable: nothing to say."""
    (tmp_path / "tftp" / "lab").mkdir(parents=True)
    (tmp_path / "tftp" / "lab" / "vmlinuz").write_bytes(b"K")
    (tmp_path / "tftp" / "lab" / "vmlinuz").chmod(0o644)
    assert text_problems(PROFILE, "lab.yaml", tmp_path) is None


def test_schema_errors_come_first(tmp_path: Path) -> None:
    """A profile the loader refuses reports the loader's reasons."""
    said = text_problems("entries: {x: {kind: linucks}}\n", "lab.yaml", tmp_path)
    assert said is not None and "unknown entry kind" in said
