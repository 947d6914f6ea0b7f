"""Fixtures for real-firmware boots: guests, throwaway namespaces, servers, QEMU.

Every fixture that creates something (a namespace, a dnsmasq, the engine) removes it in its
finalizer, which pytest runs on failure too; namespaces left by a crashed earlier run are
removed first (the registry in :mod:`pxetui.lab.netns`). Names start with ``pxg-``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pxetui.lab.lan import start_lan_dhcp
from pxetui.lab.netns import LabNetwork, create_lab_network, remove_stale
from pxetui.lab.process import LabProcess
from pxetui.lab.tree import build_guest_files
from tests.e2e.stories import Story, open_story

PREFIX = "pxg-"


def _require_lab() -> None:
    if os.geteuid() != 0:
        pytest.skip("real-firmware boots need root (namespaces, tap devices)")
    for tool in ("qemu-system-x86_64", "qemu-system-s390x", "dnsmasq", "ip", "mksquashfs"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: run `sudo bash .ci/setup`")


@pytest.fixture(scope="session", autouse=True)
def _stale_namespaces_removed() -> None:
    """Namespaces a crashed earlier run registered (and whose owner is gone) are removed."""
    if os.geteuid() == 0:
        remove_stale(PREFIX)


@pytest.fixture(scope="session")
def amd64_files() -> dict[str, Path]:
    """The x86 guest files (fetched from Debian and built into the cache on first use)."""
    _require_lab()
    return build_guest_files("amd64")


@pytest.fixture(scope="session")
def s390x_files() -> dict[str, Path]:
    _require_lab()
    return build_guest_files("s390x")


@pytest.fixture
def proxy_net(tmp_path: Path) -> Iterator[LabNetwork]:
    """Server + router namespaces; the router runs the LAN's DHCP server (and RAs)."""
    _require_lab()
    net = create_lab_network(PREFIX, router=True)
    lan: LabProcess | None = None
    try:
        lan = start_lan_dhcp(net, tmp_path / "lan")
        yield net
    finally:
        if lan is not None:
            lan.stop()
        net.teardown()


@pytest.fixture
def isolated_net() -> Iterator[LabNetwork]:
    """A server namespace alone: pxetui (or the reference) is the only DHCP server."""
    _require_lab()
    net = create_lab_network(PREFIX, router=False)
    try:
        yield net
    finally:
        net.teardown()


@pytest.fixture
def story_factory(tmp_path: Path) -> Iterator[Any]:
    """Open a boot story (namespaces, LAN server, engine): ``story_factory(name, scenario,
    net_kind="proxy"|"proxy-no-ra"|"isolated", assign=True, once=False)``. Every story
    opened is captured (with ``PXETUI_CAPTURE_STORIES=1``) and torn down, also on failure."""
    _require_lab()
    opened: list[Story] = []

    def start(name: str, scenario: Any, **kw: Any) -> Story:
        story = open_story(name, scenario, tmp_path / name, prefix=PREFIX, **kw)
        opened.append(story)
        return story

    try:
        yield start
    finally:
        for story in opened:
            story.close()
