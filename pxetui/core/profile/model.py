"""The profile schema: what an operator writes in ``lab.yaml``.

Models are frozen and forbid unknown keys (the loader turns pydantic's errors into
``file:line: field: message`` lines with "did you mean" hints). Relative paths are resolved
by the loader against the profile file's directory.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr

from pxetui.core.mac import MacAddress
from pxetui.core.profile.relayed import RelayedSubnet

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ENTRY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"{_LABEL}(\.{_LABEL})*")


def _single_line(value: str) -> str:
    # Every string below ends up inside a boot config line; a newline would let a profile
    # value inject its own pxelinux/iPXE/GRUB commands.
    if _CONTROL.search(value):
        raise ValueError("must be a single line without control characters")
    return value


def _entry_name(value: str) -> str:
    # Entry names become pxelinux LABELs, iPXE labels and GRUB ids: keep them plain.
    if not _ENTRY_NAME.fullmatch(value):
        raise ValueError(
            f"entry name {value!r} must be 1-64 letters, digits, '.', '_' or '-' "
            "starting with a letter or digit"
        )
    return value


def _hostname(value: str) -> str:
    if len(value) > 253 or not _HOSTNAME.fullmatch(value):
        raise ValueError(f"{value!r} is not a valid host name")
    return value


def _store_url(value: str) -> str:
    if not value.startswith(("postgresql://", "postgres://")):
        raise ValueError("must be a postgresql:// URL (SQLite in state_dir is the default)")
    return value


Line = Annotated[str, AfterValidator(_single_line)]
"""A string that is written into a boot config line: no newlines or control characters."""
EntryName = Annotated[str, AfterValidator(_entry_name)]
HostName = Annotated[str, AfterValidator(_hostname)]

Arch = Literal["bios", "uefi-x64", "uefi-ia32", "uefi-arm64", "s390x"]
"""Client architecture, as the operator names it (option 93 maps onto these)."""

Loader = Literal["ipxe", "pxelinux", "grub", "shim"]
"""The network boot program x86 firmware is pointed at (dnsmasq's boot file).

``ipxe``: undionly.kpxe / ipxe.efi, then our boot.ipxe (kernels over HTTP).
``pxelinux``: BIOS only, everything over TFTP. ``grub``: UEFI, full DHCP only (GRUB 2.06
ignores proxyDHCP). ``shim``: UEFI Secure Boot — signed shim, then signed GRUB (kernels
over HTTP); never an unsigned loader; BIOS clients of such a host get iPXE. s390x firmware
has its own loader and ignores this.
"""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DhcpSettings(_Model):
    """How the spawned dnsmasq answers.

    ``proxy`` leaves addresses to the LAN's DHCP server and only adds boot information;
    ``full`` hands out leases (isolated lab nets; s390x firmware cannot use proxyDHCP);
    ``off`` runs no dnsmasq at all (another DHCP server points clients here).
    """

    mode: Literal["proxy", "full", "off"] = "proxy"
    subnet: IPv4Network | None = Field(None, description="proxy: the LAN subnet to answer on")
    range: tuple[IPv4Address, IPv4Address] | None = Field(None, description="full: first, last")
    lease: str = Field("1h", description="full: dnsmasq lease time, e.g. 30m, 12h, infinite")
    router: IPv4Address | None = None
    dns: tuple[IPv4Address, ...] = ()
    s390x_addresses: dict[MacAddress, IPv4Address] = Field(
        default_factory=dict,
        description="proxy mode: fixed full-DHCP leases for s390x hosts (no proxyDHCP there)",
    )


class NetworkSettings(_Model):
    interface: str | None = Field(None, description="interface to serve on, e.g. br0")
    server: IPv4Address | None = Field(None, description="our address; derived from interface")
    dhcp: DhcpSettings = DhcpSettings()
    relayed: tuple[RelayedSubnet, ...] = Field(
        (), description="subnets behind DHCP relays (giaddr) served too; README 'Relayed subnets'"
    )


class TftpSettings(_Model):
    root: Path = Path("tftp")
    port: int = Field(69, ge=1, le=65535)
    bind: IPv4Address | None = None


class HttpSettings(_Model):
    root: Path | None = Field(None, description="default: the TFTP root (one tree to manage)")
    port: int = Field(8080, ge=1, le=65535)
    bind: IPv4Address | None = None
    base_url: str | None = Field(None, description="default http://<server>:<port>")


class Limits(_Model):
    """Resource bounds for a service that runs for days on a shared LAN (README "Limits").

    Each limit, when hit, produces one rate-limited ``EngineMessage`` (warning) naming it.
    """

    http_idle_timeout: float = Field(
        60.0,
        gt=0,
        le=86400,
        description="seconds an HTTP connection may go without a complete request head, from "
        "its connect or its last response (idle, slow headers and keep-alive alike)",
    )
    http_min_rate: int = Field(
        64 << 10,
        ge=1,
        description="bytes/s a download must average over each 4 MiB slice (at least "
        "http_idle_timeout per slice); a client that stops reading is cut off",
    )
    http_connections: int = Field(
        0, ge=0, description="open HTTP connections at most; 0 = the fd limit minus fd_reserve"
    )
    fd_reserve: int = Field(
        640,
        ge=16,
        le=65536,
        description="file descriptors HTTP leaves for TFTP (256 sessions x 2), control, database",
    )
    history_rows: int = Field(
        200_000, ge=100, description="history rows kept in all (oldest go first)"
    )
    history_days: float = Field(30.0, gt=0, description="history older than this is deleted")


def _efi_under_root(value: str) -> str:
    # It becomes the DHCP boot file and the BOOTP file field: a plain path under the root.
    parts = value.strip("/").split("/")
    if "://" in value or ".." in parts or not value.lower().endswith(".efi") or len(value) > 120:
        raise ValueError(f"{value!r} must be a path under the TFTP root ending in .efi")
    return value.strip("/")


class ShimSettings(_Model):
    """``loader: shim``: which shim UEFI clients are handed (README "Secure Boot")."""

    file: Annotated[Line, AfterValidator(_efi_under_root)] = Field(
        "shimx64.efi",
        description="shim under the TFTP root; grubx64.efi must sit beside it (default: "
        "Debian's signed shim, installed with Debian's signed GRUB as grubx64.efi)",
    )


GrubFiles = Literal["http", "tftp"]
"""How GRUB (``loader: grub``, not shim) fetches kernels and initrds under our roots."""
GRUB_FILES_DEFAULT: GrubFiles = "http"  # README "Secure Boot", "GRUB: HTTP, then TFTP"


class GrubSettings(_Model):
    """``loader: grub``: how GRUB fetches files under our roots (README "Secure Boot")."""

    files: GrubFiles = Field(
        GRUB_FILES_DEFAULT,
        description="tftp: (tftp,<server>)/…; http: (http,<server>:<port>)/… through GRUB's "
        "http module, TFTP when that fails; shim hosts always use TFTP",
    )


class _EntryBase(_Model):
    description: Line = ""
    arch: Literal["any", "x86", "s390x", "arm64"] = Field(
        "any", description="which clients this entry's kernel can boot (checked by `check`)"
    )


class _KernelEntry(_EntryBase):
    kernel: Line = Field(description="path under the HTTP/TFTP roots, or an http:// URL")
    initrds: tuple[Line, ...] = ()
    args: Line = Field("", description="kernel arguments; a template, see README")


class LinuxEntry(_KernelEntry):
    kind: Literal["linux"]


class CentosEntry(_KernelEntry):
    """A serial CentOS/RHEL installer: console, repo, text mode, optional kickstart."""

    kind: Literal["centos"]
    repo: Line = Field(description="installation tree URL (inst.repo=, or method= for 7)")
    version: int = Field(8, ge=5, le=20)
    kickstart: Line | None = None
    console: Line = "ttyS0,115200"
    text: bool = True


class LiveEntry(_KernelEntry):
    """Diskless: dracut livenet fetches a squashfs (or a LiveOS ISO) over our HTTP."""

    kind: Literal["live"]
    image: Line = Field(description="squashfs.img or .iso under the HTTP root, or a URL")


class LocalEntry(_EntryBase):
    kind: Literal["local"]


class MenuEntry(_EntryBase):
    kind: Literal["menu"]
    title: Line = "pxetui boot menu"
    items: tuple[EntryName, ...] = Field(min_length=1)
    default: EntryName | None = None
    timeout: int = Field(10, ge=0, le=3600, description="seconds; 0 waits for a choice")


class ChainEntry(_EntryBase):
    kind: Literal["chain"]
    url: Line = Field(description="an iPXE-loadable URL; a template like kernel args")


Entry = Annotated[
    LinuxEntry | CentosEntry | LiveEntry | LocalEntry | MenuEntry | ChainEntry,
    Field(discriminator="kind"),
]


class Host(_Model):
    entry: EntryName
    once: bool = False
    hostname: HostName | None = None
    arch: Arch | None = None
    uuid: UUID | None = None
    loader: Loader | None = Field(None, description="default: the profile's loader")
    macs: tuple[MacAddress, ...] = Field(
        (), description="other NICs of the same machine: iPXE tries each in turn"
    )


ENGINE_KEYS = ("network", "tftp", "http", "state_dir")
"""The settings an ``engines.<name>`` section may give for its engine."""


class EngineSection(_Model):
    """One engine's own part of a profile several engines share (``engines.<name>``).

    Entries, hosts, loader, store and limits are shared; each engine has its own network
    (its segment, relays) and, when engines share a host, its own ports, roots and state.
    ``pxetui serve --engine NAME`` (or ``PXETUI_ENGINE``) picks the section; ``check``
    checks every engine's combination."""

    network: NetworkSettings
    tftp: TftpSettings | None = Field(None, description="default: the profile's tftp")
    http: HttpSettings | None = Field(None, description="default: the profile's http")
    state_dir: Path | None = Field(None, description="default: <state_dir>/<engine name>")


class Profile(_Model):
    name: str = "pxetui"
    network: NetworkSettings = NetworkSettings()
    tftp: TftpSettings = TftpSettings()
    http: HttpSettings = HttpSettings()
    state_dir: Path | None = Field(None, description="engine database and sockets")
    store: Annotated[Line, AfterValidator(_store_url)] | None = Field(
        None,
        description="postgresql://… shared by several engines (default: SQLite in state_dir); "
        "the profile's name is this engine's name there",
    )
    limits: Limits = Limits()
    entries: dict[EntryName, Entry] = Field(default_factory=dict)
    hosts: dict[MacAddress, Host] = Field(default_factory=dict)
    loader: Loader = "ipxe"
    shim: ShimSettings = ShimSettings()
    grub: GrubSettings = GrubSettings()
    unknown: EntryName = Field("local", description="entry for unknown clients ('local' built in)")
    engines: dict[EntryName, EngineSection] = Field(
        default_factory=dict,
        description="several engines sharing this profile: each one's network (README "
        "'One profile for the fleet')",
    )

    # Where each value came from, filled by the loader so later checks (`pxetui check`) can
    # name ``file:line`` too. Keys are YAML paths, e.g. ("hosts", "52:54:00:12:34:56", "entry").
    _source: str = PrivateAttr("profile")
    _lines: dict[tuple[str, ...], int] = PrivateAttr(default_factory=dict)
    _engine: str | None = PrivateAttr(None)  # set on one engine's view (engines.<name>)

    def where(self, *path: str) -> str:
        """``lab.yaml:14`` for the deepest known part of *path* (``lab.yaml`` if unknown)."""
        for end in range(len(path), 0, -1):
            line = self._lines.get(tuple(path[:end]))
            if line is not None:
                return f"{self._source}:{line}"
        return self._source

    @property
    def serving_engine(self) -> str | None:
        """The engine this is the view of (``engines.<name>``), or None."""
        return self._engine

    def field_path(self, *path: str) -> str:
        """``network.dhcp.range`` as the operator finds it: under ``engines.<name>`` when
        this is one engine's view and the setting is that engine's own."""
        dotted = ".".join(path)
        if self._engine is not None and path and path[0] in ENGINE_KEYS:
            return f"engines.{self._engine}.{dotted}"
        return dotted

    def entry_or_local(self, name: str) -> Entry:
        """The named entry; ``local`` is built in unless the profile defines its own."""
        if name in self.entries:
            return self.entries[name]
        if name == "local":
            return LocalEntry(kind="local", description="Boot from local disk")
        raise KeyError(name)
