"""The README's first command, as a new admin runs it: a clean clone, Debian's python first."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from wheel_install import REPO


@pytest.mark.e2e
def test_first_readme_command_boots_the_demo_vm_without_a_terminal(tmp_path: Path) -> None:
    """``bash .ci/setup && .venv/bin/pxetui lab`` in a fresh clone, no stdin: the VM boots."""
    if os.geteuid() != 0:
        pytest.skip("setup (apt) and the lab (namespaces) need root")
    if not Path("/usr/bin/python3").exists() or shutil.which("git") is None:
        pytest.skip("needs Debian's /usr/bin/python3 and git")
    clone = tmp_path / "pxetui"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    # Debian's python3 first, as on a stock Debian 12, whatever this machine's default is.
    env["PATH"] = "/usr/bin:/usr/sbin:" + env.get("PATH", "")
    readme = (clone / "README.md").read_text()
    command = "bash .ci/setup && .venv/bin/pxetui lab"
    assert command in readme.split("```", 2)[1], "the README's first command changed"
    proc = subprocess.run(
        ["bash", "-c", command],
        cwd=clone,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "PXETUI-BOOTED" in proc.stdout
    assert "booted in" in proc.stdout
    # The venv is Debian's python, not whatever was first on PATH before.
    cfg = (clone / ".venv" / "pyvenv.cfg").read_text()
    assert "home = /usr/bin" in cfg
