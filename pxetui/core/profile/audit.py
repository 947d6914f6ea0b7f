"""Deeper checks than the schema: files on disk, arch sanity, loader limits, DHCP fit.

A profile can be valid YAML with valid references and still not boot: the kernel is not
under the TFTP root, an s390x host is pointed at an x86 kernel, its command line is over
the firmware's limit, or it sits behind proxyDHCP that s390x firmware ignores. ``pxetui
check`` runs these before an operator finds out from a machine that does not boot.
"""

from __future__ import annotations

import importlib.util
import stat
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from pxetui.core.boot_stage import StageMap, once_refusal
from pxetui.core.live import LiveImageError, inspect_live_image, live_problems
from pxetui.core.mac import MacAddress
from pxetui.core.profile.engines import engine_views
from pxetui.core.profile.errors import ProfileError
from pxetui.core.profile.loader import load_profile, load_profile_text
from pxetui.core.profile.model import (
    CentosEntry,
    Entry,
    LinuxEntry,
    LiveEntry,
    MenuEntry,
    Profile,
)
from pxetui.core.profile.secure_boot import shim_audit
from pxetui.core.render import RenderContext, RenderError, render_defaults, render_host
from pxetui.core.render.plan import is_url
from pxetui.core.wording import NOT_WORLD_READABLE, chmod_fix


def _leaf_entries(profile: Profile, name: str) -> list[tuple[str, Entry]]:
    entry = profile.entry_or_local(name)
    if isinstance(entry, MenuEntry):
        return [(item, profile.entry_or_local(item)) for item in entry.items]
    return [(name, entry)]


def _under(root: Path, rel: str) -> Path | None:
    """*rel* under *root*, or None when it would leave the root."""
    target = (root / rel.lstrip("/")).resolve()
    return target if target.is_relative_to(root.resolve()) else None


