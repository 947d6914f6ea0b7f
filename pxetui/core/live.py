"""Live images for dracut's ``root=live:``: which layout an image has, and what dracut needs.

dracut's livenet fetches the image named by ``root=live:<url>`` and dmsquash-live mounts it.
Three layouts boot (each proven with a real dracut 059 initrd in
``tests/e2e/test_live_dracut.py``):

- a squashfs holding the root tree directly (``/usr``, ``/sbin``…: the modern layout);
- a squashfs holding ``LiveOS/rootfs.img`` (an ext4 image: the classic layout);
- a LiveOS ISO holding ``<rd.live.dir>/<rd.live.squashimg>`` (``LiveOS/squashfs.img`` by
  default), itself in one of the two layouts above.

pxetui renders ``root=live:<url> rd.live.image rd.live.overlay.overlayfs=1`` for every live
entry: dracut 059 fails the tree layout without the overlayfs argument (``overlayfs: failed
to resolve '/run/overlayfs'``), and the classic layout boots with it as well (a tmpfs overlay
instead of a device-mapper snapshot). ``ip=dhcp rd.neednet=1`` are not needed: livenet
brings the network up for an ``http`` root by itself.

:func:`inspect_live_image` reads the image (squashfs superblock and directories, the ISO's
directory through pycdlib — bounded reads, no mount) so ``pxetui check`` can say exactly
what is wrong with an image, or which argument the entry must add or drop.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from pxetui.core.iso_read import IsoReadError, find_file, open_iso
from pxetui.core.squashfs import SquashfsError, SquashfsImage, UnreadableCompression, names

OVERLAYFS_ARG = "rd.live.overlay.overlayfs=1"
LIVE_ARGS = ("rd.live.image", OVERLAYFS_ARG)
"""What pxetui renders after ``root=live:<url>`` for every live entry."""
DEFAULT_DIR = "LiveOS"
DEFAULT_SQUASHIMG = "squashfs.img"
CLASSIC_NAMES = ("rootfs.img", "ext3fs.img")
"""The image dmsquash-live looks for inside a squashfs's ``LiveOS/`` (classic layout)."""
TREE_MARKS = ("usr", "sbin", "etc", "bin")
ISO_SQUASHFS_CANDIDATES = (
    ("LiveOS", "squashfs.img"),
    ("live", "filesystem.squashfs"),
    ("casper", "filesystem.squashfs"),
)
"""Where LiveOS, Debian live and Ubuntu ISOs keep their squashfs."""
ISO_MAGIC_OFFSET = 0x8001

RootLayout = Literal["tree", "rootfs-img", "unknown"]
"""``unknown``: a valid squashfs whose compressor (zstd, lzo, lz4) this reader cannot list;
the rendered arguments boot either layout, so nothing is refused for it."""


class LiveImageError(ValueError):
    """The image is not one dracut can boot as a live root; the text says what was seen."""


@dataclass(frozen=True, slots=True)
class LiveImage:
    """What :func:`inspect_live_image` found."""

    container: Literal["squashfs", "iso"]
    root: RootLayout
    squashfs: str = ""
    """For an ISO: the path of the squashfs inside it (``LiveOS/squashfs.img``)."""

    def describe(self) -> str:
        inner = {"tree": "a root tree", "rootfs-img": "LiveOS/rootfs.img"}.get(
            self.root, "a root whose layout could not be read"
        )
        if self.container == "iso":
            return f"ISO whose {self.squashfs} holds {inner}"
        return f"squashfs holding {inner}"


def cmdline_args(args: str) -> dict[str, str]:
    """``key=value`` (and bare ``key``) arguments of a command line; the last one wins."""
    out: dict[str, str] = {}
    try:
        words = shlex.split(args)
    except ValueError:
        words = args.split()
    for word in words:
        key, _, value = word.partition("=")
        out[key] = value
    return out


