"""Any text fed to the loader ends as a Profile or a ProfileError — never a crash.

The TUI's profile editor validates whatever the operator is typing, so the loader must turn
every input, however broken, into messages with a line number.
"""

from __future__ import annotations

import re

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pxetui.core.profile import Profile, ProfileError, load_profile_text

_LINE = re.compile(r"^fuzz\.yaml:\d+: ")
_KEYS = st.sampled_from(
    [
        "entries",
        "hosts",
        "kind",
        "kernel",
        "items",
        "entry",
        "network",
        "dhcp",
        "mode",
        "unknown",
        "52:54:00:12:34:56",
        "menu",
        "args",
        "x",
        "local",
        "tftp",
        "root",
        "macs",
    ]
)
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 70000), st.text(max_size=12), _KEYS)
_TREES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_KEYS, inner, max_size=4)),
    max_leaves=20,
)


def _check(text: str) -> None:
    try:
        result = load_profile_text(text, "fuzz.yaml")
    except ProfileError as exc:
        assert exc.errors
        for line in exc.errors:
            assert _LINE.match(line), line
    else:
        assert isinstance(result, Profile)


@settings(max_examples=100, deadline=None)
@given(tree=_TREES)
def test_any_yaml_structure_gives_a_profile_or_line_numbered_errors(tree: object) -> None:
    """Random nested mappings/lists/scalars with profile-like keys never crash the loader."""
    _check(yaml.safe_dump(tree))


@settings(max_examples=100, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("ab:- \n{}[]'\"#&*!|>%@`,?0\t")), max_size=60))
def test_any_text_gives_a_profile_or_line_numbered_errors(text: str) -> None:
    """Random YAML-significant characters never crash the loader."""
    _check(text)


def test_self_referencing_alias_is_an_error_not_a_crash() -> None:
    """`&a [*a]` never ends when expanded: it is reported with its line."""
    with pytest.raises(ProfileError) as caught:
        load_profile_text("name: x\nhosts: &a [*a]\n", "fuzz.yaml")
    assert caught.value.errors == [
        "fuzz.yaml:2: an alias refers to a node that contains it (cyclic); write it out"
    ]


def test_alias_bomb_is_refused_quickly() -> None:
    """Nested aliases that expand to millions of nodes stop at the node budget."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 8):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    with pytest.raises(ProfileError, match="too large"):
        load_profile_text("\n".join(lines) + "\n", "fuzz.yaml")
