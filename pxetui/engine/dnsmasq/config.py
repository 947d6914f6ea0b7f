"""Render dnsmasq's command line from the profile (pure: no I/O, unit-tested).

Why a command line and not a config file: every option is visible in ``ps`` and in the
orphan check, ``--conf-file=/dev/null`` guarantees no distribution file sneaks in, and the
list is passed to ``exec`` without a shell, so no quoting can go wrong.

The boot-file decisions (see PXE-FACTS.md):

* **proxy** (default): ``--dhcp-range=<net>,proxy``; one ``--pxe-service`` per client system
  type x86PC, BC_EFI (arch 7) *and* X86-64_EFI (arch 9) — an arch-7 client got no boot file
  when only one was offered — each ending in ``,<server>`` so firmware fetches from us.
  Exactly one service matches any client (tags are mutually exclusive), because UEFI
  clients are sent to port 4011 when several do.
* **full** (isolated lab nets): a range, ``--dhcp-boot=tag:…,<file>,,<server>`` per arch,
  ``--no-ping`` and iPXE's no-proxy-wait option ``encap:175,176,1b``.
* The iPXE loop-break: ``--dhcp-userclass=set:ipxe,iPXE``; ``tag:!ipxe`` gets the loader
  (undionly.kpxe / ipxe.efi / pxelinux.0), ``tag:ipxe`` gets boot.ipxe.
* A host whose loader differs from the profile's gets ``--dhcp-host=<mac>,set:ld-<loader>``.
* ``loader: shim`` (Secure Boot): x64 UEFI clients get shim (``shim.file``) in both modes and
  whether or not they say iPXE — never the unsigned ipxe.efi; BIOS clients of such a host
  get iPXE. shim loads ``grubx64.efi`` from the directory of the BOOTP *file* field, which
  dnsmasq empties (moving the name into option 67) when the client asks for 67: full mode
  adds ``--dhcp-no-override`` so the name stays in the field.
* UEFI HTTP boot (full mode): a client with option 93 = 16 gets its loader as a URL on our
  HTTP server (``--dhcp-boot=tag:efi64http,http://…/ipxe.efi``, shim or GRUB likewise) and
  option 60 ``HTTPClient``, without which EDK2 ignores the offer. dnsmasq's proxyDHCP
  answers only ``PXEClient``, so behind a proxy HTTP-boot clients get nothing from us.
* s390x hosts cannot use proxyDHCP: they get a full-DHCP host entry whose boot file is the
  per-MAC ``s390x/01-<mac>`` file; in proxy mode only when the profile gives them an address
  (a ``static`` range next to the proxy range), otherwise a warning explains what to do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from pxetui.core import layout
from pxetui.core.arch import (
    TAG_ARM64,
    TAG_BIOS,
    TAG_EFI32,
    TAG_EFI64,
    TAG_EFI64_HTTP,
    TAG_IPXE,
    TAG_S390X,
)
from pxetui.core.mac import MacAddress
from pxetui.core.profile.model import Loader, Profile
from pxetui.core.profile.secure_boot import PROXY_GRUB
from pxetui.engine.dnsmasq.relayed import relayed_args

PID_FILE = "dnsmasq.pid"
LEASE_FILE = "dnsmasq.leases"
FIRMWARE_TFTP_PORT = 69
TAG_S390X_HOST = "s390x-host"
MENU_TEXT = "pxetui"

# Option 93 codes each arch tag is set from (both 7 and 9 are x64 UEFI).
_ARCH_MATCHES: tuple[tuple[str, int], ...] = (
    (TAG_BIOS, 0),
    (TAG_EFI32, 6),
    (TAG_EFI64, 7),
    (TAG_EFI64, 9),
    (TAG_ARM64, 11),
    (TAG_S390X, 31),
    (TAG_S390X, 32),
    (TAG_EFI64_HTTP, 16),
)
# PXE client system types we serve and the arch class each stands for.
_PXE_SERVICES: tuple[tuple[str, str], ...] = (
    ("x86PC", "bios"),
    ("BC_EFI", "efi64"),
    ("X86-64_EFI", "efi64"),
)
_INTERFACE = re.compile(r"^[A-Za-z0-9_.:@-]{1,15}$")
_HOSTNAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_LEASE_LIKE = re.compile(r"^\d+[smhdw]?$|^infinite$", re.IGNORECASE)


class DnsmasqConfigError(ValueError):
    """The profile cannot be turned into a working dnsmasq configuration."""


@dataclass(frozen=True, slots=True)
class DnsmasqConfig:
    """dnsmasq's arguments (without the program name) and what the operator should know."""

    args: list[str]
    warnings: list[str] = field(default_factory=list)


