"""Host names for the client table: reverse (PTR) lookups with dnslib.

A lab's DNS often knows ``10.0.0.129`` as ``node7.lab``; showing that next to the MAC saves
the operator a lookup. Queries go to the DNS server the profile names (``network.dhcp.dns``,
the one clients are told about), with a short timeout, one at a time per address, and
answers — including "no name" — are cached so a busy boot never waits on DNS.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from ipaddress import IPv4Address

from dnslib import PTR, QTYPE, RCODE, DNSRecord

from pxetui.core.mac import MacAddress
from pxetui.core.sanitize import clean
from pxetui.core.tracker import ClientTracker

DEFAULT_TIMEOUT_S = 0.5
CACHE_TTL_S = 600.0


class _Reply(asyncio.DatagramProtocol):
    def __init__(self, expect_id: int) -> None:
        self.expect_id = expect_id
        self.answer: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if not self.answer.done() and len(data) >= 2 and int.from_bytes(data[:2]) == self.expect_id:
            self.answer.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.answer.done():
            self.answer.set_exception(exc)


def reverse_name(ip: str) -> str:
    """``10.0.0.129`` → ``129.0.0.10.in-addr.arpa``."""
    return IPv4Address(ip).reverse_pointer


class ReverseNames:
    """Cached PTR lookups against one DNS server."""

    def __init__(
        self,
        server: str,
        port: int = 53,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        ttl: float = CACHE_TTL_S,
    ) -> None:
        self.server = server
        self.port = port
        self.timeout = timeout
        self.ttl = ttl
        self._cache: dict[str, tuple[float, str | None]] = {}
        self._inflight: dict[str, asyncio.Task[str | None]] = {}

    def cached(self, ip: str) -> str | None:
        hit = self._cache.get(ip)
        return hit[1] if hit is not None and time.monotonic() - hit[0] < self.ttl else None

    async def lookup(self, ip: str) -> str | None:
        """The PTR name of *ip* (without the trailing dot), or ``None``; never raises."""
        hit = self._cache.get(ip)
        if hit is not None and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        task = self._inflight.get(ip)
        if task is None:
            task = asyncio.ensure_future(self._query(ip))
            self._inflight[ip] = task
            task.add_done_callback(lambda _t: self._inflight.pop(ip, None))
        return await asyncio.shield(task)

    async def _query(self, ip: str) -> str | None:
        name: str | None = None
        try:
            question = DNSRecord.question(reverse_name(ip), "PTR")
            loop = asyncio.get_running_loop()
            transport, protocol = await loop.create_datagram_endpoint(
                lambda: _Reply(question.header.id), remote_addr=(self.server, self.port)
            )
            try:
                transport.sendto(question.pack())
                data = await asyncio.wait_for(protocol.answer, self.timeout)
            finally:
                transport.close()
            reply = DNSRecord.parse(data)
            if reply.header.rcode == RCODE.NOERROR:
                for rr in reply.rr:
                    if rr.rtype == QTYPE.PTR and isinstance(rr.rdata, PTR):
                        name = clean(str(rr.rdata.label).rstrip("."), max_len=253) or None
                        break
        except (OSError, ValueError, TimeoutError, Exception):
            name = None  # DNS is a nicety: any failure just means "no name"
        self._cache[ip] = (time.monotonic(), name)
        return name

    async def close(self) -> None:
        for task in list(self._inflight.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


class ClientNamer:
    """Gives tracked clients a host name from reverse DNS, once per IP, in the background."""

    def __init__(
        self,
        names: ReverseNames,
        tracker: ClientTracker,
        changed: Callable[[set[MacAddress]], None],
    ) -> None:
        self._names = names
        self._tracker = tracker
        self._changed = changed
        self._asked: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def consider(self, mac: MacAddress) -> None:
        """Look up a name for *mac* if it has an IP, no name yet, and we never asked."""
        client = self._tracker.get(mac)
        if client is None or client.hostname or not client.ip or client.ip in self._asked:
            return
        self._asked.add(client.ip)
        task = asyncio.get_running_loop().create_task(self._name(mac, client.ip))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _name(self, mac: MacAddress, ip: str) -> None:
        name = await self._names.lookup(ip)
        if name and self._tracker.set_hostname(mac, name):
            self._changed({mac})

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self._names.close()
