"""Session fixtures: one wheel, one operator venv, shared by the install tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from wheel_install import InstalledPxetui, build_wheel, install


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="session")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> InstalledPxetui:
    return install(wheel, tmp_path_factory.mktemp("operator"))