def loader_tag(loader: Loader) -> str:
    """The tag a host with a non-default loader carries (``ld-pxelinux``)."""
    return f"ld-{loader}"


def host_tag(mac: MacAddress) -> str:
    """A tag unique to one MAC, for per-host boot files (s390x)."""
    return f"h-{mac.hex12}"


def _loader_file(
    loader: Loader, arch_class: str, ipxe_client: bool, mode: str, shim: str = layout.SHIM_EFI
) -> str:
    """Which file a client of this loader/arch gets; iPXE clients get boot.ipxe."""
    if arch_class == "efi64" and loader == "shim":
        return shim  # Secure Boot: never ipxe.efi, even to a client that says iPXE
    if arch_class == "bios" and loader == "pxelinux":
        return layout.PXELINUX  # pxelinux.0 also runs fine when chained from an iPXE ROM
    if arch_class == "efi64" and loader == "grub" and mode == "full":
        return layout.GRUB_EFI
    if ipxe_client:
        return layout.BOOT_IPXE
    return layout.UNDIONLY if arch_class == "bios" else layout.IPXE_EFI


def _pxe_basename(filename: str) -> str:
    # dnsmasq appends the PXE layer suffix ".0" to a basename without a dot; every file we
    # hand out has its full name, so refuse anything that would be silently renamed.
    if "." not in filename.rsplit("/", 1)[-1]:
        raise DnsmasqConfigError(f"pxe-service file {filename!r} has no suffix: dnsmasq adds .0")
    return filename


def _common(interface: str, state_dir: Path) -> list[str]:
    return [
        "--keep-in-foreground",
        "--conf-file=/dev/null",
        "--port=0",  # no DNS
        "--no-resolv",
        "--no-hosts",
        "--log-dhcp",
        "--log-facility=-",  # to stderr, which the supervisor reads
        f"--interface={interface}",
        "--bind-interfaces",
        f"--pid-file={state_dir / PID_FILE}",
        f"--dhcp-leasefile={state_dir / LEASE_FILE}",
    ]


def _tags_expr(tags: list[str]) -> str:
    return "".join(f"tag:{t}," for t in tags)


