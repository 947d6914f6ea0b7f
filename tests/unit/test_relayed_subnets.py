"""network.relayed: the profile shape, `check`'s exact refusals, and dnsmasq's ranges for it."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from pxetui.core.profile import load_profile
from pxetui.core.profile.audit import profile_problems
from pxetui.engine.dnsmasq.config import dnsmasq_config

SERVER = IPv4Address("10.250.77.1")


def _load(tmp_path: Path, network: str) -> list[str]:
    (tmp_path / "lab.yaml").write_text(
        "network:\n" + textwrap.indent(textwrap.dedent(network), "  ") + "entries: {}\n"
    )
    problems = profile_problems(load_profile(tmp_path / "lab.yaml"), SERVER)
    return [p.removeprefix(f"{tmp_path}/") for p in problems]


FULL = """\
interface: br0
dhcp: {mode: full, range: [10.250.77.100, 10.250.77.150], subnet: 10.250.77.0/24}
relayed:
  - subnet: 10.9.0.0/24
    range: [10.9.0.100, 10.9.0.150]
    router: 10.9.0.1
    dns: [10.9.0.53]
"""


def test_a_full_mode_profile_with_a_relayed_segment_passes_check(tmp_path: Path) -> None:
    """Subnet, range inside it and its router: nothing to report."""
    assert _load(tmp_path, FULL) == []


@pytest.mark.parametrize(
    ("relayed", "expected"),
    [
        (
            "  - subnet: 10.9.0.0/24\n    router: 10.9.0.1\n",
            "lab.yaml:5: network.relayed.0: dhcp.mode full needs a range: "
            "[first, last] inside 10.9.0.0/24",
        ),
        (
            "  - subnet: 10.9.0.0/24\n    range: [10.9.0.100, 10.9.1.5]\n    router: 10.9.0.1\n",
            "lab.yaml:6: network.relayed.0.range: 10.9.1.5 is not inside 10.9.0.0/24",
        ),
        (
            "  - subnet: 10.9.0.0/24\n    range: [10.9.0.100, 10.9.0.150]\n",
            "lab.yaml:5: network.relayed.0: dhcp.mode full needs a router: clients on "
            "10.9.0.0/24 reach us (10.250.77.1) through it (usually the relay's address)",
        ),
        (
            "  - subnet: 10.250.0.0/16\n    range: [10.250.1.1, 10.250.1.9]\n"
            "    router: 10.250.1.254\n",
            "lab.yaml:5: network.relayed.0.subnet: our address 10.250.77.1 is inside "
            "10.250.0.0/16: that segment is our own link, not a relayed one",
        ),
    ],
    ids=["no-range", "range-outside", "no-router", "our-own-link"],
)
def test_check_names_file_line_and_field_of_a_relayed_mistake(
    tmp_path: Path, relayed: str, expected: str
) -> None:
    """Each mistake is one line: file:line: network.relayed.<n>.<field>: why."""
    head = "interface: br0\ndhcp: {mode: full, range: [10.250.77.100, 10.250.77.150]}\n"
    problems = _load(tmp_path, head + "relayed:\n" + relayed)
    assert expected in problems, problems


def test_overlapping_relayed_subnets_are_refused(tmp_path: Path) -> None:
    """Two relayed entries for one segment: dnsmasq could not tell which one a relay means."""
    text = FULL + "  - subnet: 10.9.0.128/25\n    range: [10.9.0.130, 10.9.0.140]\n"
    text += "    router: 10.9.0.129\n"
    problems = _load(tmp_path, text)
    assert problems == [
        "lab.yaml:9: network.relayed.1.subnet: 10.9.0.128/25 overlaps "
        "network.relayed.0.subnet (10.9.0.0/24)"
    ]


def test_proxy_mode_refuses_lease_settings_on_a_relayed_segment(tmp_path: Path) -> None:
    """Behind proxyDHCP the site's server leases: a range there would never be used."""
    text = "interface: br0\nrelayed:\n  - subnet: 10.9.0.0/24\n    range: [10.9.0.5, 10.9.0.9]\n"
    assert _load(tmp_path, text) == [
        "lab.yaml:5: network.relayed.0.range: dhcp.mode proxy: the site's DHCP server leases "
        "on relayed segments; range is for dhcp.mode full"
    ]


def test_unknown_key_in_a_relayed_entry_gets_did_you_mean(tmp_path: Path) -> None:
    """The schema forbids unknown keys inside each relayed entry too."""
    from pxetui.core.profile import ProfileError

    with pytest.raises(ProfileError, match=r"lab.yaml:7: network.relayed.0.routr: unknown key"):
        _load(tmp_path, FULL.replace("router:", "routr:"))


def _config(tmp_path: Path, network: str) -> list[str]:
    (tmp_path / "lab.yaml").write_text("network:\n" + textwrap.indent(network, "  "))
    return dnsmasq_config(
        load_profile(tmp_path / "lab.yaml"),
        server=SERVER,
        interface="br0",
        state_dir=tmp_path,
        tftp_port=69,
    ).args


def test_full_mode_gets_a_tagged_range_with_netmask_and_its_own_router(tmp_path: Path) -> None:
    """dnsmasq cannot learn a remote netmask; tagged options beat the local untagged router."""
    args = _config(tmp_path, FULL.replace("subnet: 10.250.77.0/24}", "router: 10.250.77.254}"))
    assert "--dhcp-range=set:relay-0,10.9.0.100,10.9.0.150,255.255.255.0,1h" in args
    assert "--dhcp-option=tag:relay-0,option:router,10.9.0.1" in args
    assert "--dhcp-option=tag:relay-0,option:dns-server,10.9.0.53" in args
    assert "--dhcp-option=option:router,10.250.77.254" in args  # the local segment's


def test_proxy_mode_gets_a_proxy_range_per_relayed_subnet(tmp_path: Path) -> None:
    args = _config(tmp_path, "interface: br0\nrelayed:\n  - subnet: 10.9.0.0/24\n")
    assert "--dhcp-range=set:relay-0,10.9.0.0,proxy,255.255.255.0" in args


@pytest.mark.skipif(shutil.which("dnsmasq") is None, reason="dnsmasq not installed")
def test_dnsmasq_accepts_the_relayed_arguments(tmp_path: Path) -> None:
    """`dnsmasq --test` parses what we render, in both modes."""
    for network in (FULL, "interface: br0\nrelayed:\n  - subnet: 10.9.0.0/24\n"):
        args = _config(tmp_path, network)
        proc = subprocess.run(
            ["dnsmasq", "--test", *args], capture_output=True, text=True, timeout=20, check=False
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
