"""The console against a real engine (`pxetui serve --profile` as its own process, loopback).

Assigning from the console writes the boot files to disk; a real TFTP fetch (tftpy client)
shows up in the client's log and as a finished transfer; a dnsmasq that dies shows on the
service bar, and so does its restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import tftpy

from pxetui.core import layout
from pxetui.core.mac import MacAddress
from pxetui.engine.control.client import ControlClient
from pxetui.ui.app import PxeConsole
from pxetui.ui.connection import EngineLink
from pxetui.ui.screens.assign import AssignScreen
from pxetui.ui.widgets.client_log import TransferBar, TransferLabel
from pxetui.ui.widgets.client_table import ClientTable
from pxetui.ui.widgets.line_log import LineLog
from pxetui.ui.widgets.service_bar import ServiceBadge
from tests.helpers.engine import start_serve
from tests.helpers.ports import free_port
from tests.helpers.profiles import (
    CENTOS_ENTRY,
    CENTOS_FILES,
    loopback_profile,
    write_loopback_profile,
)
from tests.ui.conftest import wait_for

ROOT = Path(__file__).resolve().parents[2]
_ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")
MAC = MacAddress.parse("52:54:00:fe:05:01")



@dataclass
class RealEngine:
    root: Path
    socket_path: Path
    tftp_port: int
    process: subprocess.Popen[bytes]


def _start(tmp_path: Path, mode: str, interface: str) -> Iterator[RealEngine]:
    tftp_port, http_port = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_STREAM)
    text = loopback_profile(
        "ui-test",
        tftp_port=tftp_port,
        http_port=http_port,
        dhcp=mode,
        interface=interface,
        subnet="127.0.0.0/8",
        entries=CENTOS_ENTRY,
    )
    profile = write_loopback_profile(tmp_path, text, CENTOS_FILES)
    served = start_serve(profile)
    try:
        yield RealEngine(tmp_path / "tftp", served.socket_path, tftp_port, served.process)
    finally:
        served.stop()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[RealEngine]:
    yield from _start(tmp_path, "off", "lo")


@pytest.fixture
def engine_with_dnsmasq(tmp_path: Path) -> Iterator[RealEngine]:
    if os.geteuid() != 0:
        pytest.skip("dnsmasq needs root to bind the DHCP ports (CI runs as root)")
    yield from _start(tmp_path, "proxy", "lo")


async def _assign_typed_mac(pilot: object, app: PxeConsole) -> None:
    """Open the dialog, type the MAC, wait for the preview, apply with Ctrl+S."""
    await pilot.press("a")  # type: ignore[attr-defined]
    await wait_for(pilot, lambda: isinstance(app.screen, AssignScreen))  # type: ignore[arg-type]
    app.screen.query_one("#assign-mac").value = MAC.colon  # type: ignore[attr-defined]
    preview = app.screen.query_one("#assign-preview")
    await wait_for(
        pilot,  # type: ignore[arg-type]
        lambda: layout.pxelinux_config(MAC) in str(preview.render()),
    )
    assert "new file" in str(preview.render())
    assert "images/vmlinuz" in str(preview.render())
    await pilot.press("ctrl+s")  # type: ignore[attr-defined]


async def test_assigning_from_the_console_writes_the_boot_files(engine: RealEngine) -> None:
    """Typed MAC + entry + apply: the per-MAC pxelinux and iPXE files are on disk."""
    app = PxeConsole(EngineLink(engine.socket_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.link.connected)
        await wait_for(pilot, lambda: "centos" in app.link.state.entries)
        await _assign_typed_mac(pilot, app)
        pxelinux = engine.root / layout.pxelinux_config(MAC)
        ipxe = engine.root / layout.ipxe_script(MAC)
        await wait_for(pilot, lambda: pxelinux.exists() and ipxe.exists(), timeout=15)
        assert "images/vmlinuz" in pxelinux.read_text()
        assert "images/vmlinuz" in ipxe.read_text()
        await wait_for(pilot, lambda: MAC.colon in app.link.state.assignments)
        assert app.link.state.assignments[MAC.colon]["entry"] == "centos"


async def test_a_real_tftp_fetch_shows_in_the_clients_log_and_progress(
    engine: RealEngine, tmp_path: Path
) -> None:
    """tftpy fetches the per-MAC config and the kernel; the console shows both, done."""
    app = PxeConsole(EngineLink(engine.socket_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: "centos" in app.link.state.entries)
        await _assign_typed_mac(pilot, app)
        await wait_for(pilot, lambda: (engine.root / layout.pxelinux_config(MAC)).exists())

        def fetch() -> None:
            client = tftpy.TftpClient("127.0.0.1", engine.tftp_port)
            client.download(layout.pxelinux_config(MAC), str(tmp_path / "cfg"), timeout=5)
            client.download("images/vmlinuz", str(tmp_path / "kernel"), timeout=5)

        await asyncio.wait_for(asyncio.to_thread(fetch), 60)
        assert (tmp_path / "kernel").stat().st_size == 300_000
        table = app.screen.query_one(ClientTable)
        await wait_for(pilot, lambda: MAC in table.states, timeout=15)
        table.focus()
        table.cursor_row = table._index[MAC]
        lines = app.screen.query_one("#client-lines", LineLog)
        await wait_for(
            pilot, lambda: any("ok images/vmlinuz" in s for s in lines.plain_lines), timeout=15
        )
        assert any(layout.pxelinux_config(MAC) in s for s in lines.plain_lines)
        bars = [b for b in app.screen.query(TransferBar) if b.display]
        await wait_for(
            pilot,
            lambda: any(
                "images/vmlinuz" in b.query_one(TransferLabel).text.plain
                and b.has_class("-finished")
                for b in app.screen.query(TransferBar)
                if b.display
            ),
        )
        assert bars
        assert table.get_row_at(table._index[MAC])[7].endswith("100%")


async def test_a_dying_dnsmasq_shows_on_the_service_bar(engine_with_dnsmasq: RealEngine) -> None:
    """Kill the engine's dnsmasq: the DHCP badge counts the restart, the log says why."""
    app = PxeConsole(EngineLink(engine_with_dnsmasq.socket_path))
    async with app.run_test(size=(80, 24)) as pilot:
        badge = app.screen.query_one("#service-dhcp", ServiceBadge)
        await wait_for(pilot, lambda: badge.has_class("-running") and badge.data.get("pid"))
        assert "DHCP ok" in str(badge.render())
        pid = int(badge.data["pid"])
        os.kill(pid, signal.SIGKILL)
        # The engine restarts it after a short back-off; the badge keeps the count.
        await wait_for(
            pilot,
            lambda: badge.data.get("pid") not in (None, pid) and badge.has_class("-running"),
            timeout=20,
        )
        assert "r1" in str(badge.render())
        events = app.screen.query_one("#event-log", LineLog)
        await wait_for(
            pilot,
            lambda: any(
                "dhcp restarting" in line and "SIGKILL" in line for line in events.plain_lines
            ),
        )


