"""Which boot files an ISO holds, by the layouts ``pxetui import`` knows, and the entry for it.

Layouts (the first that matches wins; every path is matched case-insensitively):

- **Azure Linux** (the image customizer's LiveOS ISO): ``boot/vmlinuz``, ``boot/initrd.img``,
  ``efi/boot/bootx64.efi`` (shim) and ``grubx64.efi``, ``boot/grub2/grub-pxe.cfg``;
- **Fedora/RHEL LiveOS**: ``images/pxeboot/vmlinuz``, ``images/pxeboot/initrd.img``,
  ``LiveOS/squashfs.img``;
- **Fedora/RHEL installer** (netinst, DVD): ``images/pxeboot/vmlinuz``, ``initrd.img`` and
  ``images/install.img`` without ``LiveOS/squashfs.img``;
- **Debian live**: ``live/vmlinuz*``, ``live/initrd.img*``, ``live/filesystem.squashfs``.

The LiveOS layouts boot with dracut (``kind: live``, the ISO kept whole for
``root=live:<iso url>``). An installer's entry is ``kind: linux`` with
``inst.stage2=<url>`` (``images/install.img`` and ``.treeinfo`` are copied out; packages come
from the distribution's mirrors unless ``inst.repo=`` is added). Debian live's initrd is
live-boot, not dracut: its entry is ``kind: linux`` with ``boot=live fetch=<url of
filesystem.squashfs>``, and the squashfs is copied out of the ISO. The kernel arguments of
the ISO's own GRUB/isolinux config are kept, minus what pxetui renders itself (``root=``,
``rd.live.image``, ``initrd=``…).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pxetui.core.iso_read import IsoEntry, find_entry, list_dir

MAX_CONFIG_BYTES = 256 * 1024
"""A boot menu config is read only up to this size (they are a few KiB)."""


class IsoLayoutError(ValueError):
    """No known layout matched; the text names every path that was looked for."""


@dataclass(frozen=True, slots=True)
class IsoLayout:
    name: str
    title: str
    kernel: IsoEntry
    initrd: IsoEntry
    efi: tuple[IsoEntry, ...] = ()
    squashfs: IsoEntry | None = None
    configs: tuple[IsoEntry, ...] = ()
    """Boot menu configs whose kernel arguments are carried over (first one that has any)."""
    kind: Literal["live", "installer", "debian-live"] = "live"
    """``live``: dracut, the ISO kept as the root image; ``installer``: anaconda's stage 2
    copied out; ``debian-live``: live-boot, the squashfs copied out."""
    stage2: tuple[IsoEntry, ...] = ()
    """An installer's ``images/install.img`` (and ``.treeinfo``), kept at the same paths."""


_EFI_NAMES = ("bootx64.efi", "grubx64.efi", "mmx64.efi", "bootaa64.efi", "grubaa64.efi")
_CONFIGS = (
    "boot/grub2/grub-pxe.cfg",
    "boot/grub2/grub.cfg",
    "EFI/BOOT/grub.cfg",
    "boot/grub/grub.cfg",
    "isolinux/isolinux.cfg",
    "isolinux/live.cfg",
)


def _efi(iso: Any) -> tuple[IsoEntry, ...]:
    return tuple(
        e for e in list_dir(iso, "EFI/BOOT") if not e.is_dir and e.name.lower() in _EFI_NAMES
    )


def _configs(iso: Any) -> tuple[IsoEntry, ...]:
    return tuple(e for e in (find_entry(iso, p) for p in _CONFIGS) if e is not None)


def _first(iso: Any, directory: str, pattern: str) -> IsoEntry | None:
    rx = re.compile(pattern, re.I)
    found = sorted(
        (e for e in list_dir(iso, directory) if not e.is_dir and rx.fullmatch(e.name)),
        key=lambda e: e.name,
    )
    return found[0] if found else None


LOOKED_FOR = (
    "Azure Linux: boot/vmlinuz + boot/initrd.img",
    "Fedora/RHEL LiveOS or installer: images/pxeboot/vmlinuz + images/pxeboot/initrd.img",
    "Debian live: live/vmlinuz* + live/initrd.img* + live/filesystem.squashfs",
)


