"""The built wheel, installed into a fresh venv, carries and runs everything an operator needs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
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


def _can_compile() -> bool:
    include = Path(sysconfig.get_paths()["include"]) / "Python.h"
    return shutil.which("gcc") is not None and include.exists()


def test_the_wheel_carries_the_tftp_fast_path(wheel: Path) -> None:
    """Built with gcc and Python's headers (CI has them, .ci/setup-dev), the wheel has the C
    fast path of the TFTP server, so it is tagged for this Python and platform."""
    if not _can_compile():
        pytest.skip("no gcc or no Python.h here: the wheel is pure Python")
    names = zipfile.ZipFile(wheel).namelist()
    assert [n for n in names if n.startswith("pxetui/engine/tftp/_fastpath.") and n.endswith(".so")]
    assert "-none-any" not in wheel.name


def test_the_installed_wheel_serves_tftp_on_the_c_path(installed: InstalledPxetui) -> None:
    if not _can_compile():
        pytest.skip("no gcc or no Python.h here: the wheel is pure Python")
    code = "from pxetui.engine.tftp import fastpath; print(fastpath.built())"
    proc = subprocess.run(
        [str(installed.python), "-c", code],
        cwd=installed.workdir,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.stdout.strip() == "True", proc.stdout + proc.stderr


def test_without_a_compiler_the_wheel_builds_pure_python(tmp_path: Path) -> None:
    """A box without gcc or python3-dev still builds (and so installs) pxetui: the extension
    is optional (setup.py) and the TFTP server runs its pure-Python path."""
    tree = tmp_path / "src"
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, check=True, capture_output=True, timeout=30
    ).stdout.split(b"\0")
    for name in filter(None, tracked):
        source = REPO / os.fsdecode(name)
        if source.is_file():
            (tree / os.fsdecode(name)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, tree / os.fsdecode(name))
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(tree)],
        env={**os.environ, "CC": "/bin/false"},  # every compile fails, as with no gcc
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (built,) = out.glob("pxetui-*.whl")
    names = zipfile.ZipFile(built).namelist()
    assert "pxetui/engine/tftp/fastpath.py" in names
    assert not [n for n in names if n.endswith(".so")]
