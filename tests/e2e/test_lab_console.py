"""`pxetui lab`'s console is the real console, on the lab's engine, until the operator quits.

One real lab (namespaces, ``pxetui serve``, dnsmasq, QEMU's BIOS with its iPXE ROM) driven
by keys as a new user would: the first boot shows up in the client table and reaches
``handed_over``; ``b`` boots the VM again and the client detail lists a second boot; ``n``
opens the console's assign dialog, another entry is chosen, and the VM boots that entry;
``f`` boots it again with UEFI firmware (OVMF); ``q`` quits and the lab is gone.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from textual.widgets import OptionList, Static

from pxetui.lab.netns import REGISTRY, netns_exists, netns_pids
from pxetui.lab.session import LabOptions
from pxetui.ui.lab.app import LabApp
from pxetui.ui.screens.assign import AssignScreen
from pxetui.ui.screens.client_detail import ClientDetailScreen
from pxetui.ui.widgets.client_table import ClientTable
from pxetui.ui.widgets.serial_pane import SerialPane
from tests.helpers.screen import shown_text
from tests.helpers.wait import WaitTimeout, pilot_wait_for, wait_for

pytestmark = pytest.mark.e2e

PREFIX = "pxdm-lab-"
BOOT_SECONDS = 150.0  # a TCG BIOS boot takes ~20 s; generous for a loaded CI machine


async def test_lab_console_boots_reboots_assigns_and_switches_firmware(
    amd64_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PXETUI_LAB_PREFIX", PREFIX)
    app = LabApp(LabOptions("bios", timeout=120.0))
    mac = app.options.mac

    def serial() -> str:
        return app.serial.text[-3000:]

    def row_phase() -> str:
        row = app.link.state.client(mac)
        return row.phase if row is not None else ""

    async with app.run_test(size=(200, 50)) as pilot:
        # 1. The first boot, seen by the real console attached to the lab's engine.
        await pilot_wait_for(
            pilot, lambda: app.results, BOOT_SECONDS, "the first boot", detail=serial
        )
        assert app.state == "booted", f"{app.state} {app.detail}\n{serial()}"
        assert "PXETUI-BOOTED marker=initrd-amd64" in app.serial.text
        await pilot_wait_for(
            pilot, lambda: row_phase() == "handed_over", 20, "handed_over", detail=row_phase
        )
        table = app.screen.query_one(ClientTable)
        assert table.row_count == 1
        assert mac.colon in " ".join(table.get_row_at(0))
        pane = app.screen.query_one(SerialPane)
        assert pane.border_title == f"VM {mac} serial console (bios)"
        status = shown_text(app.screen.query_one("#lab-status", Static))
        assert status.startswith("boot 1 · booted · bios"), status
        assert "lab: assigned 52:54:00:e2:e0:01 -> tiny" in pane.text

        # 2. b: the VM boots again; the detail shows a second boot of the same machine.
        await pilot.press("b")
        await pilot_wait_for(
            pilot, lambda: len(app.results) == 2, BOOT_SECONDS, "the reboot", detail=serial
        )
        assert app.results[1].outcome == "expected", serial()

        async def boots(at_least: int, what: str) -> None:
            """Until the engine's whole row (the ``client`` op: the stream's rows are
            summaries without the boot history) has *at_least* boots; bounded."""
            deadline = time.monotonic() + 20
            seen = 0
            while seen < at_least:
                row = await app.link.request("client", mac=mac.colon)
                seen = len(row.get("boots") or [])
                if seen < at_least and time.monotonic() >= deadline:
                    raise WaitTimeout(f"timed out after 20 s waiting for {what}: {seen} boots")
                await pilot.pause(0.2)

        await boots(2, "a second boot")
        await pilot_wait_for(pilot, lambda: row_phase() == "handed_over", 20, "handed_over")
        await pilot.press("enter")
        await pilot_wait_for(pilot, lambda: isinstance(app.screen, ClientDetailScreen), 5, "detail")
        box = app.screen.query_one("#detail-boots", Static)
        await pilot_wait_for(
            pilot,
            lambda: shown_text(box).count("tiny") >= 2,
            10,
            "two boots of 'tiny' in the detail",
            detail=lambda: shown_text(box),
        )
        await pilot.press("escape")
        await pilot_wait_for(pilot, lambda: app.screen is app.lab_screen, 5, "back to the lab")

        # 3. n: the console's assign dialog for the VM; another entry; the VM boots it.
        await pilot.press("n")
        await pilot_wait_for(pilot, lambda: isinstance(app.screen, AssignScreen), 5, "assign")
        entries = app.screen.query_one("#assign-entries", OptionList)
        ids = [entries.get_option_at_index(i).id for i in range(entries.option_count)]
        entries.highlighted = ids.index("centos-serial")
        await pilot.press("enter")
        await pilot_wait_for(
            pilot,
            lambda: len(app.results) == 3,
            BOOT_SECONDS,
            "the centos-serial boot",
            detail=serial,
        )
        assert app.results[2].outcome == "expected", serial()
        assert "pxetui.entry=centos-serial" in app.results[2].text
        assert "inst.text" in app.results[2].text
        assigned = app.link.state.assignments.get(mac.colon) or {}
        assert assigned.get("entry") == "centos-serial"
        assert app.booted

        # 4. f: the same VM with UEFI firmware (OVMF's own PXE), the entry it has now.
        await pilot.press("f")
        await pilot_wait_for(
            pilot, lambda: len(app.results) == 4, BOOT_SECONDS, "the UEFI boot", detail=serial
        )
        uefi = app.results[3]
        assert uefi.outcome == "expected", serial()
        assert "Start PXE over IPv4" in uefi.text
        assert "pxetui.entry=centos-serial" in uefi.text
        assert pane.border_title == f"VM {mac} serial console (uefi)"
        await boots(4, "a fourth boot")
        row = app.link.state.client(mac)
        assert row is not None and "uefi" in row.arch.lower(), row
        namespaces = app.session.net.namespaces if app.session.net else ()
        assert namespaces and all(netns_exists(n) for n in namespaces)
        await pilot.press("q")
    # Quitting tore the lab down: VM, engine, namespaces.
    assert all(n.startswith(PREFIX) for n in namespaces)
    assert not any(netns_exists(n) for n in namespaces)
    assert not app.session.workdir.exists()


def test_ctrl_c_in_a_real_terminal_quits_and_tears_the_lab_down(
    amd64_files: dict[str, Path], tmp_path: Path
) -> None:
    """``pxetui lab`` in a terminal (tmux): the console comes up, the VM boots, Ctrl-C quits
    and nothing of the lab is left (namespaces, engine, QEMU)."""
    if shutil.which("tmux") is None:
        pytest.fail("tmux is not installed (.ci/setup-dev installs it)")
    prefix = "pxdm-tui-"
    tmux = ["tmux", "-S", str(tmp_path / "tmux.sock")]
    lab = ["env", f"PXETUI_LAB_PREFIX={prefix}", sys.executable, "-m", "pxetui", "lab"]

    def pane() -> str:
        return subprocess.run(
            [*tmux, "capture-pane", "-p", "-t", "lab"], capture_output=True, text=True, timeout=10
        ).stdout

    def session_alive() -> bool:
        return (
            subprocess.run([*tmux, "has-session", "-t", "lab"], capture_output=True).returncode == 0
        )

    subprocess.run(
        [*tmux, "new-session", "-d", "-s", "lab", "-x", "160", "-y", "45", "--", *lab],
        check=True,
        timeout=10,
    )
    try:
        wait_for(lambda: "booted" in pane(), BOOT_SECONDS, "the lab's first boot", pane)
        screen = pane()
        assert "Reboot VM" in screen and "Progress" in screen, screen  # lab keys, the table
        names = sorted(p.name for p in REGISTRY.iterdir() if p.name.startswith(prefix))
        assert names and all(netns_exists(n) for n in names), names
        pids = [pid for n in names for pid in netns_pids(n)]
        assert pids, "nothing runs in the lab's namespaces"
        subprocess.run([*tmux, "send-keys", "-t", "lab", "C-c"], check=True, timeout=10)
        wait_for(lambda: not session_alive(), 60, "pxetui lab to exit after Ctrl-C", pane)
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True, timeout=10)
    assert not any(netns_exists(n) for n in names)
    assert not any((REGISTRY / n).exists() for n in names)
    assert not [pid for pid in pids if psutil.pid_exists(pid)]
