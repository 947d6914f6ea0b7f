"""Profiles for tests that run a real engine on loopback: one factory instead of a YAML copy each.

:func:`loopback_profile` gives the text (what a test may still edit with ``str.replace``);
:func:`write_loopback_profile` writes it with the TFTP root and the entry's files. TFTP and
HTTP bind to 127.0.0.1 on free ports unless told otherwise; DHCP is off unless a test brings
its dnsmasq (``dhcp="proxy"``, needs root).
"""

from __future__ import annotations

import socket
from pathlib import Path

from tests.helpers.ports import free_port

CENTOS_ENTRY = """\
  centos:
    kind: linux
    description: test kernel
    kernel: images/vmlinuz
    initrds: [images/initrd.img]
    args: console=ttyS0
"""
"""The usual test entry: a kernel and an initrd under ``images/``."""
CENTOS_FILES = {"images/vmlinuz": 300_000, "images/initrd.img": 100_000}


def loopback_profile(
    name: str = "test",
    *,
    tftp_port: int | None = None,
    http_port: int | None = None,
    dhcp: str = "off",
    interface: str | None = None,
    subnet: str | None = None,
    entries: str = "",
    limits: dict[str, object] | None = None,
) -> str:
    """The YAML of a loopback engine (``entries``: the indented lines under ``entries:``)."""
    tftp_port = tftp_port if tftp_port is not None else free_port(socket.SOCK_DGRAM)
    http_port = http_port if http_port is not None else free_port(socket.SOCK_STREAM)
    lines = [f"name: {name}", "network:"]
    if interface is not None:
        lines.append(f"  interface: {interface}")
    lines += ["  server: 127.0.0.1", "  dhcp:", f'    mode: "{dhcp}"']
    if subnet is not None:
        lines.append(f"    subnet: {subnet}")
    lines += [
        "tftp:",
        "  root: tftp",
        f"  port: {tftp_port}",
        "  bind: 127.0.0.1",
        "http:",
        f"  port: {http_port}",
        "  bind: 127.0.0.1",
        "state_dir: state",
    ]
    text = "\n".join(lines) + "\n"
    if limits:
        text += "limits:\n" + "".join(f"  {k}: {v}\n" for k, v in limits.items())
    if entries:
        text += "entries:\n" + entries
    return text


def write_loopback_profile(
    root: Path,
    text: str,
    files: dict[str, int] | None = None,
    filename: str = "lab.yaml",
) -> Path:
    """Write *text* as ``root/filename``, create ``root/tftp`` and *files* (path -> size)."""
    for rel, size in (files or {}).items():
        path = root / "tftp" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * size)
    (root / "tftp").mkdir(parents=True, exist_ok=True)
    profile = root / filename
    profile.write_text(text)
    return profile