async def test_the_browser_view_runs_the_console_over_a_websocket(engine: RealEngine) -> None:
    """`pxetui web`: the page loads and the websocket streams a console attached to it."""
    port = free_port(socket.SOCK_STREAM)
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pxetui",
            "web",
            "--socket",
            str(engine.socket_path),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        async with aiohttp.ClientSession() as session:
            page = ""
            for _ in range(100):  # bounded: ~10 s for the server to listen
                try:
                    async with session.get(f"http://127.0.0.1:{port}/") as response:
                        page = await response.text()
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            assert "/ws" in page
            async with session.ws_connect(f"ws://127.0.0.1:{port}/ws") as ws:
                await ws.send_json(["resize", {"width": 100, "height": 30}])
                screen = b""
                deadline = time.monotonic() + 30
                while "engine ✓".encode() not in _ANSI.sub(b"", screen):
                    assert time.monotonic() < deadline, screen[-500:]
                    message = await ws.receive(timeout=30)
                    if message.type == aiohttp.WSMsgType.BINARY:
                        screen += message.data
                    elif message.type != aiohttp.WSMsgType.TEXT:
                        raise AssertionError(f"websocket closed: {message.type}")
                assert b"DHCP off" in _ANSI.sub(b"", screen)
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(15)


async def test_the_all_events_log_starts_with_what_happened_before_attaching(
    engine: RealEngine, tmp_path: Path
) -> None:
    """An assignment and a TFTP miss from before the console are in its log, then live lines."""
    async with ControlClient(engine.socket_path) as early:
        await early.request("assign", mac=MAC.colon, entry="centos")

    def miss(name: str) -> None:
        with contextlib.suppress(tftpy.TftpException):
            tftpy.TftpClient("127.0.0.1", engine.tftp_port).download(
                name, str(tmp_path / "x"), timeout=5
            )

    await asyncio.wait_for(asyncio.to_thread(miss, "images/before"), 60)
    app = PxeConsole(EngineLink(engine.socket_path))
    async with app.run_test(size=(120, 40)) as pilot:
        log = app.screen.query_one("#event-log", LineLog)
        await wait_for(pilot, lambda: "— live —" in log.plain_lines)
        lines = log.plain_lines
        assert lines[0] == "— before this console attached —"
        before = lines[: lines.index("— live —")]
        assert any("SVC" in s and "tftp running 127.0.0.1" in s for s in before)
        # ... naming who assigned it: the kernel's word for this test's own user.
        who = f"{pwd.getpwuid(os.getuid()).pw_name} (uid {os.getuid()})"
        assert any(f"ASSIGN {MAC.colon} -> centos (operator by {who})" in s for s in before)
        assert any("miss images/before" in s for s in before)
        assert any("serving profile 'ui-test'" in s for s in before)
        await asyncio.wait_for(asyncio.to_thread(miss, "images/after"), 60)
        await wait_for(pilot, lambda: any("miss images/after" in s for s in log.plain_lines))
        after = log.plain_lines[log.plain_lines.index("— live —") :]
        assert any("miss images/after" in s for s in after)
        assert sum("miss images/before" in s for s in log.plain_lines) == 1


