"""Subnets behind DHCP relays: clients that reach us through a router, not on our link.

A relay agent (``dhcrelay``, ``dnsmasq --dhcp-relay``, a switch's ``ip helper-address``)
forwards its segment's DHCP broadcasts to our address with its own address in *giaddr*;
dnsmasq picks the ``network.relayed`` subnet that holds giaddr and answers through the relay.
Firmware then fetches its boot files from our address across the router, so that address
(``network.server``, or the interface's) must be one the relayed segments can route to.

``pxetui check`` (the one validation) refuses what cannot work: see
:meth:`pxetui.core.profile.audit._Audit.relayed`.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

from pydantic import BaseModel, ConfigDict, Field


class RelayedSubnet(BaseModel):
    """One segment behind a relay: its subnet, and in full mode what its clients are given."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    subnet: IPv4Network = Field(description="the relayed segment, e.g. 10.9.0.0/24")
    range: tuple[IPv4Address, IPv4Address] | None = Field(
        None, description="full mode: first, last address to lease on that segment"
    )
    router: IPv4Address | None = Field(
        None, description="full mode: the segment's gateway (usually the relay's address)"
    )
    dns: tuple[IPv4Address, ...] = Field((), description="full mode; default: network.dhcp.dns")
