"""What a requested file means for a boot: loader, config, kernel, initrd or root image.

A client's phase is read off the files it fetches, so the tracker needs to know that
``undionly.kpxe`` is a loader, ``pxelinux.cfg/01-…`` a config, and ``images/centos/vmlinuz``
the kernel of the entry ``centos8``. Loader and config names come from
:mod:`pxetui.core.layout`; kernels, initrds and images from the profile's entries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from pxetui.core import layout
from pxetui.core.profile.model import (
    CentosEntry,
    LinuxEntry,
    LiveEntry,
    Profile,
)

Stage = Literal["loader", "config", "kernel", "initrd", "root_image", "other"]

_LOADERS = frozenset(
    {layout.PXELINUX, layout.UNDIONLY, layout.IPXE_EFI, layout.GRUB_EFI, *layout.PXELINUX_MODULES}
)
_LOADER_SUFFIXES = (".0", ".kpxe", ".efi", ".c32", ".pxe", ".lkrn")
_CONFIG_DIRS = (
    layout.PXELINUX_DIR + "/",
    layout.IPXE_DIR + "/",
    layout.GRUB_DIR + "/grub.cfg",
    layout.S390X_DIR + "/",
)
_IMAGE_SUFFIXES = (".squashfs", ".img", ".iso")


def normalize(path: str) -> str:
    """A request path or profile path as a root-relative name: no scheme/host, no leading /.

    ``http://10.0.0.1:8080/images/vmlinuz``, ``/images//vmlinuz`` and ``images\\vmlinuz`` all
    become ``images/vmlinuz``.
    """
    text = path.strip()
    if "://" in text:
        text = urlsplit(text).path
    text = text.replace("\\", "/")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    return "/".join(parts)


@dataclass(frozen=True, slots=True)
class EntryFiles:
    """The files one boot entry needs delivered before the kernel runs."""

    kind: str = "linux"
    kernel: str | None = None
    initrds: tuple[str, ...] = ()
    image: str | None = None


@dataclass(frozen=True, slots=True)
class StageMap:
    """Filename → stage, built once per profile (rebuilt on reload)."""

    files: dict[str, tuple[Stage, frozenset[str]]] = field(default_factory=dict)
    entries: dict[str, EntryFiles] = field(default_factory=dict)

    @classmethod
    def from_profile(cls, profile: Profile) -> StageMap:
        files: dict[str, tuple[Stage, set[str]]] = {}
        entries: dict[str, EntryFiles] = {}

        def add(name: str, stage: Stage, entry: str) -> str:
            key = normalize(name)
            old = files.get(key)
            if old is None:
                files[key] = (stage, {entry})
            else:
                old[1].add(entry)
            return key

        for name, entry in profile.entries.items():
            if isinstance(entry, LinuxEntry | CentosEntry | LiveEntry):
                kernel = add(entry.kernel, "kernel", name)
                initrds = tuple(add(i, "initrd", name) for i in entry.initrds)
                image = None
                if isinstance(entry, LiveEntry):
                    image = add(entry.image, "root_image", name)
                entries[name] = EntryFiles(entry.kind, kernel, initrds, image)
            else:
                entries[name] = EntryFiles(entry.kind)
        entries.setdefault("local", EntryFiles("local"))
        return cls({k: (s, frozenset(e)) for k, (s, e) in files.items()}, entries)

    def classify(self, filename: str) -> Stage:
        """The stage *filename* belongs to; profile entries win over name patterns."""
        name = normalize(filename)
        known = self.files.get(name)
        if known is not None:
            return known[0]
        return classify_by_name(name)

    def entries_using(self, filename: str) -> frozenset[str]:
        """The entries whose kernel/initrd/image *filename* is (empty for loaders, configs)."""
        known = self.files.get(normalize(filename))
        return known[1] if known is not None else frozenset()

    def needs(self, entry: str | None) -> EntryFiles | None:
        """What *entry* must deliver; ``None`` for unknown entries."""
        if entry is None:
            return None
        return self.entries.get(entry)


def classify_by_name(name: str) -> Stage:
    """Classification from the name alone, for files no profile entry lists."""
    base = name.rsplit("/", 1)[-1].lower()
    if name == layout.BOOT_IPXE or name.startswith(_CONFIG_DIRS):
        return "config"
    if name in _LOADERS or base.endswith(_LOADER_SUFFIXES) or name.startswith("grub/"):
        return "loader"
    if base.startswith(("vmlinuz", "bzimage", "linux", "kernel")):
        return "kernel"
    if base.startswith(("initrd", "initramfs")):
        return "initrd"
    if base.endswith(_IMAGE_SUFFIXES) or "squashfs" in base:
        return "root_image"
    return "other"


def delivered(needs: EntryFiles, done: Iterable[str]) -> bool:
    """True once the kernel, every initrd and the root image (if any) were fully sent.

    *done* holds normalised names of finished transfers. An entry without a kernel (local,
    menu, chain) is never "delivered": there is nothing of ours the client boots.
    """
    finished = set(done)
    if needs.kernel is None:
        return False
    required = {needs.kernel, *needs.initrds}
    if needs.image is not None:
        required.add(needs.image)
    return required <= finished
