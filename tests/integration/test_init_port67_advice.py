"""Port 67 held by a DHCP server on this machine: the advice keeps the LAN's DHCP running.

Checked in a fresh network namespace (``unshare --net``) where a process of ours holds
UDP 67, so nothing on the host's network is touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HOLD_67_AND_CHECK = """
import socket
from pxetui.engine.dnsmasq.preflight import DHCP_PORTS, PreflightError, check_ports
held = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
held.bind(("0.0.0.0", 67))
try:
    check_ports(DHCP_PORTS)
except PreflightError as exc:
    print(exc)
"""


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare"
)
def test_port_67_advice_is_proxy_off_or_full_never_stopping_the_lans_dhcp() -> None:
    proc = subprocess.run(
        ["unshare", "--net", sys.executable, "-c", HOLD_67_AND_CHECK],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    message = proc.stdout
    assert "UDP port 67" in message, proc.stdout + proc.stderr
    assert "dhcp.mode: off" in message and "proxy mode coexists" in message
    assert "dhcp.mode: full" in message and "isolated" in message
    assert "keep it" in message
    assert "Stop that service" not in message and "stop that server" not in message