def detect_layout(iso: Any) -> IsoLayout:
    """The first known layout the open pycdlib *iso* matches, or :class:`IsoLayoutError`."""
    efi, configs = _efi(iso), _configs(iso)
    kernel, initrd = find_entry(iso, "boot/vmlinuz"), find_entry(iso, "boot/initrd.img")
    if kernel and initrd:
        squash = find_entry(iso, "LiveOS/squashfs.img") or find_entry(iso, "liveos/rootfs.img")
        return IsoLayout("azure-linux", "Azure Linux LiveOS", kernel, initrd, efi, squash, configs)
    kernel = find_entry(iso, "images/pxeboot/vmlinuz")
    initrd = find_entry(iso, "images/pxeboot/initrd.img")
    if kernel and initrd:
        squash = find_entry(iso, "LiveOS/squashfs.img")
        stage2 = find_entry(iso, "images/install.img")
        if squash is None and stage2 is not None:
            treeinfo = find_entry(iso, ".treeinfo")
            kept = (stage2,) if treeinfo is None else (stage2, treeinfo)
            return IsoLayout(
                "fedora-installer",
                "Fedora/RHEL installer",
                kernel,
                initrd,
                efi,
                None,
                configs,
                kind="installer",
                stage2=kept,
            )
        return IsoLayout(
            "fedora-liveos", "Fedora/RHEL LiveOS", kernel, initrd, efi, squash, configs
        )
    kernel = _first(iso, "live", r"vmlinuz.*")
    initrd = _first(iso, "live", r"initrd.*")
    squash = find_entry(iso, "live/filesystem.squashfs")
    if kernel and initrd and squash:
        return IsoLayout(
            "debian-live", "Debian live", kernel, initrd, efi, squash, configs, "debian-live"
        )
    raise IsoLayoutError("no known boot layout; looked for " + "; ".join(LOOKED_FOR))


_DROPPED = re.compile(
    r"^(root|initrd|BOOT_IMAGE|rd\.live\.image|rd\.live\.overlay\.overlayfs|boot|fetch"
    r"|ip|rd\.neednet|inst\.stage2|CDLABEL)(=|$)"
)


def config_args(text: str) -> str:
    """The kernel arguments of the first ``linux``/``linuxefi``/``append`` line in a boot
    menu config, without what pxetui renders itself and without GRUB variables."""
    for raw in text.splitlines():
        words = raw.strip().split(None, 1)
        if len(words) < 2 or words[0] not in ("linux", "linuxefi", "append", "APPEND"):
            continue
        rest = words[1].split()
        if words[0] in ("linux", "linuxefi") and rest:
            rest = rest[1:]  # the kernel path
        kept = [a for a in rest if not _DROPPED.match(a) and "$" not in a and "{" not in a]
        return " ".join(kept)
    return ""


def entry_fields(
    layout: IsoLayout, name: str, files: dict[str, str], iso_rel: str, args: str
) -> dict[str, Any]:
    """The profile entry for an imported ISO; *files* maps ``kernel``/``initrd``/
    ``squashfs`` to their paths under the roots, *iso_rel* is the kept ISO's."""
    console = "console=ttyS0,115200"
    user = args if "console=" in args else " ".join(a for a in (console, args) if a)
    entry: dict[str, Any] = {
        "description": f"{layout.title} (pxetui import)",
        "arch": "x86",
        "kind": "live" if layout.kind == "live" else "linux",
        "kernel": files["kernel"],
        "initrds": [files["initrd"]],
    }
    if layout.kind == "live":
        entry["image"] = iso_rel
        entry["args"] = user
    elif layout.kind == "installer":
        entry["args"] = " ".join(["inst.stage2={http}/" + files["stage2"], user])
    else:
        fetch = "fetch={http}/" + files["squashfs"]
        entry["args"] = " ".join(["boot=live", fetch, user])
    return entry
