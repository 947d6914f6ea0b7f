"""core and engine never import Textual; core never imports engine."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _modules(package: str) -> list[str]:
    base = ROOT / package.replace(".", "/")
    mods = []
    for path in sorted(base.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        mods.append(".".join(parts))
    return mods


@pytest.mark.parametrize("package", ["pxetui.core", "pxetui.engine"])
def test_headless_packages_do_not_load_textual(package: str) -> None:
    """Importing every module of core/engine leaves textual and pxetui.ui unloaded."""
    mods = _modules(package)
    assert mods, f"no modules found under {package}"
    code = (
        "import importlib, sys\n"
        f"for m in {mods!r}: importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.')"
        " or m.startswith('pxetui.ui'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == "", f"{package} pulled in: {out.stdout.strip()}"


def test_import_linter_contracts_hold() -> None:
    """The import-linter contracts in pyproject.toml are kept — checked for real.

    ``python -m importlinter.cli`` has no ``__main__`` and exits 0 having checked nothing; the
    console script does the work, and its summary line proves it ran.
    """
    script = Path(sys.executable).parent / "lint-imports"
    command = [str(script)] if script.exists() else [shutil.which("lint-imports") or "lint-imports"]
    out = subprocess.run([*command, "--no-cache"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Contracts: 2 kept, 0 broken." in out.stdout, out.stdout


def test_no_import_cycles_anywhere() -> None:
    """pxetui's modules import as a tree: no cycle, counting deferred and TYPE_CHECKING imports.

    grimp (import-linter's graph) reads every import statement of every module, inside
    functions too, so a cycle hidden in a function body or a type-only import is found.
    """
    import grimp

    graph = grimp.build_graph("pxetui")
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:  # Tarjan's strongly connected components
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in sorted(graph.find_modules_directly_imported_by(module)):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    assert len(graph.modules) > 100, "the graph is suspiciously small: nothing was scanned"
    assert cycles == [], f"import cycles: {cycles}"
