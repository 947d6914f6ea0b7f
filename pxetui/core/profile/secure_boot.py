"""What ``check`` says about hosts that boot through shim (``loader: shim``, Secure Boot).

Problems (the profile is refused, as every other ``check`` problem): shim or the
``grubx64.efi`` beside it is neither under the TFTP root nor installable from Debian's
package, or a BIOS host is given shim. Warnings (``check`` prints them; the profile is
served): a kernel without an Authenticode signature, an entry GRUB cannot boot under Secure
Boot (it needs iPXE, or fetches over HTTP, which Debian's signed GRUB cannot then do), a
shim that is not signed, and shim behind proxyDHCP (GRUB 2.06 then finds no config).
Whether the firmware *trusts* a signature depends on the machine's keys; only its absence
is certain, so that is what is named.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from pxetui.core import layout
from pxetui.core.mac import MacAddress
from pxetui.core.pe_signature import PeSignature, file_signature
from pxetui.core.profile.model import (
    CentosEntry,
    ChainEntry,
    Entry,
    LinuxEntry,
    LiveEntry,
    MenuEntry,
    Profile,
)

PROXY_GRUB = (
    "shim is handed out behind proxyDHCP and loads, but GRUB 2.06 asks the DHCP server's "
    "next-server (the LAN's, not pxetui) for its config and stops at its prompt: use "
    "dhcp.mode full, or have the LAN's DHCP server name pxetui as next-server"
)


def shim_hosts(profile: Profile) -> Iterator[tuple[tuple[str, ...], str, MacAddress | None]]:
    """(profile path, entry, MAC) for every boot that goes through shim; unknown clients too."""
    for mac, host in profile.hosts.items():
        if (host.loader or profile.loader) == "shim" and host.arch != "s390x":
            yield ("hosts", mac.colon), host.entry, mac
    if profile.loader == "shim":
        yield ("unknown",), profile.unknown, None


def _leaves(profile: Profile, name: str) -> list[tuple[str, Entry]]:
    try:
        entry = profile.entry_or_local(name)
    except KeyError:
        return []
    if isinstance(entry, MenuEntry):
        return [(i, profile.entry_or_local(i)) for i in entry.items if i in profile.entries]
    return [(name, entry)]


def _file_under(root: Path, rel: str) -> Path | None:
    target = (root / rel.lstrip("/")).resolve()
    return target if target.is_relative_to(root.resolve()) and target.is_file() else None


class ShimAudit:
    """Collects problems and warnings about the profile's shim boots."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.problems: list[tuple[tuple[str, ...], str]] = []
        self.warnings: list[tuple[tuple[str, ...], str]] = []
        self._signatures: dict[Path, PeSignature] = {}

    def run(self) -> None:
        boots = list(shim_hosts(self.profile))
        if not boots:
            return
        self.loader_files()
        if self.profile.network.dhcp.mode == "proxy":
            self.warnings.append((("network", "dhcp", "mode"), PROXY_GRUB))
        seen: set[str] = set()
        for path, entry_name, mac in boots:
            host = self.profile.hosts.get(mac) if mac is not None else None
            if host is not None and host.arch == "bios":
                self.problems.append((path, "shim is UEFI-only; use loader ipxe or pxelinux"))
            for name, entry in _leaves(self.profile, entry_name):
                if name not in seen:
                    seen.add(name)
                    self.entry(("entries", name), name, entry)

    def loader_files(self) -> None:
        root = self.profile.tftp.root
        shim = self.profile.shim.file
        grub = str(PurePosixPath(shim).parent / layout.SHIM_GRUB).removeprefix("./")
        where = ("shim", "file")
        for rel, what in ((shim, "shim"), (grub, "GRUB (shim loads grubx64.efi beside it)")):
            path = _file_under(root, rel)
            source = layout.SHIM_SOURCES.get(rel)
            if path is None:
                # The engine copies Debian's signed files in at start (bootfiles.loaders).
                if source is None or not Path(source[0]).is_file():
                    fix = f"install {source[1]}" if source else "copy it there"
                    self.problems.append((where, f"{what}: {rel} is not under {root} ({fix})"))
                continue
            if not path.stat().st_mode & stat.S_IROTH:
                self.problems.append((where, f"{rel} is not world-readable (chmod o+r {path})"))
            elif self.signature(path) is not PeSignature.SIGNED:
                self.warnings.append(
                    (where, f"{rel} has no Authenticode signature: Secure Boot refuses it")
                )

    def entry(self, path: tuple[str, ...], name: str, entry: Entry) -> None:
        if isinstance(entry, ChainEntry):
            self.warnings.append(
                (path, f"entry '{name}' chains through iPXE, which Secure Boot refuses (shim)")
            )
            return
        if not isinstance(entry, LinuxEntry | CentosEntry | LiveEntry):
            return
        for rel in (entry.kernel, *entry.initrds):
            if "://" in rel and not rel.startswith("tftp://"):
                self.warnings.append(
                    (
                        path,
                        f"entry '{name}': {rel} is a URL; under Secure Boot Debian's signed "
                        "GRUB cannot fetch it (no http module, and it may not load one): "
                        "put it under pxetui's root",
                    )
                )
                return
        if "://" in entry.kernel or "{" in entry.kernel:
            return
        kernel = _file_under(self.profile.tftp.root, entry.kernel)
        if kernel is not None and self.signature(kernel) is not PeSignature.SIGNED:
            self.warnings.append(
                (
                    (*path, "kernel"),
                    f"{entry.kernel} has no Authenticode signature: under Secure Boot GRUB "
                    "(through shim) refuses to boot it",
                )
            )

    def signature(self, path: Path) -> PeSignature:
        if path not in self._signatures:
            try:
                self._signatures[path] = file_signature(path)
            except OSError:
                self._signatures[path] = PeSignature.NOT_PE
        return self._signatures[path]


def shim_audit(profile: Profile) -> ShimAudit:
    audit = ShimAudit(profile)
    audit.run()
    return audit
