"""Copy the network boot programs from Debian's packages into the TFTP root.

Copies, not symlinks: the TFTP server refuses symlinks that leave the root. A program the
system lacks is skipped and reported, so ``pxetui serve`` still starts and the operator
learns which package to install.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from pxetui.core import layout
from pxetui.core.render.handoff import IPXE_LKRN

# (name under the TFTP root, candidate sources in order, Debian package)
LOADERS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (layout.PXELINUX, ("/usr/lib/PXELINUX/pxelinux.0",), "pxelinux"),
    *(
        (name, (f"/usr/lib/syslinux/modules/bios/{name}",), "syslinux-common")
        for name in layout.PXELINUX_MODULES
    ),
    (layout.UNDIONLY, ("/usr/lib/ipxe/undionly.kpxe",), "ipxe"),
    (layout.IPXE_EFI, ("/usr/lib/ipxe/ipxe.efi",), "ipxe"),
    (IPXE_LKRN, ("/usr/lib/ipxe/ipxe.lkrn",), "ipxe"),
    (
        layout.GRUB_EFI,
        ("/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed",),
        "grub-efi-amd64-signed",
    ),
)


def _same(src: Path, dst: Path) -> bool:
    try:
        return dst.stat().st_size == src.stat().st_size and dst.read_bytes() == src.read_bytes()
    except OSError:
        return False


def install_loaders(
    tftp_root: Path,
    loaders: tuple[tuple[str, tuple[str, ...], str], ...] = LOADERS,
) -> list[str]:
    """Copy each available loader into *tftp_root*; one line per loader saying what happened.

    Lines read ``copied pxelinux.0``, ``up to date ipxe.efi`` or
    ``missing grub/grubnetx64.efi (install grub-efi-amd64-signed)``.
    """
    root = Path(tftp_root)
    root.mkdir(parents=True, exist_ok=True)
    report: list[str] = []
    for name, sources, package in loaders:
        src = next((Path(s) for s in sources if Path(s).is_file()), None)
        if src is None:
            report.append(f"missing {name} (install {package})")
            continue
        dst = root / name
        if dst.is_symlink():
            dst.unlink()  # never serve through a link, even one we did not make
        if _same(src, dst):
            report.append(f"up to date {name}")
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
        os.close(fd)
        try:
            shutil.copyfile(src, tmp)
            os.chmod(tmp, 0o644)
            os.replace(tmp, dst)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        report.append(f"copied {name}")
    return report