async def test_after_an_engine_restart_the_log_adds_only_the_new_engines_events(
    engine: RealEngine, tmp_path: Path
) -> None:
    """SIGTERM and start again: the console re-attaches, old lines stay once, new ones follow."""
    app = PxeConsole(EngineLink(engine.socket_path))
    async with app.run_test(size=(120, 40)) as pilot:
        log = app.screen.query_one("#event-log", LineLog)
        await wait_for(pilot, lambda: "— live —" in log.plain_lines)
        engine.process.send_signal(signal.SIGTERM)
        await asyncio.to_thread(engine.process.wait, 15)
        await wait_for(pilot, lambda: not app.link.connected)
        with (tmp_path / "engine-2.log").open("wb") as out:
            again = subprocess.Popen(
                [sys.executable, "-m", "pxetui", "serve", "--profile", str(tmp_path / "lab.yaml")],
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            await wait_for(
                pilot, lambda: any(s.startswith("— re-attached") for s in log.plain_lines), 30
            )
            lines = log.plain_lines
            assert lines[0] == "— before this console attached —"
            assert sum("serving profile 'ui-test'" in s for s in lines) == 2  # one per engine
            rejoined = next(i for i, s in enumerate(lines) if s.startswith("— re-attached"))
            assert any("serving profile 'ui-test'" in s for s in lines[rejoined:])
            assert any("serving profile 'ui-test'" in s for s in lines[:rejoined])
            assert lines[rejoined + 1 :].count("— live —") == 1
        finally:
            again.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(again.wait, 15)
            except subprocess.TimeoutExpired:
                again.kill()
                await asyncio.to_thread(again.wait, 5)
