"""The renderers' files, booted by real firmware: iPXE ROM, pxelinux, GRUB 2.06 and s390-ccw.

No engine, no dnsmasq, no namespace: QEMU's user-mode network (slirp) hands out the boot
file and serves the TFTP root itself, so what is tested is exactly the bytes the renderers
and the store wrote. ``restrict=on`` isolates the guest: it reaches nothing but slirp's own
DHCP/TFTP and, through one ``guestfwd``, a plain HTTP server on host loopback.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest

from pxetui.core.mac import MacAddress
from pxetui.core.profile import load_profile_text
from pxetui.core.render import RenderContext, render_defaults, render_host
from pxetui.engine.bootfiles import BootFileStore, install_loaders

pytestmark = pytest.mark.e2e

SLIRP_HOST = IPv4Address("10.0.2.2")  # slirp's TFTP server address
HTTP_IP = "10.0.2.100"  # guest-side address forwarded to our loopback HTTP server
BOOT_TIMEOUT = 180.0
FAILURES = ("Kernel panic", "No bootable device", "Failed to load OS", "error: file")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
ENTRIES = """\
entries:
  plain:
    kind: linux
    kernel: vmlinuz
    initrds: [initrd.gz]
    args: console=ttyS0 quiet pxetui.entry={entry} pxetui.host={hostname} pxetui.mac={mac_hyp}
  m:
    kind: menu
    items: [local, plain]
    default: plain
    timeout: 1
"""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def served_root(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A TFTP root, also served over HTTP on 127.0.0.1 (stopped on teardown)."""
    root = tmp_path / "root"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _publish(root: Path, profile_yaml: str, files: dict[str, Path]) -> None:
    """Copy the guest, install the loaders, render the profile and store every file."""
    for name, src in files.items():
        shutil.copyfile(src, root / name)
    install_loaders(root)
    profile = load_profile_text(profile_yaml, "firmware.yaml", base_dir=root)
    ctx = RenderContext(server=SLIRP_HOST, http_base=f"http://{HTTP_IP}")
    store = BootFileStore(root)
    store.write_defaults(render_defaults(profile, ctx))
    for mac in profile.hosts:
        store.apply(mac, render_host(profile, ctx, mac))


def _netdev(root: Path, bootfile: str, port: int) -> str:
    fwd = f"guestfwd=tcp:{HTTP_IP}:80-cmd:busybox nc 127.0.0.1 {port}"
    return f"user,id=n0,restrict=on,tftp={root},bootfile={bootfile},{fwd}"


def _closed_port() -> int:
    """A loopback port nothing listens on: the guest's HTTP connections get closed at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _boot(cmd: list[str], until: str, failures: tuple[str, ...] = FAILURES) -> str:
    """Run QEMU until *until* or a failure string appears on the serial line (bounded)."""
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), False)
    raw = b""
    deadline = time.monotonic() + BOOT_TIMEOUT
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            raw += proc.stdout.read() or b""
            text = ANSI.sub("", raw.decode("latin-1"))
            if until in text or any(f in text for f in failures):
                break
            time.sleep(0.2)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    raw += proc.stdout.read() or b""
    return ANSI.sub("", raw.decode("latin-1"))


def _cmdline(serial: str) -> str:
    match = re.search(r"PXETUI-CMDLINE: (.*)", serial)
    assert match, f"the guest never printed its command line:\n{serial[-3000:]}"
    return match.group(1).strip()


def _x86(machine: str, netdev: str, mac: str, *extra: str) -> list[str]:
    return [
        "qemu-system-x86_64",
        *("-accel", "tcg", "-machine", machine, "-m", "512", "-nographic"),
        *("-serial", "stdio", "-monitor", "none", "-no-reboot"),
        *("-netdev", netdev, "-device", f"virtio-net-pci,netdev=n0,mac={mac}{extra[0]}"),
        *extra[1:],
    ]


def _amd64(files: dict[str, Path]) -> dict[str, Path]:
    return {"vmlinuz": files["vmlinuz-amd64"], "initrd.gz": files["initrd-amd64.gz"]}


def test_ipxe_rom_finds_a_host_by_its_other_nic_and_boots_the_menu_default(
    served_root: tuple[Path, int], amd64_files: dict[str, Path]
) -> None:
    """boot.ipxe tries the booting NIC, then the other NIC's script; the menu times out."""
    root, port = served_root
    hosts = "hosts:\n  52:54:00:12:34:56: {entry: m, hostname: web1, macs: [52:54:00:aa:aa:aa]}\n"
    _publish(root, ENTRIES + hosts, _amd64(amd64_files))
    cmd = _x86(
        "pc",
        _netdev(root, "boot.ipxe", port),
        "52:54:00:aa:aa:aa",
        "",
        *("-boot", "n", "-netdev", "user,id=n1,restrict=on"),
        *("-device", "virtio-net-pci,netdev=n1,mac=52:54:00:12:34:56,romfile="),
    )
    serial = _boot(cmd, "PXETUI-CMDLINE")
    assert f"http://{HTTP_IP}/ipxe/52-54-00-aa-aa-aa.ipxe... No such file" in serial
    assert f"http://{HTTP_IP}/ipxe/52-54-00-12-34-56.ipxe... ok" in serial
    assert _cmdline(serial) == (
        "console=ttyS0 quiet pxetui.entry=plain pxetui.host=web1 pxetui.mac=52-54-00-12-34-56 "
        "initrd=initrd.gz"
    )


