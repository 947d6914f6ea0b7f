"""The lab's directory: its profile next to a TFTP/HTTP tree holding loaders and guests.

``pxetui/assets/lab/lab.yaml`` names files under ``lab/`` in the tree; this module builds them
(kernel from Debian, initrds from busybox, a squashfs) into the guest cache once and links
them into each lab's tree, and copies the network boot programs from Debian's packages
(pxelinux, iPXE), the way an operator would populate a TFTP root.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from pxetui.core import layout
from pxetui.lab.guest import (
    INIT_VERSION,
    GuestArch,
    Say,
    build_initrd,
    build_squashfs,
    default_cache,
    fetch_busybox,
    fetch_kernel,
)

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "lab"
LAB_PROFILE = ASSETS / "lab.yaml"

SQUASHFS_MARKER = "pxetui-lab-squashfs-mounted"
BIG_INITRD_BYTES = 40 * 1024 * 1024

LOADERS: dict[str, Path] = {
    layout.PXELINUX: Path("/usr/lib/PXELINUX/pxelinux.0"),
    **{m: Path("/usr/lib/syslinux/modules/bios") / m for m in layout.PXELINUX_MODULES},
    layout.UNDIONLY: Path("/usr/lib/ipxe/undionly.kpxe"),
    layout.IPXE_EFI: Path("/usr/lib/ipxe/ipxe.efi"),
}


def _quiet(_: str) -> None:
    return None


def initrd_marker(name: str) -> str:
    """The marker an initrd's /init prints: its own file name, so the serial line says
    which initrd booted (``initrd-amd64-40m``), not just that one did."""
    return name.removesuffix(".gz")


def _place(src: Path, dest: Path, link: bool = True) -> None:
    """Put a regular file at *dest* (a hard link into the cache when possible: the 40 MB
    initrd is not copied per lab; the TFTP server refuses symlinks, so never one)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.unlink(missing_ok=True)
    if link:
        try:
            os.link(src, dest)
            return
        except OSError:
            pass
    shutil.copyfile(src.resolve(), dest)
    dest.chmod(0o644)


def build_guest_files(
    arch: GuestArch, cache: Path | None = None, say: Say = _quiet
) -> dict[str, Path]:
    """The files of ``lab/`` for *arch*, built into the cache on first use."""
    cache = cache or default_cache()
    kernel = fetch_kernel(arch, cache, say)
    busybox = fetch_busybox(arch, cache, say)
    built = cache / arch / f"built-{kernel.version}-init{INIT_VERSION}"
    files: dict[str, Path] = {f"vmlinuz-{arch}": kernel.vmlinuz}
    wanted: list[tuple[str, dict[str, Any]]] = [(f"initrd-{arch}.gz", {})]
    if arch == "amd64":
        wanted += [
            ("initrd-amd64-40m.gz", {"padding": BIG_INITRD_BYTES}),
            ("initrd-amd64-diskless.gz", {"kernel": kernel}),
        ]
    for name, extra in wanted:
        path = built / name
        if not path.exists():
            say(f"building {name}")
            build_initrd(busybox, initrd_marker(name), path, **extra)
            path.chmod(0o644)
        files[name] = path
    if arch == "amd64":
        squash = built / "root.squashfs"
        if not squash.exists():
            say("building root.squashfs")
            build_squashfs(SQUASHFS_MARKER, squash, padding=2 * 1024 * 1024)
            squash.chmod(0o644)
        files["root.squashfs"] = squash
    return files


def prepare_lab_dir(
    workdir: Path,
    arches: Iterable[GuestArch] = ("amd64",),
    overrides: Mapping[str, Any] | None = None,
    cache: Path | None = None,
    say: Say = _quiet,
) -> Path:
    """Write ``workdir/lab.yaml`` (the asset, with *overrides* merged in) and its tree.

    Returns the profile path. *overrides* are merged key by key into the YAML mapping
    (nested mappings recursively), e.g. ``{"loader": "pxelinux"}``. The guest files of
    every architecture the profile's entries name are placed too, not only *arches*: the
    engine refuses a profile whose kernels are missing, as ``pxetui check`` does.
    """
    data = yaml.safe_load(LAB_PROFILE.read_text())
    _merge(data, dict(overrides or {}))
    workdir.mkdir(parents=True, exist_ok=True)
    root = workdir / str(data.get("tftp", {}).get("root", "tftp"))
    for name, src in LOADERS.items():
        if src.exists():
            _place(src, root / name, link=False)
    signed = _signed_loaders(data)
    if signed:
        from pxetui.lab.shim import fetch_signed_chain  # only shim/GRUB labs need apt here

        chain = fetch_signed_chain(say=say)
        if "shim" in signed:
            for name, src in chain.items():
                _place(src, root / name, link=False)
        if "grub" in signed:  # Debian's signed grubnetx64.efi, where `loader: grub` wants it
            _place(chain[layout.SHIM_GRUB], root / layout.GRUB_EFI, link=False)
    wanted = list(dict.fromkeys([*arches, *_entry_arches(data)]))
    for arch in wanted:
        for name, path in build_guest_files(arch, cache, say).items():
            _place(path, root / "lab" / name)
    profile = workdir / "lab.yaml"
    profile.write_text(yaml.safe_dump(data, sort_keys=False))
    return profile


def _signed_loaders(data: Mapping[str, Any]) -> set[str]:
    """Which of shim and GRUB the profile hands out (profile-wide or per host)."""
    hosts = data.get("hosts") or {}
    loaders = {data.get("loader"), *(h.get("loader") for h in hosts.values() if h)}
    return loaders & {"shim", "grub"}


def _entry_arches(data: Mapping[str, Any]) -> list[GuestArch]:
    """The guest architectures whose files the profile's entries name (``lab/…-s390x``)."""
    out: list[GuestArch] = []
    for entry in (data.get("entries") or {}).values():
        if isinstance(entry, Mapping):
            arch = entry.get("arch")
            if arch == "x86":
                out.append("amd64")
            elif arch == "s390x":
                out.append("s390x")
    return out


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
