"""The lab's namespaces are built as the recipe says and never outlive their owner."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from pxetui.lab import netns
from pxetui.lab.netns import (
    REGISTRY,
    create_lab_network,
    ip,
    netns_exists,
    netns_pids,
    remove_stale,
)

pytestmark = pytest.mark.netns

PREFIX = "pxg-"


@pytest.fixture(autouse=True)
def _root_only() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root for network namespaces")


def test_server_namespace_has_bridge_tap_and_router_link() -> None:
    """br0 holds 10.250.77.1/24, tap0 and the veth to the router namespace at .2."""
    with create_lab_network(PREFIX, router=True) as net:
        assert net.router_ns is not None
        links = ip("-o", "link", "show", "master", "br0", netns=net.server_ns)
        assert "tap0" in links and "vbr" in links
        assert "10.250.77.1/24" in ip("-o", "addr", "show", "br0", netns=net.server_ns)
        assert "10.250.77.2/24" in ip("-o", "addr", "show", "vlan", netns=net.router_ns)
        ping = subprocess.run(
            [*("ip", "netns", "exec", net.router_ns), *("busybox", "ping", "-c1", "10.250.77.1")],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
        assert ping.returncode == 0, ping.stdout + ping.stderr
    assert not netns_exists(net.server_ns) and not netns_exists(net.router_ns)
    assert not (REGISTRY / net.server_ns).exists()


def test_teardown_kills_processes_left_inside() -> None:
    """A process still running in the namespace does not keep it alive."""
    net = create_lab_network(PREFIX, router=False)
    try:
        proc = subprocess.Popen(["ip", "netns", "exec", net.server_ns, "sleep", "300"])
        deadline = time.monotonic() + 10
        while proc.pid not in netns_pids(net.server_ns) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.pid in netns_pids(net.server_ns)
    finally:
        net.teardown()
    assert proc.wait(10) is not None
    assert not netns_exists(net.server_ns)


def test_stale_namespaces_of_a_dead_owner_are_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A crashed run's namespaces (owner pid gone) are removed; a live owner's are kept."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    monkeypatch.setattr(netns.os, "getpid", lambda: dead.pid)
    orphan = create_lab_network(PREFIX, router=False)  # registered under the dead pid
    monkeypatch.undo()
    alive = create_lab_network(PREFIX, router=False)  # registered under this live process
    try:
        (REGISTRY / alive.server_ns).write_text(f"{os.getppid()}\n")  # a live, other owner
        removed = remove_stale(PREFIX)
        assert orphan.server_ns in removed
        assert not netns_exists(orphan.server_ns)
        assert alive.server_ns not in removed and netns_exists(alive.server_ns)
    finally:
        orphan.teardown()
        alive.teardown()
