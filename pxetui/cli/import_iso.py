"""``pxetui import ISO --profile P [--name N] [--out FILE]``: an ISO's boot files into the roots.

Reads the ISO with pycdlib (no mount, no root), finds its kernel, initrd and EFI loaders by
the layouts :mod:`pxetui.core.iso_layout` knows, copies them under ``<root>/<name>/`` (the
TFTP root, and the HTTP root too when it is another directory), keeps the ISO itself there
for ``root=live:`` (dracut layouts) or copies out what the installer's or Debian live's
initrd fetches (``images/install.img``, ``filesystem.squashfs``), and prints the
profile entry as YAML — or writes it to ``--out FILE``, a new file. The operator's profile
is never rewritten: the entry is theirs to paste.

Refuses, naming what it saw: a file that is not ISO9660, an ISO with no known layout (and
the paths looked for), an entry name the profile already has, a destination directory that
already exists, an ``--out`` file that exists. A copy that fails half way (a truncated ISO, a
full disk) removes what this import created, so it can simply be run again.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import yaml

from pxetui.cli.progress_line import ProgressLine
from pxetui.core.iso_layout import (
    MAX_CONFIG_BYTES,
    IsoLayout,
    IsoLayoutError,
    config_args,
    detect_layout,
    entry_fields,
)
from pxetui.core.iso_read import IsoEntry, IsoReadError, open_iso
from pxetui.core.live import ISO_MAGIC_OFFSET, LiveImageError, inspect_live_image
from pxetui.core.profile import Profile, ProfileError, load_profile

CHUNK = 1 << 20
PROGRESS_MIN = 8 << 20
"""Files from this size on get a progress line."""


class ImportError_(RuntimeError):
    """Why the import stopped; printed as is."""


def entry_name_for(iso: Path) -> str:
    """An entry name from the ISO's file name (``Fedora-Live 41.iso`` → ``Fedora-Live-41``)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", iso.stem).strip("-._")[:64]
    return name or "imported"


def is_iso9660(path: Path) -> bool:
    with path.open("rb") as fh:
        fh.seek(ISO_MAGIC_OFFSET)
        return fh.read(5) == b"CD001"