class _Builder:
    """Collects arguments and warnings for one rendering; not part of the API."""

    def __init__(self, profile: Profile, server: IPv4Address, network: IPv4Network | None):
        self.profile = profile
        self.dhcp = profile.network.dhcp
        self.mode = self.dhcp.mode
        # GRUB 2.06 ignores proxyDHCP answers: behind a proxy its hosts are iPXE hosts.
        self.default_loader: Loader = self.effective(profile.loader)
        self.server = server
        self.shim = profile.shim.file
        base = profile.http.base_url or f"http://{server}:{profile.http.port}"
        # UEFI HTTP boot fetches the loader from this URL (https needs enrolled CAs: skip).
        self.http_base: str | None = base.rstrip("/") if base.startswith("http://") else None
        self.network = self.dhcp.subnet or network
        self.args: list[str] = []
        self.warnings: list[str] = []

    def effective(self, loader: Loader) -> Loader:
        return "ipxe" if loader == "grub" and self.mode == "proxy" else loader

    def host_loader(self, mac: MacAddress) -> Loader:
        host = self.profile.hosts[mac]
        return self.effective(host.loader or self.profile.loader)

    def used_loaders(self) -> list[Loader]:
        loaders: list[Loader] = [self.default_loader]
        for mac, host in self.profile.hosts.items():
            if host.arch == "s390x":
                continue
            loader = self.host_loader(mac)
            if loader not in loaders:
                loaders.append(loader)
        return loaders

    def loader_condition(self, loader: Loader, loaders: list[Loader]) -> list[str]:
        if loader == self.default_loader:
            return [f"!{loader_tag(other)}" for other in loaders if other != loader]
        return [loader_tag(loader)]

    def host_entries(self, mode: str) -> list[tuple[MacAddress, IPv4Address | None]]:
        """``--dhcp-host`` lines; returns the s390x hosts that get a full-DHCP lease."""
        s390x: list[tuple[MacAddress, IPv4Address | None]] = []
        for mac, host in sorted(self.profile.hosts.items()):
            macs = (mac, *host.macs)
            if host.arch == "s390x":
                address = self.dhcp.s390x_addresses.get(mac)
                if mode == "proxy" and address is None:
                    self.warnings.append(
                        f"s390x host {mac} cannot boot behind proxyDHCP (its firmware takes "
                        "the first DHCP offer and ignores proxy answers): give it a fixed "
                        "address in network.dhcp.s390x_addresses, or use dhcp.mode: full "
                        "on an isolated network"
                    )
                    continue
                tags = f"set:{TAG_S390X},set:{TAG_S390X_HOST},set:{host_tag(mac)}"
                name = self.name_suffix(mac, host.hostname)
                for each in macs:
                    ip = f",{address}" if address is not None and each == mac else ""
                    self.args.append(f"--dhcp-host={each},{tags}{ip}{name if each == mac else ''}")
                s390x.append((mac, address))
                continue
            loader = self.host_loader(mac)
            if host.arch in ("uefi-ia32", "uefi-arm64"):
                self.warnings.append(
                    f"host {mac}: no network boot program for {host.arch} is served "
                    "(only BIOS and x64 UEFI), so its firmware will get no boot file"
                )
            if (host.loader or self.profile.loader) == "grub" and mode == "proxy":
                self.warnings.append(
                    f"host {mac}: GRUB ignores proxyDHCP answers, so it gets iPXE "
                    "(ipxe.efi) instead; use dhcp.mode: full for GRUB"
                )
            if loader == "pxelinux" and host.arch == "uefi-x64":
                self.warnings.append(
                    f"host {mac}: pxelinux.0 is BIOS-only; this UEFI host gets iPXE instead"
                )
            tag = f",set:{loader_tag(loader)}" if loader != self.default_loader else ""
            name = self.name_suffix(mac, host.hostname) if mode == "full" else ""
            for each in macs:
                fields = tag + (name if each == mac else "")
                if fields:
                    self.args.append(f"--dhcp-host={each}{fields}")
        return s390x

    def name_suffix(self, mac: MacAddress, hostname: str | None) -> str:
        """``,<hostname>`` for a host we lease to, when dnsmasq can take it as a name."""
        if not hostname:
            return ""
        # dnsmasq reads a bare number (or 45m, 2h …) in --dhcp-host as a lease time.
        if not _HOSTNAME.match(hostname) or _LEASE_LIKE.match(hostname):
            self.warnings.append(
                f"host {mac}: hostname {hostname!r} is not a plain DNS label; DHCP will not send it"
            )
            return ""
        return f",{hostname}"

    def s390x_boot(self, hosts: list[tuple[MacAddress, IPv4Address | None]]) -> None:
        for mac, _ in hosts:
            boot = layout.s390x_config(mac)
            self.args.append(f"--dhcp-boot=tag:{host_tag(mac)},{boot},,{self.server}")

    def arch_matches(self) -> None:
        self.args.append(f"--dhcp-userclass=set:{TAG_IPXE},iPXE")
        for tag, code in _ARCH_MATCHES:
            self.args.append(f"--dhcp-match=set:{tag},option:client-arch,{code}")

    def netmask_suffix(self) -> str:
        return f",{self.network.netmask}" if self.network is not None else ""


