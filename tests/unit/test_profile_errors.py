"""Bad profiles: each problem is reported as ``file:line: field: message``, all at once."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pxetui.core.profile import ProfileError, load_profile

BASE = """\
entries:
  c8:
    kind: centos
    kernel: centos/vmlinuz
    initrds: [centos/initrd.img]
    repo: http://mirror/centos
"""

BAD_PROFILES: list[tuple[str, str, list[str]]] = [
    (
        "host points at an undefined entry",
        BASE + "hosts:\n  52:54:00:12:34:56:\n    entry: centos\n",
        ["lab.yaml:9: hosts.52:54:00:12:34:56.entry: 'centos' is not a defined entry"],
    ),
    (
        "misspelt key gets a did-you-mean",
        BASE + "    initrd: centos/initrd.img\n",
        ["lab.yaml:7: entries.c8.initrd: unknown key (did you mean 'initrds'?)"],
    ),
    (
        "unknown top-level key",
        BASE + "hostz: {}\n",
        ["lab.yaml:7: hostz: unknown key (did you mean 'hosts'?)"],
    ),
    (
        "unknown entry kind",
        "entries:\n  x:\n    kind: linuz\n    kernel: k\n",
        [
            "lab.yaml:3: entries.x.kind: unknown entry kind 'linuz' (did you mean 'linux'?); "
            "one of: linux, centos, live, local, menu, chain"
        ],
    ),
    (
        "required field missing",
        "entries:\n  x:\n    kind: live\n    kernel: k\n",
        ["lab.yaml:2: entries.x.image: is required"],
    ),
    (
        "template variable typo names the entry and the variable",
        BASE + "    args: ks={htp}/ks.cfg\n",
        [
            "lab.yaml:7: entries.c8.args: entry 'c8': unknown template variable {htp} "
            "(did you mean {http}?); known: {server}, {http}, {mac}, {mac_hyp}, "
            "{hostname}, {entry}"
        ],
    ),
    (
        "menu item undefined and default not an item",
        BASE + "  m:\n    kind: menu\n    items: [c8, c9]\n    default: local\n",
        [
            "lab.yaml:9: entries.m.items.1: 'c9' is not a defined entry",
            "lab.yaml:10: entries.m.default: 'local' is not in items",
        ],
    ),
    (
        "menu inside a menu (the only way to build a cycle) is refused",
        BASE + "  m:\n    kind: menu\n    items: [c8, m]\n",
        ["lab.yaml:9: entries.m.items.1: 'm' is a menu; a menu cannot contain a menu"],
    ),
    (
        "bad MAC key",
        BASE + "hosts:\n  52:54:00:12:34:\n    entry: c8\n",
        ["lab.yaml:8: hosts.52:54:00:12:34: not a MAC address: '52:54:00:12:34'"],
    ),
    (
        "the same MAC written twice in two spellings",
        BASE + "hosts:\n  52:54:00:12:34:56: {entry: c8}\n  52-54-00-12-34-56: {entry: c8}\n",
        ["lab.yaml:9: hosts.52-54-00-12-34-56: same MAC as hosts.52:54:00:12:34:56"],
    ),
    (
        "bad DHCP mode",
        "network:\n  dhcp:\n    mode: relay\n",
        ["lab.yaml:3: network.dhcp.mode: Input should be 'proxy', 'full' or 'off' (got 'relay')"],
    ),
    (
        "unknown entry for unknown clients",
        BASE + "unknown: menu\n",
        ["lab.yaml:7: unknown: 'menu' is not a defined entry"],
    ),
    (
        "a newline inside args cannot inject boot commands",
        BASE + '    args: "quiet\\nKERNEL evil"\n',
        ["lab.yaml:7: entries.c8.args: must be a single line without control characters"],
    ),
    (
        "duplicate key",
        BASE + "    repo: http://other\n",
        ["lab.yaml:7: entries.c8.repo: duplicate key (first at line 6)"],
    ),
    (
        "bad port and bad host arch together",
        BASE + "tftp:\n  port: 70000\nhosts:\n  aa-bb-cc-dd-ee-ff: {entry: c8, arch: ppc}\n",
        [
            "lab.yaml:8: tftp.port: Input should be less than or equal to 65535",
            "lab.yaml:10: hosts.aa-bb-cc-dd-ee-ff.arch: Input should be 'bios', 'uefi-x64', "
            "'uefi-ia32', 'uefi-arm64' or 's390x' (got 'ppc')",
        ],
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [(text, expected) for _, text, expected in BAD_PROFILES],
    ids=[name for name, _, _ in BAD_PROFILES],
)
def test_bad_profile_reports_exact_file_line_field(
    text: str, expected: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each bad profile fails with exactly the expected ``file:line: field: message`` lines."""
    monkeypatch.chdir(tmp_path)
    Path("lab.yaml").write_text(text)
    with pytest.raises(ProfileError) as caught:
        load_profile(Path("lab.yaml"))
    assert caught.value.errors == expected


def test_yaml_syntax_error_reports_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A YAML syntax error names the line where the parser gave up."""
    monkeypatch.chdir(tmp_path)
    Path("lab.yaml").write_text("entries:\n  x:\n    kind: local\n   bad: [unclosed\n")
    with pytest.raises(ProfileError) as caught:
        load_profile(Path("lab.yaml"))
    (error,) = caught.value.errors
    assert error.startswith("lab.yaml:4: YAML syntax error:")


def test_all_problems_are_reported_in_one_run(tmp_path: Path) -> None:
    """Schema and reference problems from different parts of the file come together."""
    path = tmp_path / "lab.yaml"
    path.write_text(
        textwrap.dedent("""\
        network:
          dhcp: {mode: relay}
        entries:
          a: {kind: chain, url: "http://x/{mac}"}
        hosts:
          52:54:00:00:00:01: {entry: b}
        unknown: c
        """)
    )
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    lines = [e.split(": ", 1)[0] for e in caught.value.errors]
    assert lines == [f"{path}:2", f"{path}:6", f"{path}:7"]
    assert "3 problems" in str(caught.value)


def test_profile_error_is_a_value_error() -> None:
    """Callers that catch ValueError also catch profile problems."""
    assert issubclass(ProfileError, ValueError)


def test_template_typo_in_an_initrd_path_is_caught(tmp_path: Path) -> None:
    """Kernel and initrd paths are templates too; a typo there names the list index."""
    path = tmp_path / "lab.yaml"
    path.write_text("entries:\n  x:\n    kind: linux\n    kernel: k\n    initrds: [a, '{hots}']\n")
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    (error,) = caught.value.errors
    assert error.startswith(f"{path}:5: entries.x.initrds.1: entry 'x': unknown template")
