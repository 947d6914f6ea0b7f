"""Turn a client's file name into an open, safe-to-serve file under the root — or a refusal.

TFTP and HTTP share these rules, because both hand out the same boot tree to strangers on a
LAN: only regular, world-readable files whose *real* path (every symlink resolved) lies inside
the root. Names are normalised first — firmware sends ``\\``, ``//``, a leading ``/`` and
sometimes trailing 0xFF padding — and then resolved; containment is checked on the resolved
path, never on the string (``a/../../etc/passwd`` must not get through).

Nothing is cached: the store rewrites per-MAC files at any time and the next request must see
the new file, so every request resolves afresh.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from pxetui.core.wording import NOT_WORLD_READABLE

# Longest name we look at; real boot file names are far shorter, and PATH_MAX is 4096.
MAX_NAME_LEN = 1024


class PathError(Exception):
    """The name cannot be served; ``reason`` says why in words for the event log."""

    not_found: bool = False

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FileMissing(PathError):
    """Nothing by that name inside the root (a firmware lookup miss, not an attack)."""

    not_found = True


class AccessRefused(PathError):
    """Something is there but we will not serve it: escape, not regular, not world-readable."""


@dataclass(frozen=True, slots=True)
class ServedFile:
    """An open file descriptor checked against the rules; the caller closes ``fd``."""

    name: str
    real_path: str
    fd: int
    size: int


def normalise_name(raw: str) -> str:
    """The root-relative name a client meant: ``/`` separators, no empty or ``.`` parts.

    Trailing 0xFF bytes (decoded as U+DCFF by ``surrogateescape``, or as ``ÿ``) and NULs are
    padding some PXE ROMs send after the name. ``..`` is kept: the resolved path decides.
    """
    name = raw.rstrip("\udcff\xff\x00").replace("\\", "/")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    return "/".join(parts)


def _inside(real: str, root: str) -> bool:
    return real.startswith(root.rstrip(os.sep) + os.sep)


def open_served_file(root: Path, raw_name: str) -> ServedFile:
    """Resolve *raw_name* under *root* and open it read-only, or raise :class:`PathError`.

    The file is opened with ``O_NOFOLLOW | O_NONBLOCK`` (a FIFO must never block the event
    loop) and the descriptor is checked again with ``fstat`` against the ``lstat`` of the
    resolved path, so a swap between the check and the open is refused, not served.
    """
    if len(raw_name) > MAX_NAME_LEN:
        raise FileMissing("name too long")
    name = normalise_name(raw_name)
    if "\x00" in name:
        raise AccessRefused("NUL in name")
    try:
        root_real = os.path.realpath(root)
        real = os.path.realpath(os.path.join(root_real, name))
    except (OSError, ValueError) as exc:
        raise FileMissing(f"cannot resolve: {exc}") from None
    if real == root_real:
        raise AccessRefused("not a regular file")
    if not _inside(real, root_real):
        raise AccessRefused("outside the root")
    try:
        st = os.lstat(real)
    except FileNotFoundError:
        raise FileMissing("no such file") from None
    except (OSError, ValueError) as exc:
        raise FileMissing(f"cannot stat: {exc.__class__.__name__}") from None
    if not stat.S_ISREG(st.st_mode):
        raise AccessRefused("not a regular file")
    if not st.st_mode & stat.S_IROTH:
        raise AccessRefused(NOT_WORLD_READABLE)
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise FileMissing("vanished while opening") from None
    except OSError as exc:
        raise AccessRefused(f"cannot open: {exc.strerror}") from None
    try:
        fst = os.fstat(fd)
    except OSError:
        os.close(fd)
        raise
    if (fst.st_dev, fst.st_ino) != (st.st_dev, st.st_ino) or not stat.S_ISREG(fst.st_mode):
        os.close(fd)
        raise AccessRefused("file changed while opening")
    return ServedFile(name=name, real_path=real, fd=fd, size=fst.st_size)
