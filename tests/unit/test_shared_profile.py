"""One profile for a fleet: shared entries/hosts, per-engine `engines.<name>` sections."""

from __future__ import annotations

import subprocess
import sys
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from pxetui.core.profile import ProfileError, load_profile
from pxetui.core.profile.audit import profile_problems
from pxetui.core.profile.engines import engine_profile

SHARED = """\
name: lab
state_dir: state
entries:
  tiny: {kind: chain, url: "http://192.0.2.9/tiny.ipxe"}
hosts:
  52:54:00:00:00:01: {entry: tiny}
engines:
  rack-a:
    network:
      interface: br0
      dhcp: {mode: full, range: [10.1.0.100, 10.1.0.150]}
  rack-b:
    network:
      interface: br0
      server: 10.2.0.1
      dhcp: {mode: full, range: [10.2.0.100, 10.2.0.150]}
      relayed:
        - subnet: 10.9.0.0/24
          range: [10.9.0.100, 10.9.0.150]
    tftp: {root: tftp-b, port: 6969}
"""


def _load(tmp_path: Path, text: str = SHARED) -> tuple[Path, list[str]]:
    path = tmp_path / "lab.yaml"
    path.write_text(text)
    problems = profile_problems(load_profile(path), IPv4Address("10.1.0.1"))
    return path, [p.removeprefix(f"{tmp_path}/") for p in problems]


def test_each_engine_serves_the_shared_part_with_its_own_section(tmp_path: Path) -> None:
    """Name, network, roots and state dir come from the section; entries and hosts are shared."""
    path, _ = _load(tmp_path)
    profile = load_profile(path)
    a, b = engine_profile(profile, "rack-a"), engine_profile(profile, "rack-b")
    assert (a.name, b.name) == ("rack-a", "rack-b")  # their names in the shared store
    assert b.network.server == IPv4Address("10.2.0.1") and a.network.server is None
    assert a.tftp.root == tmp_path / "tftp" and b.tftp.root == tmp_path / "tftp-b"
    assert b.tftp.port == 6969 and a.tftp.port == 69
    assert (a.state_dir, b.state_dir) == (tmp_path / "state/rack-a", tmp_path / "state/rack-b")
    assert a.hosts == b.hosts == profile.hosts and not a.engines


def test_check_names_the_engine_section_and_its_line(tmp_path: Path) -> None:
    """A mistake in one engine's network is that engine's, at its own line; shared ones once."""
    _, problems = _load(tmp_path)
    assert problems == [
        "lab.yaml:18: engines.rack-b.network.relayed.0: dhcp.mode full needs a router: "
        "clients on 10.9.0.0/24 reach us (10.2.0.1) through it (usually the relay's address)"
    ]


def test_an_unknown_engine_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    path, _ = _load(tmp_path)
    with pytest.raises(ProfileError, match=r"no engine 'rack-c'; known: rack-a, rack-b"):
        engine_profile(load_profile(path), "rack-c")


def test_serve_refuses_a_shared_profile_without_engine(tmp_path: Path) -> None:
    """`pxetui serve --profile` on a shared file says to pick one (exit 2), before any socket."""
    path, _ = _load(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "pxetui", "serve", "--profile", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 2, proc.stderr
    assert "is shared by engines rack-a, rack-b: say which with --engine NAME" in proc.stderr


def test_a_shared_store_without_psycopg_is_refused_in_a_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """psycopg is optional: a postgresql:// store where it is missing is a `check` problem
    naming the line and what to install, so the engine refuses it instead of a traceback."""
    text = "store: postgresql:///pxetui?host=/run/postgresql\n" + SHARED
    _, problems = _load(tmp_path, text)
    assert not any("psycopg" in p for p in problems), problems
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if not installed
    _, problems = _load(tmp_path, text)
    assert "lab.yaml:1: store: a postgresql:// store needs psycopg 3" in "\n".join(problems)
    assert any("pxetui[serve]" in p for p in problems), problems
