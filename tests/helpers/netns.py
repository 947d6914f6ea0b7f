"""One namespace builder for tests: a bridged segment, built from :mod:`pxetui.lab.netns`.

The lab's primitives (``add_netns`` registers each namespace with its owner's pid, so a
``kill -9``'d test run is cleaned up by :func:`~pxetui.lab.netns.remove_stale`; ``ip``
raises with the command's stderr; ``delete_netns`` stops what runs inside, TERM then KILL,
before deleting) with the topology the integration tests share::

    server ns: BRIDGE server_cidr ─┬─ near_client ══ c0 (client ns, no address)
                                   └─ near_router ══ r0 router_cidr (router ns, optional)

:func:`pxetui.lab.netns.create_lab_network` is the QEMU lab's variant (a tap on the bridge).
"""

from __future__ import annotations

from dataclasses import dataclass

from pxetui.lab.netns import add_netns, delete_netns, ip


@dataclass
class Segment:
    """The namespaces of one test segment; :meth:`teardown` is idempotent."""

    server: str
    client: str
    router: str | None
    bridge: str

    @property
    def namespaces(self) -> tuple[str, ...]:
        return tuple(n for n in (self.client, self.router, self.server) if n)

    def teardown(self) -> None:
        for name in self.namespaces:
            delete_netns(name)


def build_segment(
    server: str,
    client: str,
    router: str | None,
    *,
    server_cidr: str,
    router_cidr: str | None = None,
    bridge: str = "br0",
    near: tuple[str, str] = ("vc", "vr"),
    client_mac: str | None = None,
) -> Segment:
    """Create the namespaces and links above; on any failure remove what was built."""
    segment = Segment(server, client, router, bridge)
    try:
        for name in segment.namespaces:
            add_netns(name)
        ip("link", "add", bridge, "type", "bridge", "forward_delay", "0", netns=server)
        ip("addr", "add", server_cidr, "dev", bridge, netns=server)
        ip("link", "set", bridge, "up", netns=server)
        _veth(segment, near[0], client, "c0", mac=client_mac)
        if router is not None:
            _veth(segment, near[1], router, "r0")
            if router_cidr is not None:
                ip("addr", "add", router_cidr, "dev", "r0", netns=router)
    except BaseException:
        segment.teardown()
        raise
    return segment


def _veth(segment: Segment, near: str, ns: str, far: str, mac: str | None = None) -> None:
    s = segment.server
    ip("link", "add", near, "type", "veth", "peer", "name", far, "netns", ns, netns=s)
    ip("link", "set", near, "master", segment.bridge, "up", netns=s)
    if mac is not None:
        ip("link", "set", far, "address", mac, netns=ns)
    ip("link", "set", far, "up", netns=ns)
