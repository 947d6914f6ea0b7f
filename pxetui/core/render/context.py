"""What every renderer needs to know about *us*, and what it hands back.

Our own address is written literally into every generated file: behind proxyDHCP the
client's ``${next-server}`` / DHCP server is the LAN's router, not pxetui.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address

from pxetui.core.profile.model import GRUB_FILES_DEFAULT, GrubFiles, Profile


class RenderError(ValueError):
    """An entry cannot be expressed for a loader (s390x limits, a URL pxelinux cannot fetch…).

    The message names the entry, so ``pxetui check`` can show it as is.
    """


@dataclass(frozen=True, slots=True)
class RenderContext:
    """Our address and the URLs clients use to reach us."""

    server: IPv4Address
    http_base: str
    tftp_port: int = 69
    grub_files: GrubFiles = GRUB_FILES_DEFAULT  # profile grub.files: GRUB's way to our roots

    def __post_init__(self) -> None:
        if not self.http_base.startswith(("http://", "https://")):
            raise ValueError(f"http_base must be an http:// URL, got {self.http_base!r}")
        object.__setattr__(self, "http_base", self.http_base.rstrip("/"))

    @classmethod
    def for_profile(cls, profile: Profile, server: IPv4Address | None = None) -> RenderContext:
        """The context a profile describes; *server* fills in when the profile names none."""
        address = profile.network.server or server
        if address is None:
            raise ValueError("no server address: set network.server or pass one")
        base = profile.http.base_url or f"http://{address}:{profile.http.port}"
        return cls(
            server=address,
            http_base=base,
            tftp_port=profile.tftp.port,
            grub_files=profile.grub.files,
        )


class BootFiles(Mapping[str, bytes]):
    """An immutable set of boot files: path under the TFTP root → exact bytes."""

    __slots__ = ("_files",)

    def __init__(self, files: Mapping[str, bytes] | None = None) -> None:
        self._files: dict[str, bytes] = dict(sorted((files or {}).items()))

    def __getitem__(self, key: str) -> bytes:
        return self._files[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, BootFiles):
            return self._files == other._files
        if isinstance(other, Mapping):
            return self._files == dict(other.items())
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self._files.items()))

    def __repr__(self) -> str:
        return f"BootFiles({sorted(self._files)!r})"

    def __or__(self, other: Mapping[str, bytes]) -> BootFiles:
        return BootFiles({**self._files, **other})

    def text(self, path: str) -> str:
        """A file's content as text (all rendered files are UTF-8)."""
        return self._files[path].decode("utf-8")
