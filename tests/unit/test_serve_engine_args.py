"""The ad-hoc `serve --root --dhcp` flags become an equivalent profile."""

from __future__ import annotations

import argparse
from ipaddress import IPv4Address
from pathlib import Path

from pxetui.cli.main import build_parser
from pxetui.cli.serve_engine import adhoc_profile


def parse(*argv: str) -> argparse.Namespace:
    parser, _ = build_parser()
    return parser.parse_args(["serve", *argv])


def test_adhoc_full_dhcp_flags_make_a_full_mode_profile(tmp_path: Path) -> None:
    """Root, interface, range, ports and bind address all land in the profile."""
    args = parse(
        "--root",
        str(tmp_path),
        "--dhcp",
        "full",
        "--interface",
        "br7",
        "--range",
        "10.9.0.100, 10.9.0.150",
        "--bind",
        "10.9.0.1",
        "--tftp-port",
        "6969",
        "--http-port",
        "8081",
    )
    profile = adhoc_profile(args)
    assert profile.network.interface == "br7" and profile.network.dhcp.mode == "full"
    assert profile.network.dhcp.range == (IPv4Address("10.9.0.100"), IPv4Address("10.9.0.150"))
    assert profile.network.server == IPv4Address("10.9.0.1")
    assert (profile.tftp.root, profile.tftp.port, profile.http.port) == (tmp_path, 6969, 8081)
    assert profile.unknown == "local" and not profile.hosts


def test_a_wildcard_bind_leaves_the_server_address_to_the_interface(tmp_path: Path) -> None:
    """0.0.0.0 is not our address: the engine asks the interface instead."""
    profile = adhoc_profile(parse("--root", str(tmp_path), "--dhcp", "proxy", "--interface", "br7"))
    assert profile.network.server is None and profile.tftp.bind is None
    assert profile.network.dhcp.mode == "proxy"
