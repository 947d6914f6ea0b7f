"""Real dracut live boots: firmware → kernel + a real dracut 059 initrd → livenet fetches the
live image over pxetui's HTTP → dmsquash-live mounts it → the live root's own /sbin/init runs.

The initrd is built from Debian's dracut packages (:mod:`pxetui.lab.dracut`, cached under
``/var/cache/pxetui-dracut``); the live images are tiny busybox roots whose init prints
``PXETUI-LIVE-ROOT layout=…`` and the root mount, then powers off. The entries carry no
dracut arguments of their own: ``rd.live.overlay.overlayfs=1`` is what pxetui renders, so a
boot here proves the rendered arguments right for that layout. ``ip=dhcp rd.neednet=1`` are
absent too: livenet brings the network up for an ``http`` root by itself.

Boots (one VM run each, proxyDHCP behind the LAN's DHCP server, iPXE fetching over HTTP):
BIOS with a squashfs holding the root tree and one holding ``LiveOS/rootfs.img``; BIOS with
an Azure-Linux-layout ISO put in place by ``pxetui import`` (the ISO layout, and the import
path end to end); UEFI (OVMF, EDK2's PXE → ipxe.efi) with each of the three layouts. The other
import layouts (Fedora LiveOS, Debian live) are imported and checked without a boot.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest
import yaml

from pxetui.core.live import OVERLAYFS_ARG
from pxetui.core.profile.audit import profile_problems
from pxetui.core.profile.loader import load_profile
from pxetui.lab.boot_run import start_pxetui_for
from pxetui.lab.dracut import (
    LIVE_MARKER,
    IsoKind,
    LiveInitrd,
    LiveLayout,
    build_import_iso,
    build_live_initrd,
    build_live_root,
)
from pxetui.lab.lan import start_lan_dhcp
from pxetui.lab.netns import create_lab_network, remove_stale
from pxetui.lab.process import LabProcess
from pxetui.lab.pxetui_server import pxetui_argv
from pxetui.lab.qemu import FAILURES, Firmware
from pxetui.lab.scenarios import BIOS_MAC, Scenario
from pxetui.lab.tree import prepare_lab_dir
from tests.e2e.stories import Story, boots

pytestmark = pytest.mark.e2e

PREFIX = "pxlv-"
SERVER = "http://10.250.77.1:8080"
DRACUT_FAILURES = (
    *FAILURES,
    "Entering emergency mode",
    "dracut: FATAL",
    "failed to resolve",
    "Boot has failed",
)
"""dracut's ways of giving up; with ``rd.shell=0`` it never sits in an emergency shell."""
BOOT_TIMEOUT = 240.0
"""TCG on two shared cores: kernel + dracut take 35-70 s here; a hang ends at this bound."""
ARGS = "console=ttyS0,115200 no_timer_check panic=-1 rd.shell=0 pxetui.entry={entry}"
IMAGES: dict[str, str] = {
    "squashfs-tree": "squashfs.img",
    "squashfs-rootfs": "rootfs.sqfs",
    "iso": "live.iso",  # dracut's livenet takes a download for an ISO only by its name
}


