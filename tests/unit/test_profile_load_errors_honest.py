"""Each way a profile is too much gets its own sentence (no "aliases" without aliases)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pxetui.core.profile.errors import ProfileError
from pxetui.core.profile.loader import MAX_DEPTH, MAX_NODES, load_profile, load_profile_text


def _error(text: str) -> str:
    with pytest.raises(ProfileError) as caught:
        load_profile_text(text, "p.yaml")
    return "\n".join(caught.value.errors)


def test_deep_nesting_without_aliases_says_too_deep() -> None:
    """Nesting past the bound is "nested deeper than N levels", not an alias problem."""
    text = "name: x\nextra: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n"
    message = _error(text)
    assert f"nested deeper than {MAX_DEPTH} levels" in message
    assert "alias" not in message


def test_many_values_without_aliases_says_too_large() -> None:
    """More values than the budget, no aliases: "more than N values", no alias mentioned."""
    text = "name: x\nextra:\n" + "".join(f"  - {i}\n" for i in range(MAX_NODES + 10))
    message = _error(text)
    assert f"more than {MAX_NODES} values (too large)" in message
    assert "alias" not in message


def test_alias_expansion_says_so() -> None:
    """When aliases are what blows the budget, the message says so."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 8):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]")
    assert "once its aliases are expanded" in _error("\n".join(lines) + "\n")


def test_size_limit_is_checked_before_parsing(tmp_path: Path) -> None:
    """A file over max_bytes is refused with the limit and how to raise it."""
    path = tmp_path / "big.yaml"
    path.write_text("name: x\n" + "# pad\n" * 1000)
    with pytest.raises(ProfileError, match=r"larger than 100 bytes.*PXETUI_PROFILE_MAX_BYTES"):
        load_profile(path, max_bytes=100)
    assert load_profile(path).name == "x"


def test_size_limit_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """PXETUI_PROFILE_MAX_BYTES sets the default bound."""
    path = tmp_path / "p.yaml"
    path.write_text("name: x\n" + "# pad\n" * 100)
    monkeypatch.setenv("PXETUI_PROFILE_MAX_BYTES", "50")
    with pytest.raises(ProfileError, match="larger than 50 bytes"):
        load_profile(path)
