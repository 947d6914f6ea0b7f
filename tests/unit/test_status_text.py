"""`pxetui status` prints the engine's state as plain tables."""

from __future__ import annotations

from pxetui.cli.status import render_state

STATE = {
    "profile": {
        "name": "lab",
        "path": "/etc/pxetui/lab.yaml",
        "server": "10.0.0.1",
        "http_base": "http://10.0.0.1:8080",
        "dhcp_mode": "proxy",
        "interface": "br0",
    },
    "services": {"dhcp": {"state": "running", "address": "br0", "message": "dnsmasq is serving"}},
    "clients": [
        {
            "mac": "52:54:00:e2:e0:01",
            "hostname": "node1",
            "ip": "10.0.0.129",
            "arch": "BIOS",
            "firmware": "iPXE",
            "entry": "centos",
            "phase": "kernel",
            "last_seen": 95.0,
            "last_error": "tftp images/initrd.img: not found",
            "hints": ["UEFI size probe"],
        },
    ],
    "assignments": {"52:54:00:e2:e0:01": {"entry": "centos", "once": True, "source": "operator"}},
    "unknown": "local",
}


def test_status_text_shows_services_clients_errors_hints_and_assignments() -> None:
    """Every part of the state a person needs appears in the text."""
    text = render_state(STATE, now=100.0)
    assert "profile lab (/etc/pxetui/lab.yaml), server 10.0.0.1, dhcp proxy on br0" in text
    assert "dhcp  running    br0 dnsmasq is serving" in text
    assert "52:54:00:e2:e0:01 node1" in text and "kernel" in text and "5s ago" in text
    assert "error: tftp images/initrd.img: not found" in text
    assert "hint: UEFI size probe" in text
    assert "52:54:00:e2:e0:01 -> centos once (operator)" in text