def _proxy(b: _Builder, mode: str) -> None:
    start = b.network.network_address if b.network is not None else b.server
    s390x_hosts = [m for m, h in b.profile.hosts.items() if h.arch == "s390x"]
    if any(m in b.dhcp.s390x_addresses for m in s390x_hosts):
        # The static range must come first: dnsmasq tries its ranges in that order, and
        # with the proxy range first it never leases to the (non-PXE) s390x firmware.
        b.args.append(f"--dhcp-range={start},static{b.netmask_suffix()},{b.dhcp.lease}")
    # Without a netmask dnsmasq takes the interface's.
    b.args.append(f"--dhcp-range={start},proxy{b.netmask_suffix()}")
    b.arch_matches()
    if b.profile.loader == "grub":
        b.warnings.append(
            "loader grub: GRUB ignores proxyDHCP answers, so clients get iPXE instead; "
            "use dhcp.mode: full for GRUB"
        )
    if "shim" in b.used_loaders():
        b.warnings.append(f"loader shim: {PROXY_GRUB}")
    s390x = b.host_entries(mode)
    if s390x:
        if b.dhcp.router is not None:
            b.args.append(f"--dhcp-option=tag:{TAG_S390X_HOST},option:router,{b.dhcp.router}")
        else:
            # Without this dnsmasq would name itself the s390x guest's default gateway.
            b.args.append(f"--dhcp-option=tag:{TAG_S390X_HOST},option:router")
        b.s390x_boot(s390x)
        b.warnings.append(
            "s390x hosts get full DHCP leases from pxetui next to the proxy: if the LAN's "
            "DHCP server also answers them, the firmware takes whichever offer comes first"
        )
    loaders = b.used_loaders()
    for csa, arch_class in _PXE_SERVICES:
        for loader in loaders:
            condition = b.loader_condition(loader, loaders)
            plain = _loader_file(loader, arch_class, False, mode, b.shim)
            chained = _loader_file(loader, arch_class, True, mode, b.shim)
            variants = (
                [(condition, plain)]
                if plain == chained
                else [([*condition, f"!{TAG_IPXE}"], plain), ([*condition, TAG_IPXE], chained)]
            )
            for tags, filename in variants:
                b.args.append(
                    f"--pxe-service={_tags_expr(tags)}{csa},{MENU_TEXT},"
                    f"{_pxe_basename(filename)},{b.server}"
                )


