"""pxetui as an operator gets it: built into a wheel, installed into a fresh venv.

The wheel is built once per session from the repository, installed into a venv made by
Debian's ``/usr/bin/python3`` (what a stock Debian 12 has) outside the repository, and every
command runs with a working directory outside the repository — so nothing can import the
checkout instead of the installed package.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEBIAN_PYTHON = Path("/usr/bin/python3")


@dataclass(frozen=True)
class InstalledPxetui:
    """A venv with the built wheel installed, and where it put things."""

    venv: Path
    python: Path
    pxetui: Path
    assets: Path
    workdir: Path

    def run(
        self, *args: str, timeout: float = 60, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.pxetui), *args],
            cwd=self.workdir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
        )


def build_wheel(out: Path) -> Path:
    """``pip wheel`` of the repository (an isolated build, like pipx's), returning the file."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(REPO)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = out.glob("pxetui-*.whl")
    return wheel


def install(wheel: Path, base: Path) -> InstalledPxetui:
    """The wheel in a fresh venv under *base* (Debian's python when there is one, else ours)."""
    venv = base / "venv"
    creator = str(DEBIAN_PYTHON) if DEBIAN_PYTHON.exists() else sys.executable
    subprocess.run([creator, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    workdir = base / "work"
    workdir.mkdir()
    where = subprocess.run(
        [str(python), "-c", "import pxetui, pathlib; print(pathlib.Path(pxetui.__file__).parent)"],
        cwd=workdir,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    return InstalledPxetui(
        venv=venv,
        python=python,
        pxetui=venv / "bin" / "pxetui",
        assets=Path(where) / "assets",
        workdir=workdir,
    )