def test_pxelinux_default_menu_times_out_to_its_default_with_bootif(
    served_root: tuple[Path, int], amd64_files: dict[str, Path]
) -> None:
    """An unknown BIOS client gets menu.c32, ONTIMEOUT boots the default, BOOTIF is added."""
    root, port = served_root
    _publish(root, ENTRIES + "unknown: m\n", _amd64(amd64_files))
    cmd = _x86("pc", _netdev(root, "pxelinux.0", port), "52:54:00:99:99:01", "", "-boot", "n")
    serial = _boot(cmd, "PXETUI-CMDLINE")
    # BOOT_IMAGE= is pxelinux's own mark on the command line: menu.c32 picked the label.
    assert _cmdline(serial) == (
        "BOOT_IMAGE=vmlinuz console=ttyS0 quiet pxetui.entry=plain pxetui.host= pxetui.mac= "
        "initrd=initrd.gz BOOTIF=01-52-54-00-99-99-01"
    )


@pytest.mark.parametrize("http_up", [True, False], ids=["http", "http-down"])
def test_grub_dispatcher_falls_back_to_default_with_the_mac_exported(
    served_root: tuple[Path, int], amd64_files: dict[str, Path], tmp_path: Path, http_up: bool
) -> None:
    """UEFI GRUB: grub.cfg derives grub.cfg-01-<mac>, misses, runs grub.cfg-default, which
    loads the kernel over GRUB's HTTP (grub.files: http, the default) — or, when nothing
    answers on the HTTP port, over TFTP from the same menu entry."""
    if not Path("/usr/lib/grub/x86_64-efi").is_dir() or shutil.which("grub-mknetdir") is None:
        pytest.fail("grub-efi-amd64-bin / grub-common missing: run `sudo bash .ci/setup`")
    root, port = served_root
    net = tmp_path / "grubnet"
    subprocess.run(
        ["grub-mknetdir", f"--net-directory={net}", "--subdir=grub"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    shutil.copytree(net / "grub", root / "grub")
    _publish(root, ENTRIES + "unknown: plain\n", _amd64(amd64_files))
    variables = tmp_path / "OVMF_VARS.fd"
    shutil.copyfile("/usr/share/OVMF/OVMF_VARS_4M.fd", variables)
    cmd = _x86(
        "q35",
        _netdev(root, "grub/x86_64-efi/core.efi", port if http_up else _closed_port()),
        "52:54:00:99:99:02",
        ",bootindex=1,romfile=",
        "-drive",
        "if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd",
        "-drive",
        f"if=pflash,format=raw,file={variables}",
    )
    # With HTTP down GRUB prints its error for the HTTP load, then takes the else branch.
    failures = FAILURES if http_up else tuple(f for f in FAILURES if f != "error: file")
    serial = _boot(cmd, "PXETUI-CMDLINE", failures)
    assert "loads (tftp,10.0.2.2)/grub/grub.cfg-01-52-54-00-99-99-02" in serial
    device = f"(http,{HTTP_IP})" if http_up else "(tftp,10.0.2.2)"
    assert _cmdline(serial) == (
        f"BOOT_IMAGE={device}/vmlinuz console=ttyS0 quiet pxetui.entry=plain "
        "pxetui.host= pxetui.mac=52-54-00-99-99-02"
    )


def test_s390_ccw_boots_the_file_form_with_bootif(
    served_root: tuple[Path, int], s390x_files: dict[str, Path]
) -> None:
    """The firmware fetches s390x/01-<mac>, parses the `# pxelinux` form, adds nothing."""
    root, port = served_root
    mac = MacAddress.parse("52:54:00:e2:e3:90")
    profile = (
        "entries:\n  z:\n    kind: linux\n    arch: s390x\n    kernel: vmlinuz\n"
        "    initrds: [initrd.gz]\n    args: quiet pxetui.host={hostname}\n"
        f"hosts:\n  {mac}: {{entry: z, arch: s390x, hostname: zvm1}}\n"
    )
    files = {"vmlinuz": s390x_files["vmlinuz-s390x"], "initrd.gz": s390x_files["initrd-s390x.gz"]}
    _publish(root, profile, files)
    cmd = [
        "qemu-system-s390x",
        *("-machine", "s390-ccw-virtio", "-m", "512", "-nographic", "-no-reboot"),
        *("-netdev", _netdev(root, f"s390x/{mac.pxelinux}", port)),
        *("-device", f"virtio-net-ccw,netdev=n0,mac={mac},bootindex=1"),
    ]
    serial = _boot(cmd, "PXETUI-CMDLINE")
    assert f"Received s390x/{mac.pxelinux}" in serial
    assert _cmdline(serial) == f"quiet pxetui.host=zvm1 BOOTIF={mac.pxelinux}"


def test_ipxe_known_host_whose_entry_fails_does_not_boot_the_unknown_default(
    served_root: tuple[Path, int], amd64_files: dict[str, Path]
) -> None:
    """A found-but-failing per-MAC script stops; boot.ipxe does not fall to default.ipxe."""
    root, port = served_root
    profile = (
        ENTRIES
        + "  broken: {kind: linux, kernel: missing/vmlinuz}\n"
        + "hosts:\n  52:54:00:12:34:57: {entry: broken}\nunknown: plain\n"
    )
    _publish(root, profile, _amd64(amd64_files))
    cmd = _x86("pc", _netdev(root, "boot.ipxe", port), "52:54:00:12:34:57", "", "-boot", "n")
    serial = _boot(cmd, "No bootable device")
    assert "pxetui: entry broken could not boot" in serial
    assert "default.ipxe" not in serial
    assert "PXETUI-CMDLINE" not in serial
