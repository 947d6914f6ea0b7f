"""Live images: layout detection (core/live.py), the args pxetui renders for ``kind: live``,
and what ``check`` (the one validation) says about images and unreadable files."""

from __future__ import annotations

import shutil
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from pxetui.core.live import (
    OVERLAYFS_ARG,
    LiveImage,
    LiveImageError,
    inspect_live_image,
    live_problems,
)
from pxetui.core.mac import MacAddress
from pxetui.core.profile.audit import profile_problems
from pxetui.core.profile.loader import load_profile
from pxetui.core.render import RenderContext
from pxetui.core.render.plan import KernelBoot, host_values, plan_entry
from tests.unit.live_isos import make_iso

DATA = Path(__file__).resolve().parents[1] / "data" / "live"
SERVER = IPv4Address("10.250.77.1")


def sample(name: str) -> Path:
    return DATA / name


def test_squashfs_layouts() -> None:
    assert inspect_live_image(sample("tree-gzip.sqfs")) == LiveImage("squashfs", "tree")
    assert inspect_live_image(sample("tree-xz.sqfs")) == LiveImage("squashfs", "tree")
    assert inspect_live_image(sample("classic.sqfs")) == LiveImage("squashfs", "rootfs-img")


def test_a_squashfs_that_is_no_root_says_what_it_holds() -> None:
    with pytest.raises(LiveImageError) as err:
        inspect_live_image(sample("not-a-root.sqfs"))
    assert "neither a root tree (/usr, /sbin, /etc) nor LiveOS/rootfs.img" in str(err.value)
    assert "its top level: marker.txt" in str(err.value)


def test_zstd_squashfs_is_accepted_unread() -> None:
    """A valid image the standard library cannot decompress is not refused: the rendered
    arguments boot either layout."""
    image = inspect_live_image(sample("tree-zstd.sqfs"))
    assert image == LiveImage("squashfs", "unknown")
    assert live_problems(image, "rd.live.overlay.overlayfs=0") == []
    assert "could not be read" in image.describe()


def test_neither_squashfs_nor_iso(tmp_path: Path) -> None:
    junk = tmp_path / "squashfs.img"
    junk.write_text("pxetui demo stand-in for live/squashfs.img (replace with the real file)\n")
    with pytest.raises(LiveImageError, match=r"neither a squashfs .* nor an ISO9660 image"):
        inspect_live_image(junk)


@pytest.mark.parametrize("rock_ridge", [True, False])
def test_liveos_iso_with_either_layout_inside(tmp_path: Path, rock_ridge: bool) -> None:
    tree = sample("tree-gzip.sqfs").read_bytes()
    iso = make_iso(tmp_path / "a.iso", {"LiveOS/squashfs.img": tree}, rock_ridge)
    assert inspect_live_image(iso) == LiveImage("iso", "tree", "LiveOS/squashfs.img")
    classic = sample("classic.sqfs").read_bytes()
    iso = make_iso(tmp_path / "b.iso", {"LiveOS/squashfs.img": classic}, rock_ridge)
    assert inspect_live_image(iso).root == "rootfs-img"


def test_iso_without_liveos_names_the_args_for_the_squashfs_it_has(tmp_path: Path) -> None:
    tree = sample("tree-gzip.sqfs").read_bytes()
    iso = make_iso(tmp_path / "debian.iso", {"live/filesystem.squashfs": tree})
    with pytest.raises(LiveImageError) as err:
        inspect_live_image(iso)
    assert str(err.value) == (
        "ISO has no LiveOS/squashfs.img but has live/filesystem.squashfs: "
        "set rd.live.dir=live rd.live.squashimg=filesystem.squashfs in args"
    )
    args = "quiet rd.live.dir=live rd.live.squashimg=filesystem.squashfs"
    assert inspect_live_image(iso, args).squashfs == "live/filesystem.squashfs"


def test_iso_with_no_squashfs_lists_what_was_looked_for(tmp_path: Path) -> None:
    iso = make_iso(tmp_path / "x.iso", {"boot/vmlinuz": b"k"})
    with pytest.raises(LiveImageError, match=r"ISO has no LiveOS/squashfs.img \(looked for"):
        inspect_live_image(iso)


def test_iso_whose_squashfs_is_damaged(tmp_path: Path) -> None:
    iso = make_iso(tmp_path / "x.iso", {"LiveOS/squashfs.img": b"hsqs" + b"\0" * 200})
    with pytest.raises(LiveImageError, match=r"LiveOS/squashfs.img in the ISO: squashfs"):
        inspect_live_image(iso)


def test_an_iso_must_be_named_iso_for_livenet(tmp_path: Path) -> None:
    iso = LiveImage("iso", "tree", "LiveOS/squashfs.img")
    (problem,) = live_problems(iso, "", "live.img")
    assert problem.startswith("live.img is an ISO, but dracut's livenet treats a download")
    assert live_problems(iso, "", "Live.ISO") == []
    assert live_problems(LiveImage("squashfs", "tree"), "", "squashfs.img") == []


