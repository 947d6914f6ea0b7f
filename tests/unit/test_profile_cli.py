"""`pxetui check`, `render` and `explain` on the example profiles and on broken ones."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pxetui.cli.main import main

ASSETS = Path(__file__).parent.parent.parent / "pxetui" / "assets"
EXAMPLES = sorted(p.name for p in ASSETS.glob("*.yaml"))


def test_every_seed_scenario_has_an_example() -> None:
    """One example profile per seed scenario ships in pxetui/assets/."""
    assert {
        "serial-centos.yaml",
        "diskless-squashfs.yaml",
        "s390x.yaml",
        "uefi-liveos.yaml",
        "mixed-lab.yaml",
    } <= set(EXAMPLES)


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_profiles_pass_check(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Each example is valid, its stand-in files exist and every host renders."""
    assert main(["check", "--profile", str(ASSETS / name)]) == 0
    assert ": OK (" in capsys.readouterr().out


def test_check_runs_as_a_real_command() -> None:
    """`python -m pxetui check` works end to end and exits 0 on a good profile."""
    done = subprocess.run(
        [sys.executable, "-m", "pxetui", "check", "--profile", str(ASSETS / "mixed-lab.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "mixed-lab.yaml: OK (5 entries, 4 hosts" in done.stdout


def test_check_lists_every_problem_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Missing files, arch mismatches, proxy for s390x and s390x limits: all, with lines."""
    (tmp_path / "root").mkdir()
    path = tmp_path / "lab.yaml"
    path.write_text(
        "network: {server: 10.0.0.1, dhcp: {mode: proxy, subnet: 10.0.0.0/24}}\n"
        "tftp: {root: root}\n"
        "entries:\n"
        "  x: {kind: linux, kernel: k/vmlinuz, initrds: [a, b], arch: x86}\n"
        "  s: {kind: linux, kernel: ../../etc/passwd, arch: s390x}\n"
        "hosts:\n"
        "  52:54:00:00:00:01: {entry: x, arch: s390x}\n"
        "  52:54:00:00:00:02: {entry: s, arch: uefi-x64, loader: pxelinux}\n"
    )
    assert main(["check", "--profile", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    root = tmp_path / "root"
    assert out == [
        f"{path}:4: entries.x.kernel: file k/vmlinuz not found under the TFTP root ({root})",
        f"{path}:4: entries.x.initrds.0: file a not found under the TFTP root ({root})",
        f"{path}:4: entries.x.initrds.1: file b not found under the TFTP root ({root})",
        f"{path}:5: entries.s.kernel: ../../etc/passwd leaves the TFTP root",
        f"{path}:7: hosts.52:54:00:00:00:01: s390x firmware ignores proxyDHCP: add it to "
        "network.dhcp.s390x_addresses or use dhcp mode full",
        f"{path}:7: hosts.52:54:00:00:00:01: s390x host, but entry 'x' is for x86",
        f"{path}:8: hosts.52:54:00:00:00:02: pxelinux.0 is BIOS-only; use loader ipxe or "
        "grub for UEFI",
        f"{path}:8: hosts.52:54:00:00:00:02: uefi-x64 host, but entry 's' is for s390x",
        f"{path}:7: hosts.52:54:00:00:00:01: entry 'x': s390x firmware loads one INITRD, "
        "the entry has 2; combine them into one file",
    ]


def test_check_reports_schema_errors_with_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A profile the loader rejects exits 1 and prints the loader's file:line messages."""
    path = tmp_path / "lab.yaml"
    path.write_text("hosts:\n  52:54:00:12:34:56: {entry: centos}\n")
    assert main(["check", "--profile", str(path)]) == 1
    assert capsys.readouterr().out == (
        f"{path}:2: hosts.52:54:00:12:34:56.entry: 'centos' is not a defined entry\n"
    )


def test_render_prints_files_with_headers(capsys: pytest.CaptureFixture[str]) -> None:
    """A dry run shows every file of one host under a header naming its path."""
    code = main(["render", "--profile", str(ASSETS / "s390x.yaml"), "--mac", "52:54:00:e2:e3:90"])
    out = capsys.readouterr().out
    assert code == 0
    assert "==> s390x/01-52-54-00-e2-e3-90 <==\n# pxelinux\nDEFAULT s390-rescue\n" in out
    assert "==> pxelinux.cfg/01-52-54-00-e2-e3-90 <==" in out


def test_render_out_then_explain_names_the_winner(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Files written with --out are what explain then finds and marks as winning."""
    profile = tmp_path / "lab.yaml"
    shutil.copy(ASSETS / "mixed-lab.yaml", profile)
    shutil.copytree(ASSETS / "demo-root", tmp_path / "demo-root")
    out = tmp_path / "tftp"
    assert main(["render", "--profile", str(profile), "--out", str(out)]) == 0
    written = capsys.readouterr().out
    assert f"wrote {out}/boot.ipxe" in written
    assert (out / "ipxe" / "52-54-00-e2-e0-03.ipxe").read_text().startswith("#!ipxe\n")
    args = ["explain", "52:54:00:e2:e0:04", "--profile", str(profile), "--root", str(out)]
    assert main([*args, "--arch", "bios"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any("ipxe/52-54-00-e2-e0-03.ipxe" in line and "WINS" in line for line in lines)
    assert any("pxelinux.cfg/default" in line and "WINS" in line for line in lines)


def test_explain_rejects_a_bad_mac(capsys: pytest.CaptureFixture[str]) -> None:
    """A MAC that does not parse is a usage error, not a traceback."""
    assert main(["explain", "52:54:00:zz"]) == 2
    assert "not a MAC address" in capsys.readouterr().err


def test_check_flags_an_http_root_that_hides_the_ipxe_scripts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """boot.ipxe fetches ipxe/<mac>.ipxe over HTTP: a separate HTTP root must expose them."""
    (tmp_path / "tftp").mkdir()
    (tmp_path / "www").mkdir()
    path = tmp_path / "lab.yaml"
    path.write_text("network: {server: 10.0.0.1}\ntftp: {root: tftp}\nhttp:\n  root: www\n")
    assert main(["check", "--profile", str(path)]) == 1
    assert capsys.readouterr().out.startswith(f"{path}:4: http.root: iPXE fetches ipxe/*.ipxe")
    (tmp_path / "tftp" / "ipxe").mkdir()
    (tmp_path / "www" / "ipxe").symlink_to(tmp_path / "tftp" / "ipxe")
    assert main(["check", "--profile", str(path)]) == 0


def test_explain_json_lists_every_step(capsys: pytest.CaptureFixture[str]) -> None:
    """--json gives the steps as data: loader, order, path, exists, wins, note."""
    assert main(["explain", "52:54:00:e2:e3:90", "--arch", "31", "--json"]) == 0
    steps = json.loads(capsys.readouterr().out)
    assert [s["path"] for s in steps if s["loader"] == "s390-ccw file"] == [
        "s390x/01-52-54-00-e2-e3-90"
    ]
    assert set(steps[0]) == {"loader", "order", "path", "exists", "wins", "note"}