class _Audit:
    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.tftp = profile.tftp.root
        self.http = profile.http.root or profile.tftp.root
        self.problems: list[str] = []
        self.keys = _host_keys(profile)

    def key(self, mac: MacAddress) -> str:
        return self.keys.get(mac, mac.colon)

    def add(self, path: tuple[str, ...], message: str) -> None:
        where, field = self.profile.where(*path), self.profile.field_path(*path)
        self.problems.append(f"{where}: {field}: {message}")

    def need(self, path: tuple[str, ...], rel: str, roots: dict[str, Path], is_dir: bool) -> bool:
        """Is *rel* there and servable under every root? (False also for URLs/templates.)"""
        if is_url(rel) or "{" in rel:
            return False  # a URL or a per-host template: nothing to look at here
        before = len(self.problems)
        for label, root in roots.items():
            target = _under(root, rel)
            if target is None:
                self.add(path, f"{rel} leaves the {label} root")
            elif not (target.is_dir() if is_dir else target.is_file()):
                kind = "directory" if is_dir else "file"
                self.add(path, f"{kind} {rel} not found under the {label} root ({root})")
            elif not is_dir and not _world_readable(target):
                # The file servers send only world-readable files (paths.py): it would 403.
                self.add(path, unreadable_file(rel, label, target))
        return len(self.problems) == before

    def live_image(self, name: str, entry: LiveEntry) -> None:
        """The image's layout is one dracut boots, with the arguments the entry gives."""
        target = _under(self.http, entry.image)
        assert target is not None  # need() said it is under the root
        try:
            image = inspect_live_image(target, entry.args)
        except (LiveImageError, OSError) as exc:
            self.add(("entries", name, "image"), f"{entry.image}: {exc}")
            return
        for problem in live_problems(image, entry.args, entry.image.rsplit("/", 1)[-1]):
            self.add(("entries", name, "args"), problem)

    def files(self) -> None:
        # Kernels and initrds go over TFTP (pxelinux, GRUB, s390x) and HTTP (iPXE).
        both = (
            {"TFTP": self.tftp, "HTTP": self.http}
            if self.http != self.tftp
            else {"TFTP": self.tftp}
        )
        http = {"HTTP": self.http}
        for name, entry in self.profile.entries.items():
            if isinstance(entry, LinuxEntry | CentosEntry | LiveEntry):
                self.need(("entries", name, "kernel"), entry.kernel, both, False)
                for i, initrd in enumerate(entry.initrds):
                    self.need(("entries", name, "initrds", str(i)), initrd, both, False)
            if isinstance(entry, LiveEntry) and self.need(
                ("entries", name, "image"), entry.image, http, False
            ):
                self.live_image(name, entry)
            if isinstance(entry, CentosEntry):
                self.need(("entries", name, "repo"), entry.repo, http, True)
                if entry.kickstart:
                    self.need(("entries", name, "kickstart"), entry.kickstart, http, False)

    def roots(self) -> None:
        # boot.ipxe fetches ipxe/<mac>.ipxe over HTTP, but the store writes under the TFTP
        # root: a separate HTTP root must expose that directory (a symlink will do).
        if self.http == self.tftp:
            return
        scripts = (self.tftp / "ipxe").resolve()
        if (self.http / "ipxe").resolve() != scripts:
            self.add(
                ("http", "root"),
                f"iPXE fetches ipxe/*.ipxe over HTTP from {self.http}, but pxetui writes "
                f"them to {self.tftp / 'ipxe'}: leave http.root unset (= the TFTP root) "
                f"or link {self.http / 'ipxe'} to it",
            )

    def hosts(self) -> None:
        dhcp = self.profile.network.dhcp
        stages = StageMap.from_profile(self.profile)
        for mac, host in self.profile.hosts.items():
            where = ("hosts", self.key(mac))
            refusal = once_refusal(stages, host.entry) if host.once else None
            if refusal is not None:
                self.add((*where, "once"), refusal)
            loader = host.loader or self.profile.loader
            if host.arch == "s390x" and dhcp.mode == "proxy" and mac not in dhcp.s390x_addresses:
                self.add(
                    where,
                    "s390x firmware ignores proxyDHCP: add it to "
                    "network.dhcp.s390x_addresses or use dhcp mode full",
                )
            if host.arch and host.arch.startswith("uefi") and loader == "pxelinux":
                self.add(where, "pxelinux.0 is BIOS-only; use loader ipxe or grub for UEFI")
            if host.arch == "bios" and loader == "grub":
                self.add(where, "GRUB netboot here is UEFI-only; use loader ipxe or pxelinux")
            for name, entry in _leaf_entries(self.profile, host.entry):
                if host.arch == "s390x" and entry.arch in ("x86", "arm64"):
                    self.add(where, f"s390x host, but entry '{name}' is for {entry.arch}")
                if host.arch not in (None, "s390x") and entry.arch == "s390x":
                    self.add(where, f"{host.arch} host, but entry '{name}' is for s390x")

    def relayed(self, server: IPv4Address) -> None:
        """``network.relayed``: what dnsmasq can serve through a relay, and nothing else."""
        net = self.profile.network
        mode = net.dhcp.mode
        seen: list[tuple[str, IPv4Network]] = []
        if net.dhcp.subnet is not None:
            seen.append(("network.dhcp.subnet", net.dhcp.subnet))
        for i, relayed in enumerate(net.relayed):
            at = ("network", "relayed", str(i))
            subnet = relayed.subnet
            if mode == "off":
                self.add(at, "dhcp.mode is off: no dnsmasq of ours answers relayed clients")
            if server in subnet:
                self.add(
                    (*at, "subnet"),
                    f"our address {server} is inside {subnet}: that segment is our own link, "
                    "not a relayed one",
                )
            for name, other in seen:
                if subnet.overlaps(other):
                    self.add((*at, "subnet"), f"{subnet} overlaps {name} ({other})")
            seen.append((f"network.relayed.{i}.subnet", subnet))
            if mode == "proxy":
                for field in ("range", "router"):
                    if getattr(relayed, field) is not None:
                        self.add(
                            (*at, field),
                            "dhcp.mode proxy: the site's DHCP server leases on relayed "
                            f"segments; {field} is for dhcp.mode full",
                        )
                if relayed.dns:
                    self.add((*at, "dns"), "dhcp.mode proxy: dns is for dhcp.mode full")
                continue
            if mode != "full":
                continue
            if relayed.range is None:
                self.add(at, f"dhcp.mode full needs a range: [first, last] inside {subnet}")
            else:
                first, last = relayed.range
                if first > last:
                    self.add((*at, "range"), f"{first} comes after {last}")
                for address in (first, last):
                    if address not in subnet:
                        self.add((*at, "range"), f"{address} is not inside {subnet}")
            if relayed.router is None:
                self.add(
                    at,
                    f"dhcp.mode full needs a router: clients on {subnet} reach us ({server}) "
                    "through it (usually the relay's address)",
                )
            elif relayed.router not in subnet:
                self.add((*at, "router"), f"{relayed.router} is not inside {subnet}")

    def renders(self, ctx: RenderContext) -> None:
        for mac in self.profile.hosts:
            try:
                render_host(self.profile, ctx, mac)
            except RenderError as exc:
                self.add(("hosts", self.key(mac)), str(exc))
        try:
            render_defaults(self.profile, ctx)
        except RenderError as exc:
            self.add(("unknown",), str(exc))