def test_args_that_turn_overlayfs_off_are_refused_for_the_tree_layout_only() -> None:
    tree, classic = LiveImage("squashfs", "tree"), LiveImage("squashfs", "rootfs-img")
    off = "quiet rd.live.overlay.overlayfs=0"
    (problem,) = live_problems(tree, off)
    assert "needs rd.live.overlay.overlayfs=1" in problem
    assert "remove rd.live.overlay.overlayfs=0 from args" in problem
    assert live_problems(classic, off) == []
    assert live_problems(tree, "quiet") == []
    assert live_problems(tree, OVERLAYFS_ARG) == []


# --- a profile with live entries -----------------------------------------------------------


def _profile(tmp_path: Path, image: str, args: str = "quiet") -> Path:
    root = tmp_path / "tftp"
    (root / "live").mkdir(parents=True, exist_ok=True)
    for name in ("vmlinuz", "initrd.img"):
        (root / "live" / name).write_bytes(b"x")
        (root / "live" / name).chmod(0o644)
    path = tmp_path / "p.yaml"
    path.write_text(
        "name: t\n"
        "network: {interface: br0, server: 10.250.77.1, "
        "dhcp: {mode: proxy, subnet: 10.250.77.0/24}}\n"
        "tftp: {root: tftp}\nhttp: {port: 8080}\n"
        "entries:\n"
        "  diskless:\n"
        "    kind: live\n"
        "    kernel: live/vmlinuz\n"
        "    initrds: [live/initrd.img]\n"
        f"    image: {image}\n"
        f"    args: {args}\n"
        "hosts: {}\nunknown: diskless\n"
    )
    return path


def _problems(path: Path) -> list[str]:
    return profile_problems(load_profile(path), SERVER)


def test_check_accepts_a_real_live_image(tmp_path: Path) -> None:
    path = _profile(tmp_path, "live/squashfs.img")
    shutil.copyfile(sample("tree-gzip.sqfs"), tmp_path / "tftp" / "live" / "squashfs.img")
    (tmp_path / "tftp" / "live" / "squashfs.img").chmod(0o644)
    assert _problems(path) == []


def test_check_refuses_an_image_dracut_cannot_boot_naming_file_line_and_field(
    tmp_path: Path,
) -> None:
    path = _profile(tmp_path, "live/squashfs.img")
    shutil.copyfile(sample("not-a-root.sqfs"), tmp_path / "tftp" / "live" / "squashfs.img")
    (tmp_path / "tftp" / "live" / "squashfs.img").chmod(0o644)
    (problem,) = _problems(path)
    assert problem.startswith(f"{path}:10: entries.diskless.image: live/squashfs.img: ")
    assert "neither a root tree" in problem


def test_check_refuses_overlayfs_off_for_a_tree_image(tmp_path: Path) -> None:
    path = _profile(tmp_path, "live/squashfs.img", "quiet rd.live.overlay.overlayfs=0")
    shutil.copyfile(sample("tree-gzip.sqfs"), tmp_path / "tftp" / "live" / "squashfs.img")
    (tmp_path / "tftp" / "live" / "squashfs.img").chmod(0o644)
    (problem,) = _problems(path)
    assert "entries.diskless.args:" in problem and "remove rd.live.overlay" in problem


def test_check_refuses_a_0600_initrd_with_the_fix(tmp_path: Path) -> None:
    """dracut writes its initrds 0600: the servers refuse them (HTTP 403, TFTP access
    violation), so check does too, with the chmod that fixes it."""
    path = _profile(tmp_path, "live/squashfs.img")
    shutil.copyfile(sample("classic.sqfs"), tmp_path / "tftp" / "live" / "squashfs.img")
    (tmp_path / "tftp" / "live" / "squashfs.img").chmod(0o644)
    initrd = tmp_path / "tftp" / "live" / "initrd.img"
    initrd.chmod(0o600)
    (problem,) = _problems(path)
    assert "entries.diskless.initrds.0: file live/initrd.img" in problem
    assert "not world-readable" in problem
    assert problem.endswith(f"chmod 0644 {initrd.resolve()}")


def test_live_args_rendered_and_an_operator_override_kept(tmp_path: Path) -> None:
    path = _profile(tmp_path, "live/squashfs.img", "console=ttyS0")
    profile = load_profile(path)
    ctx = RenderContext.for_profile(profile)
    values = host_values(ctx, MacAddress.parse("52:54:00:00:00:01"), None)
    (boot,) = plan_entry(profile, ctx, "diskless", values).boots
    assert isinstance(boot, KernelBoot)
    assert boot.cmdline == (
        "root=live:http://10.250.77.1:8080/live/squashfs.img rd.live.image "
        "rd.live.overlay.overlayfs=1 console=ttyS0"
    )
    path = _profile(tmp_path, "live/squashfs.img", "rd.live.overlay.overlayfs=0")
    profile = load_profile(path)
    (boot,) = plan_entry(profile, ctx, "diskless", values).boots
    assert isinstance(boot, KernelBoot)
    assert boot.cmdline.count("rd.live.overlay.overlayfs") == 1, boot.cmdline
