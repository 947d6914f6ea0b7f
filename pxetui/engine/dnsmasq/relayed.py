"""dnsmasq arguments for ``network.relayed``: one tagged range per segment behind a relay.

dnsmasq answers a relayed request (giaddr set) from the ``--dhcp-range`` whose subnet holds
giaddr, and sends the reply back to the relay. It cannot learn a remote subnet's netmask,
so every range names it. Each range sets a tag ``relay-<n>``; the segment's router and DNS
options carry that tag, and tagged options win over untagged ones, so the local segment's
router never leaks onto a relayed one. Boot files are the same for every segment (the
``--dhcp-boot`` / ``--pxe-service`` lines name our address, which the relay routes to).

Proxy mode adds a ``proxy`` range per relayed subnet: dnsmasq then answers PXE clients
whose relay forwards to us beside the site's DHCP server (README "Relayed subnets" says
exactly which firmware gets through).
"""

from __future__ import annotations

from pxetui.core.profile.model import Profile


def relay_tag(index: int) -> str:
    """The tag dnsmasq sets for requests relayed from ``network.relayed[index]``."""
    return f"relay-{index}"


def relayed_args(profile: Profile) -> list[str]:
    """``--dhcp-range`` (and per-segment options) for each relayed subnet of *profile*."""
    dhcp = profile.network.dhcp
    args: list[str] = []
    for index, relayed in enumerate(profile.network.relayed):
        tag = relay_tag(index)
        net = relayed.subnet
        if dhcp.mode == "proxy":
            args.append(f"--dhcp-range=set:{tag},{net.network_address},proxy,{net.netmask}")
            continue
        if relayed.range is None:
            continue  # `check` refuses this profile; nothing sensible to hand out
        first, last = relayed.range
        args.append(f"--dhcp-range=set:{tag},{first},{last},{net.netmask},{dhcp.lease}")
        if relayed.router is not None:
            args.append(f"--dhcp-option=tag:{tag},option:router,{relayed.router}")
        if relayed.dns:
            servers = ",".join(map(str, relayed.dns))
            args.append(f"--dhcp-option=tag:{tag},option:dns-server,{servers}")
    return args
