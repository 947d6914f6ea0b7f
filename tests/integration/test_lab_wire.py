"""The frame clock sees a host's frames on a lab interface, timed on the shared clock."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from pxetui.core.mac import MacAddress
from pxetui.lab.netns import create_lab_network, ip
from pxetui.lab.wire import FrameClock

pytestmark = pytest.mark.netns


def test_frames_from_one_mac_are_counted_and_timed_between_start_and_stop() -> None:
    """Pings from the router namespace show up on the bridge port with monotonic times."""
    if os.geteuid() != 0:
        pytest.skip("needs root for network namespaces")
    with create_lab_network("pxg-", router=True) as net:
        assert net.router_ns is not None
        line = ip("-o", "link", "show", "vlan", netns=net.router_ns)
        mac = MacAddress.parse(line.split("link/ether ", 1)[1].split()[0])
        before = time.monotonic()
        clock = FrameClock(net.server_ns, "vbr", mac)
        argv = ["ip", "netns", "exec", net.router_ns, "busybox", "ping", "-c", "3", "-i", "0.2"]
        ping = subprocess.run(
            [*argv, str(net.server_ip)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        times = clock.stop()
        after = time.monotonic()
    assert ping.returncode == 0, ping.stderr
    assert times.count >= 3
    assert times.first is not None and times.last is not None
    assert before <= times.first <= times.last <= after
    assert times.last - times.first >= 0.3  # three pings 0.2 s apart
