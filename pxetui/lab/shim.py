"""Debian's signed Secure Boot chain for the lab: shim, MokManager, fallback, signed GRUB.

``shim-signed`` (shim signed by Microsoft's UEFI CA), ``shim-helpers-amd64-signed``
(``mmx64.efi``, ``fbx64.efi``) and ``grub-efi-amd64-signed`` (``grubnetx64.efi``, signed by
Debian's CA, which shim trusts) are fetched with ``apt-get download`` into a cache outside
the repository (``/var/cache/pxetui-shim``, or ``$PXETUI_SHIM_CACHE``) and unpacked there;
nothing is installed on the host. The files are named as a TFTP root serves them to shim:
GRUB as ``grubx64.efi``, which shim loads from its own directory.
"""

from __future__ import annotations

import os
from pathlib import Path

from pxetui.core import layout
from pxetui.lab.guest import AptCache, GuestFetchError, Say, _extract

# (package, file in the package, name under the TFTP root)
_SIGNED: tuple[tuple[str, str, str], ...] = (
    ("shim-signed", "./usr/lib/shim/shimx64.efi.signed", layout.SHIM_EFI),
    ("shim-helpers-amd64-signed", "./usr/lib/shim/mmx64.efi.signed", "mmx64.efi"),
    ("shim-helpers-amd64-signed", "./usr/lib/shim/fbx64.efi.signed", "fbx64.efi"),
    (
        "grub-efi-amd64-signed",
        "./usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed",
        layout.SHIM_GRUB,
    ),
)


def _quiet(_: str) -> None:
    return None


def shim_cache() -> Path:
    return Path(os.environ.get("PXETUI_SHIM_CACHE", "/var/cache/pxetui-shim"))


def fetch_signed_chain(cache: Path | None = None, say: Say = _quiet) -> dict[str, Path]:
    """``{name under the TFTP root: cached file}`` for shim, its helpers and signed GRUB."""
    apt = AptCache(cache or shim_cache(), "amd64", say)
    out_dir = apt.root / "signed"
    wanted = {dest: out_dir / dest for _, _, dest in _SIGNED}
    if all(p.is_file() for p in wanted.values()):
        return wanted
    apt.update()
    for package in dict.fromkeys(pkg for pkg, _, _ in _SIGNED):
        members = {src: dest for pkg, src, dest in _SIGNED if pkg == package}
        deb = apt.download(package)
        say(f"extracting {', '.join(members.values())} from {deb.name}")
        got = {p.name for p in _extract(deb, members.get, out_dir)}
        missing = set(members.values()) - got
        if missing:
            raise GuestFetchError(f"{deb.name} lacks {sorted(missing)}")
    for path in wanted.values():
        path.chmod(0o644)
    return wanted
