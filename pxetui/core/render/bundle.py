"""The complete file sets: every loader's form of one host's entry, and the defaults.

A host is rendered in every form its firmware might ask for, because which loader runs is
decided by DHCP and the firmware, not by us: an x86 host gets pxelinux, iPXE and GRUB files
for the same entry; an s390x host gets the s390-ccw form in both of its places.
"""

from __future__ import annotations

from collections.abc import Mapping

from pxetui.core import layout
from pxetui.core.mac import MacAddress
from pxetui.core.profile.model import Profile
from pxetui.core.render.context import BootFiles, RenderContext, RenderError
from pxetui.core.render.grub import MAC_HYP_VAR, render_grub, render_grub_dispatcher
from pxetui.core.render.ipxe import render_boot_ipxe, render_ipxe
from pxetui.core.render.plan import host_values, plan_entry
from pxetui.core.render.pxelinux import render_pxelinux
from pxetui.core.render.s390x import EMPTY, render_s390x


def render_entry_for(
    profile: Profile, ctx: RenderContext, mac: MacAddress, entry_name: str
) -> BootFiles:
    """What *mac* would get with *entry_name* (also for MACs not listed in the profile)."""
    if not isinstance(mac, MacAddress):
        raise TypeError("mac must be a MacAddress")
    host = profile.hosts.get(mac)
    hostname = host.hostname if host is not None else None
    plan = plan_entry(profile, ctx, entry_name, host_values(ctx, mac, hostname))
    who = f"{mac} ({hostname})" if hostname else str(mac)
    comment = f"pxetui: {who} -> entry '{entry_name}'"
    shim = ((host.loader if host is not None else None) or profile.loader) == "shim"
    if host is not None and host.arch == "s390x":
        config = render_s390x(plan, mac)
        return BootFiles({layout.pxelinux_config(mac): config, layout.s390x_config(mac): config})
    return BootFiles(
        {
            layout.pxelinux_config(mac): render_pxelinux(plan, comment),
            layout.ipxe_script(mac): render_ipxe(plan, ctx, comment),
            layout.grub_config(mac): render_grub(plan, ctx, comment, secure=shim),
        }
    )


def render_host(profile: Profile, ctx: RenderContext, mac: MacAddress) -> BootFiles:
    """The files for a host of the profile, with the entry the profile assigns it."""
    host = profile.hosts.get(mac)
    if host is None:
        raise RenderError(f"{mac} is not a host in the profile")
    return render_entry_for(profile, ctx, mac, host.entry)


def _unknown_values(ctx: RenderContext, mac: str, mac_hyp: str) -> Mapping[str, str]:
    # Unknown clients: the MAC is only known at boot time, so templates get the loader's
    # own variable for it (pxelinux has none: it appends BOOTIF=01-<mac> instead).
    return {
        "server": str(ctx.server),
        "http": ctx.http_base,
        "mac": mac,
        "mac_hyp": mac_hyp,
        "hostname": "",
        "entry": "",
    }


def render_defaults(profile: Profile, ctx: RenderContext) -> BootFiles:
    """Entry points and what unknown clients get (``profile.unknown``) in every form."""
    name = profile.unknown
    comment = f"pxetui: unknown clients -> entry '{name}'"
    ipxe_plan = plan_entry(profile, ctx, name, _unknown_values(ctx, "${mac}", "${mac:hexhyp}"))
    grub_plan = plan_entry(
        profile, ctx, name, _unknown_values(ctx, "${net_default_mac}", f"${{{MAC_HYP_VAR}}}")
    )
    pxe_plan = plan_entry(profile, ctx, name, _unknown_values(ctx, "", ""))
    return BootFiles(
        {
            layout.BOOT_IPXE: render_boot_ipxe(ctx),
            layout.IPXE_DEFAULT: render_ipxe(ipxe_plan, ctx, comment),
            layout.PXELINUX_DEFAULT: render_pxelinux(pxe_plan, comment, ipappend=True),
            layout.GRUB_DISPATCHER: render_grub_dispatcher(ctx),
            layout.GRUB_DEFAULT: render_grub(
                grub_plan, ctx, comment, secure=profile.loader == "shim"
            ),
            # s390x clients are always listed hosts (they need full DHCP per MAC): unknown
            # ones boot locally.
            layout.S390X_DEFAULT: EMPTY,
        }
    )
