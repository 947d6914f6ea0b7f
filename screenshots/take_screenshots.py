"""Retake the console screenshots from a real session: `pxetui serve` on loopback, tftpy fetches.

Run as root in a private network namespace, so its dnsmasq (proxy mode on ``lo``) never meets
anyone else's::

    unshare --net python3 screenshots/take_screenshots.py [--out screenshots] [names…]

Before the console attaches: two operator assignments, three clients fetching their per-MAC
configs, kernels and initrds (one one-shot flips to local), a miss. After it attached: the
one-shot client reads its now local-boot config, so the all-events log shows both its past
and its live part. Each screen is saved as SVG by Textual and converted with
``rsvg-convert``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tftpy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pxetui.core import layout  # noqa: E402
from pxetui.core.mac import MacAddress  # noqa: E402
from pxetui.engine.control.client import ControlClient  # noqa: E402
from pxetui.ui.app import PxeConsole  # noqa: E402
from pxetui.ui.connection import EngineLink  # noqa: E402
from pxetui.ui.widgets.client_table import ClientTable  # noqa: E402
from pxetui.ui.widgets.line_log import LineLog  # noqa: E402

PROFILE = """\
name: lab
network:
  interface: lo
  server: 127.0.0.1
  dhcp:
    mode: proxy
    subnet: 127.0.0.0/8
tftp:
  root: tftp
  port: {tftp}
  bind: 127.0.0.1
http:
  port: {http}
  bind: 127.0.0.1
state_dir: state
unknown: local
entries:
  tiny:
    kind: linux
    description: Debian kernel + busybox initrd
    kernel: lab/vmlinuz-amd64
    initrds: [lab/initrd-amd64.gz]
    args: console=ttyS0,115200 panic=-1 quiet
  centos-serial:
    kind: centos
    description: serial CentOS 8 install
    kernel: centos8/vmlinuz
    initrds: [centos8/initrd.img]
    repo: http://10.250.77.1:8080/centos8
  diskless:
    kind: live
    description: dracut livenet squashfs over HTTP
    kernel: lab/vmlinuz-amd64
    initrds: [lab/initrd-amd64.gz]
    image: lab/root.squashfs
hosts:
  "52:54:00:e2:e0:01":
    entry: tiny
    hostname: lab-bios