@pytest.fixture(scope="module")
def live_initrd() -> LiveInitrd:
    if os.geteuid() != 0:
        pytest.skip("live boots need root (namespaces, tap devices, dracut's mount namespace)")
    for tool in ("qemu-system-x86_64", "dnsmasq", "mksquashfs", "mkfs.ext4", "xorriso"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: run `sudo bash .ci/setup-dev`")
    remove_stale(PREFIX)
    return build_live_initrd()


@pytest.fixture
def stories() -> Iterator[list[Story]]:
    opened: list[Story] = []
    try:
        yield opened
    finally:
        for story in opened:
            story.close()


def _link(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.unlink(missing_ok=True)
    os.link(src, dest)


def open_live(
    tmp_path: Path, entry_name: str, entry: dict[str, Any], firmware: Firmware = "bios"
) -> Story:
    """An engine serving the lab profile plus *entry* (its files already under
    ``tmp_path/engine/tftp``), the MAC assigned to it, namespaces of our own."""
    scenario = Scenario(
        entry_name,
        f"dracut livenet: {entry.get('description', entry_name)}",
        firmware,
        BIOS_MAC,
        entry_name,
        overrides={"entries": {entry_name: entry}},
        timeout=BOOT_TIMEOUT,
    )
    net = create_lab_network(PREFIX, router=True)
    lan: LabProcess | None = None
    try:
        lan = start_lan_dhcp(net, tmp_path / "lan")
        run = start_pxetui_for(scenario, net, tmp_path / "engine")
    except BaseException:
        if lan is not None:
            lan.stop()
        net.teardown()
        raise
    return Story(entry_name, scenario, net, run, lan)


def live_entry(tmp_path: Path, live: LiveInitrd, layout: LiveLayout) -> dict[str, Any]:
    """Kernel, dracut initrd and a *layout* image under ``live/`` of the engine's tree."""
    root = tmp_path / "engine" / "tftp"
    _link(live.kernel, root / "live" / "vmlinuz")
    _link(live.initrd, root / "live" / "initrd.img")
    build_live_root(layout, root / "live" / IMAGES[layout])
    return {
        "description": f"dracut live root ({layout})",
        "arch": "x86",
        "kind": "live",
        "kernel": "live/vmlinuz",
        "initrds": ["live/initrd.img"],
        "image": f"live/{IMAGES[layout]}",
        "args": ARGS,
    }


async def boot_live(story: Story, layout: str, image_url: str) -> str:
    """Boot once; the live root's init must run from *image_url*, and the tracker must have
    seen the image delivered (the boot handed over); the guest's command line."""
    result = await story.boot(expect=[f"{LIVE_MARKER} layout={layout}"], failures=DRACUT_FAILURES)
    cmdline = story.assert_booted(result, f"root=live:{image_url}", OVERLAYFS_ARG)
    story.assert_serial(result, contains=["PXETUI-LIVE-MOUNT: LiveOS_rootfs / overlay"])
    for absent in ("ip=dhcp", "rd.neednet"):
        assert absent not in cmdline, cmdline
    print(f"\n{story.name}: live root's /sbin/init after {result.seconds:.1f} s (host clock)")
    image = image_url.removeprefix(SERVER + "/")

    def delivered(client: dict[str, Any]) -> None:
        """The tracker saw dracut's fetch of the image: the boot ended handed over."""
        (boot,) = boots(client, 1)
        done = {str(t["filename"]).lstrip("/") for t in boot["transfers"] if t["state"] == "done"}
        assert image in done, f"{image} not among the delivered files {sorted(done)}"
        assert boot["outcome"] == "handed_over", boot["outcome"]

    story.expect_client(delivered)
    return cmdline


@pytest.mark.parametrize("layout", ["squashfs-tree", "squashfs-rootfs"])
async def test_bios_dracut_boots_squashfs_live_root(
    layout: LiveLayout, live_initrd: LiveInitrd, stories: list[Story], tmp_path: Path
) -> None:
    """BIOS iPXE ROM → kernel + dracut → livenet → the squashfs's root (both layouts)."""
    story = open_live(tmp_path, f"live-{layout}", live_entry(tmp_path, live_initrd, layout))
    stories.append(story)
    await boot_live(story, layout, f"{SERVER}/live/{IMAGES[layout]}")


@pytest.mark.parametrize("layout", ["squashfs-tree", "squashfs-rootfs", "iso"])
async def test_uefi_dracut_boots_each_live_layout(
    layout: LiveLayout, live_initrd: LiveInitrd, stories: list[Story], tmp_path: Path
) -> None:
    """OVMF (EDK2's own PXE → ipxe.efi) → kernel + dracut → the live root, each layout."""
    entry = live_entry(tmp_path, live_initrd, layout)
    story = open_live(tmp_path, f"live-uefi-{layout}", entry, firmware="uefi")
    stories.append(story)
    await boot_live(story, layout, f"{SERVER}/live/{IMAGES[layout]}")


def pxetui_import(
    iso: Path, profile: Path, name: str, out: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        pxetui_argv(
            "import", str(iso), "--profile", str(profile), "--name", name, "--out", str(out)
        ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def imported(tmp_path: Path, live: LiveInitrd, kind: IsoKind) -> tuple[dict[str, Any], Path]:
    """Build a *kind* ISO with xorriso, ``pxetui import`` it into the lab's tree; the entry
    it wrote and the lab profile (which the import must leave untouched)."""
    iso = build_import_iso(kind, tmp_path / "isos" / f"{kind}.iso", live)
    profile = prepare_lab_dir(tmp_path / "engine", ("amd64",))
    before = profile.read_bytes()
    out = tmp_path / f"{kind}.entry.yaml"
    proc = pxetui_import(iso, profile, kind, out)
    assert proc.returncode == 0, proc.stderr
    assert profile.read_bytes() == before, "pxetui import changed the profile"
    assert "100%" in proc.stderr, f"no progress line for the big files:\n{proc.stderr}"
    assert len(proc.stderr.splitlines()) < 60, proc.stderr
    entries = yaml.safe_load(out.read_text())["entries"]
    assert list(entries) == [kind], entries
    return entries[kind], profile


async def test_imported_azure_linux_iso_boots_under_bios(
    live_initrd: LiveInitrd, stories: list[Story], tmp_path: Path
) -> None:
    """``pxetui import`` an Azure-Linux-layout ISO, add the printed entry as is, boot it:
    dracut fetches the whole ISO (``root=live:<iso url>``) and boots its LiveOS squashfs."""
    entry, _ = imported(tmp_path, live_initrd, "azure-linux")
    root = tmp_path / "engine" / "tftp"
    assert entry["kind"] == "live" and entry["image"] == "azure-linux/azure-linux.iso", entry
    assert (root / "azure-linux" / "efi" / "bootx64.efi").is_file()
    assert "pxetui.iso=azure-linux" in entry["args"], "the ISO's grub-pxe.cfg args were lost"
    story = open_live(tmp_path, "azure-linux", entry)
    stories.append(story)
    cmdline = await boot_live(story, "iso", f"{SERVER}/azure-linux/azure-linux.iso")
    assert "pxetui.iso=azure-linux" in cmdline, cmdline


@pytest.mark.parametrize("kind", ["fedora-liveos", "debian-live"])
def test_import_other_layouts_gives_entries_check_accepts(
    kind: IsoKind, live_initrd: LiveInitrd, tmp_path: Path
) -> None:
    """Fedora LiveOS (kept ISO, ``kind: live``) and Debian live (squashfs copied out,
    live-boot's ``boot=live fetch=``): files in place, and ``check`` accepts the entry."""
    entry, profile = imported(tmp_path, live_initrd, kind)
    root = tmp_path / "engine" / "tftp"
    if kind == "fedora-liveos":
        assert entry["kind"] == "live" and (root / kind / f"{kind}.iso").is_file(), entry
    else:
        assert entry["kind"] == "linux", entry
        assert f"fetch={{http}}/{kind}/filesystem.squashfs" in entry["args"], entry
        assert (root / kind / "filesystem.squashfs").is_file()
    for name in ("vmlinuz", "initrd.img"):
        assert (root / kind / name).stat().st_mode & 0o777 == 0o644, name
    data = yaml.safe_load(profile.read_text())
    data["entries"][kind] = entry
    profile.write_text(yaml.safe_dump(data, sort_keys=False))
    loaded = load_profile(profile)
    assert profile_problems(loaded, IPv4Address("10.250.77.1")) == []