def _full(b: _Builder, mode: str) -> None:
    if b.dhcp.range is None:
        raise DnsmasqConfigError("dhcp.mode full needs network.dhcp.range: [first, last]")
    first, last = b.dhcp.range
    if first > last:
        raise DnsmasqConfigError(f"network.dhcp.range: {first} comes after {last}")
    if b.network is not None and (first not in b.network or last not in b.network):
        b.warnings.append(f"network.dhcp.range {first}-{last} is not inside {b.network}")
    b.args.append(f"--dhcp-range={first},{last}{b.netmask_suffix()},{b.dhcp.lease}")
    b.args += ["--no-ping", "--dhcp-authoritative", "--dhcp-option=encap:175,176,1b"]
    if "shim" in b.used_loaders():
        b.args.append("--dhcp-no-override")  # the boot file in the BOOTP field, for shim
    if b.dhcp.router is not None:
        b.args.append(f"--dhcp-option=option:router,{b.dhcp.router}")
    if b.dhcp.dns:
        b.args.append(f"--dhcp-option=option:dns-server,{','.join(map(str, b.dhcp.dns))}")
    b.arch_matches()
    s390x = b.host_entries(mode)
    for mac, address in s390x:
        if address is not None and b.network is not None and address not in b.network:
            b.warnings.append(f"s390x host {mac}: {address} is not inside {b.network}")
    b.s390x_boot(s390x)
    b.args.append(
        f"--dhcp-boot=tag:{TAG_S390X},tag:!{TAG_S390X_HOST},{layout.S390X_DEFAULT},,{b.server}"
    )
    loaders = b.used_loaders()
    if b.http_base is not None:
        b.args.append(f"--dhcp-option-force=tag:{TAG_EFI64_HTTP},option:vendor-class,HTTPClient")
        for loader in loaders:
            http_tags = _tags_expr([TAG_EFI64_HTTP, *b.loader_condition(loader, loaders)])
            path = _loader_file(loader, "efi64", False, mode, b.shim)
            b.args.append(f"--dhcp-boot={http_tags}{b.http_base}/{path}")
    for arch_class, arch_tag in (("bios", TAG_BIOS), ("efi64", TAG_EFI64)):
        for loader in loaders:
            condition = [arch_tag, *b.loader_condition(loader, loaders)]
            plain = _loader_file(loader, arch_class, False, mode, b.shim)
            chained = _loader_file(loader, arch_class, True, mode, b.shim)
            variants = (
                [(condition, plain)]
                if plain == chained
                else [([*condition, f"!{TAG_IPXE}"], plain), ([*condition, TAG_IPXE], chained)]
            )
            for tags, filename in variants:
                b.args.append(f"--dhcp-boot={_tags_expr(tags)}{filename},,{b.server}")


def dnsmasq_config(
    profile: Profile,
    *,
    server: IPv4Address,
    interface: str,
    state_dir: Path,
    tftp_port: int,
    network: IPv4Network | None = None,
) -> DnsmasqConfig:
    """dnsmasq's arguments for *profile* on *interface*, plus warnings for the operator.

    *server* is our address on the interface (firmware fetches boot files from it);
    *network* the interface's subnet when the profile does not name one (proxy mode then
    falls back to the interface's netmask). Raises :class:`DnsmasqConfigError` when no
    working configuration exists (mode ``off``, full mode without a range, a bad name).
    """
    mode = profile.network.dhcp.mode
    if mode == "off":
        raise DnsmasqConfigError("dhcp.mode is off: no dnsmasq is run")
    if not _INTERFACE.match(interface):
        raise DnsmasqConfigError(f"not an interface name: {interface!r}")
    if not _LEASE_LIKE.match(profile.network.dhcp.lease):
        raise DnsmasqConfigError(
            f"network.dhcp.lease: {profile.network.dhcp.lease!r} is not a lease time "
            "(seconds, or a number with s/m/h/d/w, or infinite)"
        )
    b = _Builder(profile, server, network)
    b.args += _common(interface, state_dir)
    if b.network is not None and server not in b.network:
        b.warnings.append(f"our address {server} is not inside {b.network}")
    if tftp_port != FIRMWARE_TFTP_PORT:
        b.warnings.append(
            f"TFTP is on port {tftp_port}: DHCP cannot tell a client another port, so real "
            "PXE firmware (and pxelinux, GRUB, s390-ccw) will still ask port 69"
        )
    if mode == "proxy":
        _proxy(b, mode)
    else:
        _full(b, mode)
    b.args += relayed_args(profile)  # segments behind DHCP relays (README "Relayed subnets")
    return DnsmasqConfig(args=b.args, warnings=b.warnings)


def dnsmasq_args(
    profile: Profile,
    *,
    server: IPv4Address,
    interface: str,
    state_dir: Path,
    tftp_port: int,
    network: IPv4Network | None = None,
) -> list[str]:
    """Just the arguments of :func:`dnsmasq_config` (warnings dropped)."""
    return dnsmasq_config(
        profile,
        server=server,
        interface=interface,
        state_dir=state_dir,
        tftp_port=tftp_port,
        network=network,
    ).args
