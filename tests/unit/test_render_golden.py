"""Golden files: the exact bytes every entry kind renders to, for every loader.

The goldens under tests/golden/ were checked by hand against PXE-FACTS. After an intended
change, regenerate with ``PXETUI_UPDATE_GOLDENS=1 pytest tests/unit/test_render_golden.py``
and review the diff like code.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pxetui.core.profile import Profile, load_profile
from pxetui.core.render import BootFiles, RenderContext, render_defaults, render_host

GOLDEN = Path(__file__).parent.parent / "golden"
UPDATE = os.environ.get("PXETUI_UPDATE_GOLDENS") == "1"


def _profile() -> Profile:
    return load_profile(GOLDEN / "golden-lab.yaml")


@functools.cache
def _rendered() -> dict[str, BootFiles]:
    profile = _profile()
    ctx = RenderContext.for_profile(profile)
    sets = {mac.hexhyp: render_host(profile, ctx, mac) for mac in profile.hosts}
    sets["defaults"] = render_defaults(profile, ctx)
    return sets


def _cases() -> list[tuple[str, str]]:
    return [(group, path) for group, files in _rendered().items() for path in files]


@pytest.mark.parametrize(("group", "path"), _cases())
def test_rendered_file_matches_golden(group: str, path: str) -> None:
    """Each rendered boot file is byte-for-byte its reviewed golden file."""
    data = _rendered()[group][path]
    golden = GOLDEN / group / path
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_bytes(data)
    assert golden.read_bytes() == data


def test_no_stale_golden_files() -> None:
    """Every golden file is still produced (a removed form must not linger as a golden)."""
    rendered = {f"{group}/{path}" for group, files in _rendered().items() for path in files}
    on_disk = {
        str(p.relative_to(GOLDEN)) for p in GOLDEN.rglob("*") if p.is_file() and p.suffix != ".yaml"
    }
    assert on_disk == rendered


def test_every_entry_kind_has_a_golden_host() -> None:
    """The golden profile covers linux, centos (7 and 8), live, local, chain, menu and s390x."""
    profile = _profile()
    kinds = {profile.entry_or_local(h.entry).kind for h in profile.hosts.values()}
    assert kinds == {"linux", "centos", "live", "local", "chain", "menu"}
    assert any(h.arch == "s390x" for h in profile.hosts.values())


def test_grub_files_pass_grub_script_check(tmp_path: Path) -> None:
    """GRUB's own parser accepts every GRUB file the renderers produce."""
    checker = shutil.which("grub-script-check")
    if checker is None:
        pytest.skip("grub-script-check (grub-common) is not installed: run .ci/setup")
    for group, files in _rendered().items():
        for path, data in files.items():
            if path.startswith("grub/"):
                script = tmp_path / "check.cfg"
                script.write_bytes(data)
                done = subprocess.run([checker, str(script)], capture_output=True, timeout=30)
                assert done.returncode == 0, (group, path, done.stdout, done.stderr)