def squashfs_root(img: SquashfsImage) -> RootLayout:
    """The layout of a squashfs's content, or :class:`LiveImageError` saying what is there."""
    top = names(img.listdir("/"))
    if "LiveOS" in top:
        inside = names(img.listdir("LiveOS"))
        if any(n in inside for n in CLASSIC_NAMES):
            return "rootfs-img"
    if any(n in top for n in TREE_MARKS):
        return "tree"
    shown = ", ".join(sorted(top)[:8]) or "nothing"
    raise LiveImageError(
        "squashfs holds neither a root tree (/usr, /sbin, /etc) nor LiveOS/rootfs.img "
        f"(its top level: {shown})"
    )


def _squashfs_at(fh: BinaryIO, base: int, what: str) -> RootLayout:
    try:
        return squashfs_root(SquashfsImage(fh, base))
    except UnreadableCompression:
        return "unknown"
    except SquashfsError as exc:
        raise LiveImageError(f"{what}: {exc}") from exc


def _iso_squashfs(path: Path, live_dir: str, squashimg: str) -> LiveImage:
    try:
        with open_iso(path) as iso:
            wanted = f"{live_dir}/{squashimg}"
            found = find_file(iso, wanted)
            if found is None:
                others = [
                    f"{d}/{n}" for d, n in ISO_SQUASHFS_CANDIDATES if find_file(iso, f"{d}/{n}")
                ]
                if others:
                    d, _, n = others[0].partition("/")
                    raise LiveImageError(
                        f"ISO has no {wanted} but has {others[0]}: set "
                        f"rd.live.dir={d} rd.live.squashimg={n} in args"
                    )
                raise LiveImageError(
                    f"ISO has no {wanted} (looked for "
                    + ", ".join(f"{d}/{n}" for d, n in ISO_SQUASHFS_CANDIDATES)
                    + "): not a LiveOS ISO"
                )
    except IsoReadError as exc:
        raise LiveImageError(str(exc)) from exc
    offset, _size = found
    with path.open("rb") as fh:
        root = _squashfs_at(fh, offset, f"{wanted} in the ISO")
    return LiveImage("iso", root, wanted)


def inspect_live_image(path: Path, args: str = "") -> LiveImage:
    """The layout of the live image at *path*; *args* are the entry's kernel arguments
    (``rd.live.dir`` / ``rd.live.squashimg`` change where dracut looks inside an ISO)."""
    with path.open("rb") as fh:
        head = fh.read(4)
        fh.seek(ISO_MAGIC_OFFSET)
        iso_magic = fh.read(5)
        if head == b"hsqs":
            return LiveImage("squashfs", _squashfs_at(fh, 0, "squashfs"))
    if iso_magic == b"CD001":
        given = cmdline_args(args)
        live_dir = given.get("rd.live.dir") or DEFAULT_DIR
        squashimg = given.get("rd.live.squashimg") or DEFAULT_SQUASHIMG
        return _iso_squashfs(path, live_dir.strip("/"), squashimg)
    raise LiveImageError(
        "neither a squashfs ('hsqs' at byte 0) nor an ISO9660 image ('CD001' at 0x8001)"
    )


def live_problems(image: LiveImage, args: str, name: str = "") -> list[str]:
    """What the entry's own *args* (and the image's file *name*) get wrong for *image*;
    pxetui renders the rest.

    livenet decides by the downloaded file's name: only one ending in ``.iso`` is set up as
    an ISO (``losetup``); any other is handed to dmsquash-live as the image itself, so an
    ISO named ``live.img`` would be mounted as the root filesystem and never boot.
    """
    given = cmdline_args(args)
    problems: list[str] = []
    if image.container == "iso" and name and not name.lower().endswith(".iso"):
        problems.append(
            f"{name} is an ISO, but dracut's livenet treats a download as an ISO only when "
            "its name ends in .iso: rename it (and the entry's image) to end in .iso"
        )
    overlay = given.get("rd.live.overlay.overlayfs")
    if image.root == "tree" and overlay is not None and overlay not in ("1", "yes", ""):
        problems.append(
            f"the image ({image.describe()}) needs {OVERLAYFS_ARG} (pxetui renders "
            f"it); remove rd.live.overlay.overlayfs={overlay} from args"
        )
    return problems
