"""The frame clock times a host's frames on a lab interface, from its first DHCP request."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from pxetui.core.mac import MacAddress
from pxetui.lab.netns import create_lab_network, ip
from pxetui.lab.wire import FrameClock

pytestmark = pytest.mark.netns


def test_network_phase_starts_at_the_first_dhcp_request_not_at_earlier_frames() -> None:
    """Pings are counted but do not start the clock; udhcpc's DISCOVER does."""
    if os.geteuid() != 0:
        pytest.skip("needs root for network namespaces")
    with create_lab_network("pxg-", router=True) as net:
        assert net.router_ns is not None
        line = ip("-o", "link", "show", "vlan", netns=net.router_ns)
        mac = MacAddress.parse(line.split("link/ether ", 1)[1].split()[0])
        inside = ["ip", "netns", "exec", net.router_ns, "busybox"]
        before = time.monotonic()
        clock = FrameClock(net.server_ns, "vbr", mac)
        ping = subprocess.run(
            [*inside, "ping", "-c", "3", "-i", "0.2", str(net.server_ip)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        pinged = time.monotonic()
        subprocess.run(
            [*inside, "udhcpc", "-i", "vlan", "-n", "-q", "-t", "2", "-T", "2", "-s", "/bin/true"],
            capture_output=True,
            timeout=30,
            check=False,
        )
        times = clock.stop()
        after = time.monotonic()
    assert ping.returncode == 0, ping.stderr
    assert times.count >= 5  # 3 echo requests + 2 DHCP discovers (+ ARP)
    assert times.first is not None and times.last is not None
    assert before < pinged <= times.first <= times.last <= after
    # Two discovers "-T 2" apart. busybox times its waits in whole seconds, so a frame that
    # wakes udhcpc just after a second boundary shortens the wait by up to a second: with
    # -T 1 the second DISCOVER can follow the first within 40 ms, with -T 2 never within 1 s.
    assert times.last - times.first >= 0.9
