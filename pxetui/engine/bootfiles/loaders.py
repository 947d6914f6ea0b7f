"""Copy the network boot programs from Debian's packages into the TFTP root.

Copies, not symlinks: the TFTP server refuses symlinks that leave the root. A program the
system lacks is skipped and reported, so ``pxetui serve`` still starts and the operator
learns which package to install.

A file that is already there and is not the copy pxetui made (the operator's own shim or
GRUB, say, taken from an ISO's ``EFI/BOOT/``) is kept and reported, never overwritten:
what pxetui copied is remembered by digest in :data:`MANIFEST` under the root.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from pxetui.core import layout
from pxetui.core.render.handoff import IPXE_LKRN

SIGNED_GRUBNET = layout.SHIM_SOURCES[layout.SHIM_GRUB][0]
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
    (layout.GRUB_EFI, (SIGNED_GRUBNET,), "grub-efi-amd64-signed"),
)
SHIM_LOADERS: tuple[tuple[str, tuple[str, ...], str], ...] = tuple(
    (name, (source,), package) for name, (source, package) in layout.SHIM_SOURCES.items()
)
"""``loader: shim``'s files; ``pxetui check`` names them when a host needs them."""
OPTIONAL_LOADERS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    *SHIM_LOADERS,
    # GRUB's http module, loaded by ``insmod http`` from $prefix (grub/) so GRUB can fetch
    # kernels over HTTP; Debian's signed grubnetx64.efi lacks it (render/grub.py).
    (layout.GRUB_HTTP_MOD, ("/usr/lib/grub/x86_64-efi/http.mod",), "grub-efi-amd64-bin"),
)
"""Installed when the system has them; absent ones are reported, not warned about (only
Secure Boot sites install shim-signed; without http.mod GRUB stays on TFTP)."""
MANIFEST = ".pxetui-loaders"
"""``<sha256>  <name>`` per file pxetui copied: only those may be replaced by a newer copy."""


def _digest(path: Path) -> str | None:
    h = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return None
    return h.hexdigest()


def _read_manifest(root: Path) -> dict[str, str]:
    try:
        text = (root / MANIFEST).read_text()
    except OSError:
        return {}
    out: dict[str, str] = {}
    for line in text.splitlines()[:1000]:
        digest, _, name = line.partition("  ")
        if name:
            out[name] = digest
    return out


def _write_manifest(root: Path, manifest: dict[str, str]) -> None:
    text = "".join(f"{digest}  {name}\n" for name, digest in sorted(manifest.items()))
    tmp = root / f"{MANIFEST}.tmp"
    tmp.write_text(text)
    os.replace(tmp, root / MANIFEST)


def _same(src: Path, dst: Path) -> bool:
    try:
        return dst.stat().st_size == src.stat().st_size and dst.read_bytes() == src.read_bytes()
    except OSError:
        return False


def install_loaders(
    tftp_root: Path,
    loaders: tuple[tuple[str, tuple[str, ...], str], ...] = LOADERS,
    optional: tuple[tuple[str, tuple[str, ...], str], ...] = OPTIONAL_LOADERS,
) -> list[str]:
    """Copy each available loader into *tftp_root*; one line per loader saying what happened.

    Lines read ``copied pxelinux.0``, ``up to date ipxe.efi``,
    ``missing grub/grubnetx64.efi (install grub-efi-amd64-signed)``,
    ``not installed shimx64.efi (install shim-signed)`` for an absent *optional* one, or
    ``kept grubx64.efi: not pxetui's copy …`` for a file someone else put there.
    """
    root = Path(tftp_root)
    root.mkdir(parents=True, exist_ok=True)
    report: list[str] = []
    manifest = _read_manifest(root)
    before = dict(manifest)
    wanted = [(entry, False) for entry in loaders] + [(entry, True) for entry in optional]
    for (name, sources, package), is_optional in wanted:
        src = next((Path(s) for s in sources if Path(s).is_file()), None)
        if src is None:
            absent = "not installed" if is_optional else "missing"
            report.append(f"{absent} {name} (install {package})")
            continue
        dst = root / name
        if dst.is_symlink():
            dst.unlink()  # never serve through a link, even one we did not make
        if _same(src, dst):
            manifest[name] = _digest(dst) or ""
            report.append(f"up to date {name}")
            continue
        if dst.exists() and manifest.get(name) != _digest(dst):
            report.append(
                f"kept {name}: not pxetui's copy (differs from {src}); "
                f"remove it to install {package}'s"
            )
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
        manifest[name] = _digest(dst) or ""
        report.append(f"copied {name}")
    if manifest != before:
        _write_manifest(root, manifest)
    return report
