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
    ChainEntry,
    LinuxEntry,
    LiveEntry,
    MenuEntry,
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
    """What one boot entry is, as the tracker needs it: the files it must deliver before
    the kernel runs, its architecture, and for a menu its items, default and timeout."""

    kind: str = "linux"
    kernel: str | None = None
    initrds: tuple[str, ...] = ()
    image: str | None = None
    arch: str = "any"
    items: tuple[str, ...] = ()
    default: str | None = None
    timeout: int = 0
    external: bool = False
    """Its kernel/initrds/image (or chain URL) come from elsewhere: pxetui cannot see them."""

    @property
    def silent(self) -> bool:
        """Choosing it makes no request pxetui sees (local disk, someone else's server)."""
        return self.kind == "local" or self.external


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
                locations = [entry.kernel, *entry.initrds]
                if isinstance(entry, LiveEntry):
                    image = add(entry.image, "root_image", name)
                    locations.append(entry.image)
                external = any(_elsewhere(loc, profile) for loc in locations)
                entries[name] = EntryFiles(
                    entry.kind, kernel, initrds, image, entry.arch, external=external
                )
            elif isinstance(entry, MenuEntry):
                entries[name] = EntryFiles(
                    "menu",
                    arch=entry.arch,
                    items=entry.items,
                    default=entry.default or entry.items[0],
                    timeout=entry.timeout,
                )
            elif isinstance(entry, ChainEntry):
                external = _elsewhere(entry.url, profile)
                entries[name] = EntryFiles("chain", arch=entry.arch, external=external)
            else:
                entries[name] = EntryFiles(entry.kind, arch=entry.arch)
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


def _elsewhere(location: str, profile: Profile) -> bool:
    """A URL that is not our own HTTP base: fetched from a server pxetui does not see."""
    if "://" not in location:
        return False
    base = profile.http.base_url
    if base and location.startswith(base.rstrip("/") + "/"):
        return False
    host = urlsplit(location).hostname or ""
    server = profile.network.server
    return not (server is not None and host == str(server)) and "{" not in host


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


def once_refusal(stages: StageMap, entry: str) -> str | None:
    """Why a one-shot of *entry* could never complete, or ``None`` if pxetui can tell.

    ``once`` ends when the tracker sees the boot end (README, "The boot model"). It cannot
    for an entry whose files come from a server pxetui does not see, nor for a menu that
    waits for a person (timeout 0) when one of its items makes no request pxetui sees.
    """
    needs = stages.needs(entry)
    if needs is None:
        return None
    if needs.kind == "menu":
        silent = [i for i in needs.items if (n := stages.needs(i)) is not None and n.silent]
        if silent and needs.timeout <= 0:
            return (
                f"once cannot end for menu '{entry}': it waits for a choice (timeout 0) and "
                f"choosing {', '.join(silent)} makes no request pxetui sees; "
                "give the menu a timeout or drop once"
            )
        return None
    if needs.external:
        return (
            f"once cannot end for entry '{entry}': its files come from a server pxetui does "
            "not see, so pxetui cannot tell that it booted; serve them here or drop once"
        )
    return None
