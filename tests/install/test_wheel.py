"""The built wheel, installed into a fresh venv, carries and runs everything an operator needs."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from wheel_install import REPO, InstalledPxetui

EXAMPLES = sorted(p.name for p in (REPO / "pxetui" / "assets").glob("*.yaml"))


def test_the_wheel_ships_examples_lab_template_demo_root_and_unit(wheel: Path) -> None:
    """Every tracked file under pxetui/assets is in the wheel, suffix or not, dot file or not."""
    names = set(zipfile.ZipFile(wheel).namelist())
    tracked = subprocess.run(
        ["git", "ls-files", "pxetui/assets"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout.split()
    assert len(tracked) > 20
    assert [name for name in tracked if name not in names] == []
    for needed in ("lab/lab.yaml", "pxetui.service", "demo-root/centos8/os/.treeinfo"):
        assert f"pxetui/assets/{needed}" in names


def test_installed_package_is_not_the_checkout(installed: InstalledPxetui) -> None:
    """The commands below exercise the venv's copy, not the repository's."""
    assert installed.assets.is_relative_to(installed.venv)
    assert (installed.assets / "lab" / "lab.yaml").is_file()


@pytest.mark.parametrize("name", EXAMPLES)
def test_check_accepts_every_shipped_example(installed: InstalledPxetui, name: str) -> None:
    """``pxetui check --profile <example>`` from the installed wheel exits 0."""
    proc = installed.run("check", "--profile", str(installed.assets / name))
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.e2e
def test_lab_demo_boots_from_the_installed_wheel(installed: InstalledPxetui) -> None:
    """``pxetui lab --no-tui`` from the wheel boots the VM (root + QEMU), bounded."""
    if os.geteuid() != 0:
        pytest.skip("the lab needs root (namespaces, tap devices)")
    if shutil.which("qemu-system-x86_64") is None:
        pytest.fail("qemu-system-x86 is missing: run `sudo bash .ci/setup`")
    proc = installed.run("lab", "--no-tui", "--timeout", "120", timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "PXETUI-BOOTED" in proc.stdout
    assert "booted in" in proc.stdout