"""
FILES = [
    ("lab/vmlinuz-amd64", 2_400_000),
    ("lab/initrd-amd64.gz", 900_000),
    ("lab/root.squashfs", 4_096),
    ("centos8/vmlinuz", 1_200_000),
    ("centos8/initrd.img", 3_000_000),
]
M1, M2, M3 = (MacAddress.parse(f"52:54:00:e2:e0:0{i}") for i in (1, 2, 3))


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fetch(port: int, work: Path, names: list[str]) -> None:
    """Download each name (a miss is part of the story, so errors are expected)."""
    client = tftpy.TftpClient("127.0.0.1", port)
    for name in names:
        with contextlib.suppress(tftpy.TftpException, OSError):
            client.download(name, str(work / "download"), timeout=3)


class Shooter:
    def __init__(self, out: Path, wanted: set[str]) -> None:
        self.out = out
        self.wanted = wanted
        self.taken: list[Path] = []

    def __call__(self, app: PxeConsole, name: str) -> None:
        if self.wanted and name not in self.wanted:
            return
        svg = self.out / f"{name}.svg"
        app.save_screenshot(str(svg))
        png = self.out / f"{name}.png"
        subprocess.run(["rsvg-convert", str(svg), "-o", str(png)], check=True)
        svg.unlink()
        self.taken.append(png)


async def wait(pilot: Any, condition: Callable[[], object], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await pilot.pause(0.05)
    raise SystemExit(f"timed out waiting for {condition}")


async def attach(app: PxeConsole, pilot: Any) -> None:
    """Until the table has the three clients and the event log its past."""
    table = app.screen.query_one(ClientTable)
    log = app.screen.query_one("#event-log", LineLog)
    await wait(pilot, lambda: len(table.states) >= 3 and "— live —" in log.plain_lines)
    await pilot.pause(1.0)
    table.cursor_row = table._index[M2]
    await pilot.pause(0.5)


async def session(work: Path, port: int, size: tuple[int, int], shoot: Shooter) -> None:
    prefix = f"{size[0]}x{size[1]}-"
    app = PxeConsole(EngineLink(work / "state" / "control.sock"), ask_on_quit=True)
    async with app.run_test(size=size) as pilot:
        await attach(app, pilot)
        # Live, after attaching: client 2 (its one-shot done) reads its now local-boot config.
        live = layout.pxelinux_config(M2)
        await asyncio.to_thread(fetch, port, work, [live])
        log = app.screen.query_one("#event-log", LineLog)

        def shown_live() -> bool:
            lines = log.plain_lines
            after = lines[lines.index("— live —") :] if "— live —" in lines else []
            return any(f"ok {live}" in line for line in after)

        await wait(pilot, shown_live)
        await pilot.pause(0.5)
        shoot(app, f"{prefix}main")
        if size[0] == 80:
            await pilot.press("a")
            await pilot.pause(0.3)
            await pilot.press("up")
            await pilot.pause(1.0)
            shoot(app, f"{prefix}assign")
            await pilot.press("escape")
            await pilot.pause(0.3)
            await pilot.press("e")
            await pilot.pause(0.8)
            shoot(app, f"{prefix}entries")
            await pilot.press("escape")
            await pilot.pause(0.3)
        else:
            await pilot.press("enter")
            await pilot.pause(1.5)
            shoot(app, f"{prefix}detail")
            await pilot.press("escape")
            await pilot.pause(0.3)
            await pilot.press("q")
            await pilot.pause(0.5)
            shoot(app, f"{prefix}quit")


async def no_colour(work: Path, shoot: Shooter) -> None:
    os.environ["NO_COLOR"] = "1"
    try:
        app = PxeConsole(EngineLink(work / "state" / "control.sock"))
        async with app.run_test(size=(80, 24)) as pilot:
            await attach(app, pilot)
            shoot(app, "80x24-no-color-main")
    finally:
        del os.environ["NO_COLOR"]


async def main(out: Path, wanted: set[str]) -> list[Path]:
    work = Path(tempfile.mkdtemp(prefix="pxetui-shots-"))
    tftp, http = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_STREAM)
    (work / "lab.yaml").write_text(PROFILE.format(tftp=tftp, http=http))
    for name, size in FILES:
        path = work / "tftp" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))
    log = (work / "engine.log").open("wb")
    engine = subprocess.Popen(
        [sys.executable, "-m", "pxetui", "serve", "--profile", str(work / "lab.yaml")],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    shoot = Shooter(out, wanted)
    try:
        sock = work / "state" / "control.sock"
        deadline = time.monotonic() + 30
        while not sock.exists():
            if engine.poll() is not None or time.monotonic() > deadline:
                raise SystemExit((work / "engine.log").read_text()[-2000:])
            time.sleep(0.1)
        async with ControlClient(sock) as control:
            await control.request("assign", mac=M2.colon, entry="centos-serial", once=True)
            await control.request("assign", mac=M3.colon, entry="diskless")
        m1 = ["pxelinux.0", layout.pxelinux_config(M1), "lab/vmlinuz-amd64", "lab/initrd-amd64.gz"]
        await asyncio.to_thread(fetch, tftp, work, m1)
        m3 = [layout.pxelinux_config(M3), "lab/vmlinuz-amd64"]
        await asyncio.to_thread(fetch, tftp, work, m3)
        m2 = [layout.pxelinux_config(M2), "centos8/vmlinuz", "centos8/initrd.img"]
        m2.append("centos8/missing.img")
        await asyncio.to_thread(fetch, tftp, work, ["pxelinux.cfg/7F000001", *m2])
        await session(work, tftp, (80, 24), shoot)
        await session(work, tftp, (120, 40), shoot)
        await no_colour(work, shoot)
    finally:
        engine.send_signal(signal.SIGTERM)
        engine.wait(15)
        log.close()
    return shoot.taken


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    parser.add_argument("names", nargs="*", help="only these (e.g. 120x40-main); default all")
    args = parser.parse_args()
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)  # a fresh namespace's lo is down
    for taken in asyncio.run(main(args.out, set(args.names))):
        print(taken)
