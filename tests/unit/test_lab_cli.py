"""`pxetui lab` refuses combinations that cannot boot before it builds anything."""

from __future__ import annotations

import os

import pytest

from pxetui.cli.main import main
from pxetui.lab.session import LabOptions


def test_s390x_behind_proxy_dhcp_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """s390-ccw firmware ignores proxyDHCP answers: the lab says so and exits 2."""
    if os.geteuid() != 0:
        pytest.skip("the root check comes first")
    assert main(["lab", "--firmware", "s390x", "--dhcp", "proxy", "--no-tui"]) == 2
    assert "s390x firmware cannot boot behind proxyDHCP" in capsys.readouterr().err


def test_defaults_follow_the_firmware() -> None:
    """BIOS/UEFI default to proxyDHCP and 'tiny'; s390x to full DHCP and 's390x-tiny'."""
    bios, s390x = LabOptions("bios"), LabOptions("s390x")
    assert (bios.dhcp_mode, bios.entry_name, bios.arch) == ("proxy", "tiny", "amd64")
    assert (s390x.dhcp_mode, s390x.entry_name, s390x.arch) == ("full", "s390x-tiny", "s390x")
    assert s390x.mac != bios.mac
    assert LabOptions("uefi", entry="diskless", dhcp="full").dhcp_mode == "full"


def test_unknown_entry_is_named_before_anything_is_built(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A typo in --entry fails fast with the list of entries, no namespace is created."""
    if os.geteuid() != 0:
        pytest.skip("the root check comes first")
    assert main(["lab", "--entry", "nosuch", "--no-tui"]) == 1
    out = capsys.readouterr().out
    assert "no entry 'nosuch' in lab.yaml" in out and "tiny" in out
    assert "namespaces:" not in out