def copy_range(src: BinaryIO, offset: int, size: int, dest: Path, label: str, err: TextIO) -> None:
    """*size* bytes at *offset* of *src* into *dest* (world-readable), via a temp file."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.part")
    progress = ProgressLine(label, size, err) if size >= PROGRESS_MIN else None
    src.seek(offset)
    left = size
    with tmp.open("wb") as out:
        while left > 0:  # bounded: each pass copies at least one byte or stops
            chunk = src.read(min(CHUNK, left))
            if not chunk:
                raise ImportError_(f"{label}: the image ends {left} bytes early (truncated?)")
            out.write(chunk)
            left -= len(chunk)
            if progress is not None:
                progress.advance(len(chunk))
    if progress is not None:
        progress.finish()
    tmp.chmod(0o644)  # the servers send world-readable files only
    tmp.replace(dest)


def _roots(profile: Profile) -> tuple[Path, Path]:
    tftp = profile.tftp.root
    return tftp, profile.http.root or tftp


def plan_copies(
    layout: IsoLayout, name: str, iso: Path, tftp: Path, http: Path
) -> tuple[list[tuple[IsoEntry | None, Path]], dict[str, str], str]:
    """(what goes where, the paths for the entry, the kept ISO's path under the HTTP root).

    ``None`` as the source means the ISO file itself."""
    roots = [tftp] if tftp.resolve() == http.resolve() else [tftp, http]
    copies: list[tuple[IsoEntry | None, Path]] = []
    files = {"kernel": f"{name}/vmlinuz", "initrd": f"{name}/initrd.img"}
    for root in roots:
        copies.append((layout.kernel, root / files["kernel"]))
        copies.append((layout.initrd, root / files["initrd"]))
    for efi in layout.efi:
        copies.append((efi, tftp / name / "efi" / efi.name.lower()))
    for config in layout.configs:
        copies.append((config, tftp / name / "config" / config.name))
    iso_rel = ""
    if layout.kind == "live":
        iso_rel = f"{name}/{iso.name}"
        copies.append((None, http / iso_rel))
    elif layout.kind == "installer":
        files["stage2"] = name  # anaconda fetches <stage2>/.treeinfo, <stage2>/images/…
        copies += [(e, http / name / e.path) for e in layout.stage2]
    elif layout.squashfs is not None:
        files["squashfs"] = f"{name}/filesystem.squashfs"
        copies.append((layout.squashfs, http / files["squashfs"]))
    return copies, files, iso_rel


def _read_config_args(fh: BinaryIO, layout: IsoLayout) -> str:
    for config in layout.configs:
        fh.seek(config.offset)
        text = fh.read(min(config.size, MAX_CONFIG_BYTES)).decode("utf-8", "replace")
        args = config_args(text)
        if args:
            return args
    return ""


def import_iso(iso: Path, profile_path: Path, name: str | None, err: TextIO) -> dict[str, Any]:
    """Copy *iso*'s boot files into the profile's roots; the entry (as a mapping)."""
    if not iso.is_file():
        raise ImportError_(f"{iso}: no such file")
    if not is_iso9660(iso):
        raise ImportError_(f"{iso}: not an ISO9660 image (no 'CD001' at byte 0x8001)")
    try:
        profile = load_profile(profile_path)
    except ProfileError as exc:
        raise ImportError_("\n".join(exc.errors)) from exc
    name = name or entry_name_for(iso)
    if name in profile.entries:
        raise ImportError_(
            f"{profile_path}: already has an entry '{name}': pick another with --name"
        )
    tftp, http = _roots(profile)
    for root in {tftp, http}:
        if (root / name).exists():
            raise ImportError_(f"{root / name} already exists: pick another --name")
    try:
        with open_iso(iso) as reader:
            layout = detect_layout(reader)
    except (IsoLayoutError, IsoReadError) as exc:
        raise ImportError_(f"{iso}: {exc}") from exc
    print(f"{iso.name}: {layout.title} layout", file=err)
    copies, files, iso_rel = plan_copies(layout, name, iso, tftp, http)
    try:
        with iso.open("rb") as fh:
            args = _read_config_args(fh, layout)
            for src, dest in copies:
                if src is None:
                    copy_range(fh, 0, iso.stat().st_size, dest, iso.name, err)
                else:
                    copy_range(fh, src.offset, src.size, dest, src.path, err)
                print(f"  -> {dest}", file=err)
    except BaseException:
        # All or nothing: the <root>/<name> directories did not exist before this import.
        for root in {tftp, http}:
            shutil.rmtree(root / name, ignore_errors=True)
        raise
    entry = entry_fields(layout, name, files, iso_rel, args)
    if layout.kind == "live":
        try:
            inspect_live_image(http / iso_rel, str(entry["args"]))
        except LiveImageError as exc:
            print(f"warning: {iso_rel}: {exc}", file=err)
    return entry


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``import``."""
    parser = subparsers.add_parser(
        "import",
        help="copy an ISO's kernel, initrd and EFI loaders into the roots; print the entry",
        description=(
            "Read a LiveOS or installer ISO (no mount), copy its boot files under "
            "<root>/<name>/, keep the ISO for root=live:, and print the entry as YAML "
            "(or write it to --out). The profile itself is never changed."
        ),
    )
    parser.add_argument("iso", type=Path, help="the ISO image")
    parser.add_argument("--profile", type=Path, required=True, help="profile YAML (its roots)")
    parser.add_argument("--name", help="entry name (default: from the ISO's file name)")
    parser.add_argument("--out", type=Path, help="write the entry to this new YAML file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out_path: Path | None = args.out
    if out_path is not None and out_path.exists():
        print(f"{out_path} exists: --out writes a new file only", file=sys.stderr)
        return 1
    try:
        entry = import_iso(args.iso, args.profile, args.name, sys.stderr)
    except (ImportError_, OSError) as exc:
        print(f"pxetui import: {exc}", file=sys.stderr)
        return 1
    name = args.name or entry_name_for(args.iso)
    text = yaml.safe_dump({"entries": {name: entry}}, sort_keys=False, width=1000)
    if out_path is not None:
        fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        print(f"wrote {out_path}: add the entry to {args.profile} under entries:", file=sys.stderr)
    else:
        sys.stdout.write(text)
        print(f"# paste under entries: in {args.profile}", file=sys.stderr)
    return 0