def _host_keys(profile: Profile) -> dict[MacAddress, str]:
    """Each host's key as the operator spelled it, so ``where()`` finds its line."""
    keys: dict[MacAddress, str] = {}
    for path in profile._lines:
        if len(path) == 2 and path[0] == "hosts":
            try:
                keys.setdefault(MacAddress.parse(path[1]), path[1])
            except ValueError:
                continue
    return keys


def unreadable_file(rel: str, label: str, target: Path) -> str:
    """A file the servers would refuse: TFTP with an access violation, HTTP with 403."""
    return (
        f"file {rel} under the {label} root is {NOT_WORLD_READABLE}: TFTP and HTTP would "
        f"refuse it (dracut writes its initrds 0600); {chmod_fix(target)}"
    )


def _world_readable(target: Path) -> bool:
    try:
        return bool(target.stat().st_mode & stat.S_IROTH)
    except OSError:
        return False


def profile_problems(profile: Profile, server: IPv4Address) -> list[str]:
    """Everything ``pxetui check`` rejects, for *server*'s address.

    The one validation: ``check``, the engine at start and at reload (SIGHUP, the
    console's entries editor) all call this, so none accepts what another refuses.
    """
    problems: list[str] = []
    for view in engine_views(profile):  # a shared profile: every engine's combination
        own = view.network.server or server
        for problem in audit_profile(view, RenderContext.for_profile(view, server=own)):
            if problem not in problems:
                problems.append(problem)
    return problems


def load_checked(path: Path, server: IPv4Address) -> Profile:
    """Load *path* and refuse it, with every reason, if ``pxetui check`` would.

    Blocking (file I/O, YAML, stat of every kernel): the engine runs it in a thread.
    """
    profile = load_profile(path)
    problems = profile_problems(profile, server)
    if problems:
        raise ProfileError(problems)
    return profile


PLACEHOLDER_SERVER = IPv4Address("192.0.2.1")  # TEST-NET-1: renders, never a real address


def text_problems(
    text: str, filename: str, base_dir: Path | None = None, server: IPv4Address | None = None
) -> str | None:
    """Why an editor must not save *text* (the loader's and ``check``'s reasons), or None.

    For the console's entries editor: the same rule as ``check`` and the engine's reload,
    checked before the file is written rather than after.
    """
    try:
        profile = load_profile_text(text, filename, base_dir)
    except ProfileError as exc:
        return str(exc)
    problems = profile_problems(profile, server or profile.network.server or PLACEHOLDER_SERVER)
    return str(ProfileError(problems)) if problems else None


def audit_profile(profile: Profile, ctx: RenderContext) -> list[str]:
    """Every reason *profile* would not boot its hosts, as ``file:line: field: message``."""
    audit = _Audit(profile)
    audit.files()
    audit.roots()
    audit.hosts()
    audit.relayed(ctx.server)
    audit.renders(ctx)
    asked = "files" in profile.grub.model_fields_set  # the default quietly stays on TFTP
    if asked and profile.grub.files == "http" and not ctx.http_base.startswith("http://"):
        audit.add(
            ("grub", "files"),
            f"http needs an http:// base URL (GRUB 2.06 has no TLS), not {ctx.http_base}; "
            "set http.base_url to http://… or grub.files to tftp",
        )
    for path, message in shim_audit(profile).problems:
        audit.add(path, message)
    if profile.store is not None and not psycopg_installed():
        audit.add(("store",), STORE_NEEDS_PSYCOPG)
    return audit.problems


STORE_NEEDS_PSYCOPG = (
    "a postgresql:// store needs psycopg 3, which is not installed: install pxetui with its "
    "'serve' extra (pip install 'pxetui[serve]') or Debian's python3-psycopg"
)


def psycopg_installed() -> bool:
    """Whether a shared store could be opened here (psycopg is an optional dependency)."""
    return importlib.util.find_spec("psycopg") is not None


def profile_warnings(profile: Profile) -> list[str]:
    """What ``check`` warns about without refusing the profile (boots through shim)."""
    return [
        f"{profile.where(*path)}: {'.'.join(path)}: warning: {message}"
        for path, message in shim_audit(profile).warnings
    ]
