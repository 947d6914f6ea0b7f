"""``grub.files``: the one validation (loader + ``check``) refuses what GRUB cannot do."""

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


def _root(tmp_path: Path) -> Path:
    (tmp_path / "tftp" / "lab").mkdir(parents=True)
    (tmp_path / "tftp" / "lab" / "vmlinuz").write_bytes(b"K")
    (tmp_path / "tftp" / "lab" / "vmlinuz").chmod(0o644)
    return tmp_path


def test_both_ways_are_accepted(tmp_path: Path) -> None:
    root = _root(tmp_path)
    for way in ("http", "tftp"):
        assert text_problems(PROFILE + f"grub: {{files: {way}}}\n", "lab.yaml", root) is None


def test_an_unknown_way_names_the_line_and_the_field(tmp_path: Path) -> None:
    said = text_problems(PROFILE + "grub: {files: ftp}\n", "lab.yaml", _root(tmp_path))
    assert said is not None
    assert "lab.yaml:7" in said and "grub.files" in said
    assert "'http'" in said and "'tftp'" in said


def test_http_with_an_https_base_url_is_refused(tmp_path: Path) -> None:
    """GRUB 2.06 has no TLS: asking it for HTTP to an https base is an error, not a silent
    TFTP; grub.files: tftp with the same base is fine."""
    https = PROFILE + "http: {base_url: 'https://boot.example.org/pxe'}\n"
    said = text_problems(https + "grub: {files: http}\n", "lab.yaml", _root(tmp_path))
    assert said is not None
    assert "lab.yaml:8: grub.files: http needs an http:// base URL" in said
    assert text_problems(https + "grub: {files: tftp}\n", "lab.yaml", tmp_path) is None


def test_the_default_with_an_https_base_url_is_not_an_error(tmp_path: Path) -> None:
    """Not asked for: GRUB just stays on TFTP there (tests/unit/test_render_loaders.py)."""
    https = PROFILE + "http: {base_url: 'https://boot.example.org/pxe'}\n"
    assert text_problems(https, "lab.yaml", _root(tmp_path)) is None
