"""Small ISO9660 images for the live/import unit tests, made with pycdlib (no xorriso)."""

from __future__ import annotations

import io
from pathlib import Path

import pycdlib


def make_iso(dest: Path, files: dict[str, bytes], rock_ridge: bool = True) -> Path:
    """An ISO holding *files* (``dir/sub/name`` → bytes); real names in Rock Ridge (or, with
    *rock_ridge* False, Joliet), short generated ISO9660 names underneath."""
    iso = pycdlib.PyCdlib()
    if rock_ridge:
        iso.new(interchange_level=3, rock_ridge="1.09", vol_ident="PXETUI_TEST")
    else:
        iso.new(interchange_level=3, joliet=3, vol_ident="PXETUI_TEST")
    dirs: dict[str, str] = {"": ""}
    n = 0

    def ensure(path: str) -> str:
        nonlocal n
        if path in dirs:
            return dirs[path]
        parent, _, leaf = path.rpartition("/")
        iso_parent = ensure(parent)
        n += 1
        iso_path = f"{iso_parent}/D{n}"
        if rock_ridge:
            iso.add_directory(iso_path, rr_name=leaf)
        else:
            iso.add_directory(iso_path, joliet_path=_joliet(path))
        dirs[path] = iso_path
        return iso_path

    for path, data in files.items():
        parent, _, leaf = path.rpartition("/")
        iso_parent = ensure(parent)
        n += 1
        iso_path = f"{iso_parent}/F{n}.;1"
        if rock_ridge:
            iso.add_fp(io.BytesIO(data), len(data), iso_path, rr_name=leaf)
        else:
            iso.add_fp(io.BytesIO(data), len(data), iso_path, joliet_path=_joliet(path))
    dest.parent.mkdir(parents=True, exist_ok=True)
    iso.write(str(dest))
    iso.close()
    return dest


def _joliet(path: str) -> str:
    return "/" + path
