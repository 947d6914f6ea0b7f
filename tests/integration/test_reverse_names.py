"""Reverse DNS for the client table: real PTR queries to a dnslib server on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from dnslib import PTR, QTYPE, RR, DNSRecord
from dnslib.server import BaseResolver, DNSServer

from pxetui.engine.names import ReverseNames, reverse_name

NAMES = {
    "129.77.254.10.in-addr.arpa.": "node7.lab.example.",
    "1.0.0.127.in-addr.arpa.": "loopback.lab.example.",
}


class LabResolver(BaseResolver):  # type: ignore[misc]
    """Knows the PTR records in NAMES; counts the questions it gets."""

    def __init__(self) -> None:
        self.questions = 0

    def resolve(self, request: DNSRecord, handler: object) -> DNSRecord:
        self.questions += 1
        reply = request.reply()
        name = NAMES.get(str(request.q.qname))
        if name is not None and request.q.qtype == QTYPE.PTR:
            reply.add_answer(RR(request.q.qname, QTYPE.PTR, rdata=PTR(name), ttl=60))
        return reply


@pytest.fixture
def dns() -> Iterator[tuple[DNSServer, LabResolver]]:
    resolver = LabResolver()
    server = DNSServer(resolver, port=0, address="127.0.0.1")
    server.start_thread()
    yield server, resolver
    server.stop()


def port_of(server: DNSServer) -> int:
    return int(server.server.server_address[1])


def test_reverse_name_is_the_in_addr_arpa_form() -> None:
    """10.254.77.129 is asked as 129.77.254.10.in-addr.arpa."""
    assert reverse_name("10.254.77.129") == "129.77.254.10.in-addr.arpa"


async def test_ptr_answers_are_returned_and_cached(dns: tuple[DNSServer, LabResolver]) -> None:
    """A known address gets its name once; repeated lookups come from the cache."""
    server, resolver = dns
    names = ReverseNames("127.0.0.1", port_of(server), timeout=2.0)
    assert await names.lookup("10.254.77.129") == "node7.lab.example"
    assert await names.lookup("10.254.77.129") == "node7.lab.example"
    assert resolver.questions == 1
    assert await names.lookup("10.254.77.130") is None  # NOERROR, no answer


async def test_a_silent_dns_server_costs_one_short_timeout() -> None:
    """No answer within the timeout means no name, never an exception."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as mute:
        mute.bind(("127.0.0.1", 0))
        names = ReverseNames("127.0.0.1", mute.getsockname()[1], timeout=0.3)
        started = asyncio.get_running_loop().time()
        assert await names.lookup("10.254.77.129") is None
        assert asyncio.get_running_loop().time() - started < 2.0
