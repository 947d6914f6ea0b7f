"""From a profile entry to loader-neutral boot steps: what to boot, with which command line.

Each loader renderer (pxelinux, iPXE, GRUB, s390x) turns the same :class:`Plan` into its own
syntax, so the kernel command line — console, repo, kickstart, live root, templates — is
composed in exactly one place and every loader boots the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pxetui.core.live import LIVE_ARGS, cmdline_args
from pxetui.core.mac import MacAddress
from pxetui.core.profile.model import (
    CentosEntry,
    ChainEntry,
    Entry,
    LinuxEntry,
    LiveEntry,
    LocalEntry,
    MenuEntry,
    Profile,
)
from pxetui.core.profile.template import TemplateError, expand
from pxetui.core.render.context import RenderContext, RenderError


@dataclass(frozen=True, slots=True)
class KernelBoot:
    """Load a kernel (+ initrds) with a command line. Paths are as the profile wrote them."""

    name: str
    title: str
    kernel: str
    initrds: tuple[str, ...]
    cmdline: str


@dataclass(frozen=True, slots=True)
class LocalBoot:
    """Hand back to the firmware: boot from the local disk."""

    name: str
    title: str


@dataclass(frozen=True, slots=True)
class ChainBoot:
    """iPXE ``chain`` to a URL (other loaders hand over to iPXE first)."""

    name: str
    title: str
    url: str


Boot = KernelBoot | LocalBoot | ChainBoot


@dataclass(frozen=True, slots=True)
class Plan:
    """One assigned entry: a single boot, or a menu of boots with a default and timeout."""

    entry: str
    boots: tuple[Boot, ...]
    default: str
    menu_title: str | None = None
    timeout: int = 0

    @property
    def is_menu(self) -> bool:
        return self.menu_title is not None


def is_url(location: str) -> bool:
    """``http://…``, ``https://…``, ``tftp://…``: fetched as written, not from our roots."""
    return "://" in location


def http_url(location: str, ctx: RenderContext) -> str:
    """Where a loader that speaks HTTP fetches *location* (paths are under our HTTP root)."""
    return location if is_url(location) else f"{ctx.http_base}/{location.lstrip('/')}"


def tftp_path(location: str) -> str:
    """The TFTP name for a path under the root (no leading slash: relative to pxelinux.0)."""
    return location.lstrip("/")


def host_values(ctx: RenderContext, mac: MacAddress, hostname: str | None) -> dict[str, str]:
    """Template values for a known host (``entry`` is set per boot)."""
    return {
        "server": str(ctx.server),
        "http": ctx.http_base,
        "mac": mac.colon,
        "mac_hyp": mac.hexhyp,
        "hostname": hostname or "",
        "entry": "",
    }


def _expand(text: str, values: Mapping[str, str], name: str) -> str:
    try:
        return expand(text, values)
    except TemplateError as exc:
        raise RenderError(f"entry '{name}': {exc}") from exc


def _cmdline(entry: Entry, name: str, ctx: RenderContext, values: Mapping[str, str]) -> str:
    assert isinstance(entry, LinuxEntry | CentosEntry | LiveEntry)
    user = _expand(entry.args, values, name)
    parts: list[str] = []
    if isinstance(entry, CentosEntry):
        repo = http_url(_expand(entry.repo, values, name), ctx)
        old = entry.version <= 7  # method= up to CentOS/RHEL 7, inst.repo= from 8
        parts.append(f"console={entry.console}")
        parts.append(f"method={repo}" if old else f"inst.repo={repo}")
        if entry.text:
            parts.append("text" if entry.version <= 6 else "inst.text")
        if entry.kickstart:
            ks = http_url(_expand(entry.kickstart, values, name), ctx)
            parts.append(f"ks={ks}" if entry.version <= 6 else f"inst.ks={ks}")
    elif isinstance(entry, LiveEntry):
        image = http_url(_expand(entry.image, values, name), ctx)
        given = cmdline_args(user)
        parts.append(f"root=live:{image}")
        parts += [a for a in LIVE_ARGS if a.partition("=")[0] not in given]
    parts.append(user)  # the operator's own arguments last: the kernel lets the last one win
    return " ".join(p for p in parts if p)


def _boot(profile: Profile, ctx: RenderContext, name: str, values: Mapping[str, str]) -> Boot:
    entry = profile.entry_or_local(name)
    title = entry.description or name
    scoped = {**values, "entry": name}
    if isinstance(entry, LocalEntry):
        return LocalBoot(name=name, title=title)
    if isinstance(entry, ChainEntry):
        return ChainBoot(name=name, title=title, url=_expand(entry.url, scoped, name))
    if isinstance(entry, MenuEntry):
        raise RenderError(f"entry '{name}': a menu cannot contain a menu")
    kernel = _expand(entry.kernel, scoped, name)
    initrds = tuple(_expand(i, scoped, name) for i in entry.initrds)
    return KernelBoot(
        name=name,
        title=title,
        kernel=kernel,
        initrds=initrds,
        cmdline=_cmdline(entry, name, ctx, scoped),
    )


def plan_entry(profile: Profile, ctx: RenderContext, name: str, values: Mapping[str, str]) -> Plan:
    """The boots entry *name* stands for, with templates filled from *values*."""
    try:
        entry = profile.entry_or_local(name)
    except KeyError:
        raise RenderError(f"'{name}' is not a defined entry") from None
    if isinstance(entry, MenuEntry):
        boots = tuple(_boot(profile, ctx, item, values) for item in entry.items)
        return Plan(
            entry=name,
            boots=boots,
            default=entry.default or entry.items[0],
            menu_title=entry.title,
            timeout=entry.timeout,
        )
    boot = _boot(profile, ctx, name, values)
    return Plan(entry=name, boots=(boot,), default=name)
