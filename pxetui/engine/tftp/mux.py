"""One server socket for every transfer from one local address, demultiplexed by client TID.

RFC 1350 names a transfer by its two transfer IDs: the client's (address, port) and the
server's port. The server's port need not differ between transfers, only from port 69 — so
every transfer here shares one socket, and a datagram belongs to the transfer whose client
(address, port) sent it. That is what makes batching possible: after one epoll wake-up,
``recvmmsg`` reads every ready client's ACK at once, each transfer prepares its next DATA in
its own buffer, and one ``sendmmsg`` sends them all (measured in README "TFTP server").

Safety rules kept from the one-socket-per-transfer design:

* A datagram from an (address, port) with no transfer gets ERROR 5 (unknown transfer ID) —
  unless it is itself an ERROR (never answer an error with an error), or comes from a
  transfer that ended in the last :data:`TOMBSTONE_SECONDS` (its late duplicates are dropped
  silently, as the closed socket's ICMP used to be ignored).
* A transfer only ever sees datagrams from its own client's exact (address, port).
* Nothing from the network allocates per datagram beyond the ACK's block number: the hot path
  reads lengths, keys and bytes from :mod:`.mmsg`'s fixed buffers.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from pxetui.engine.tftp import mmsg, packets
from pxetui.engine.tftp.sockets import transfer_socket

if TYPE_CHECKING:
    from pxetui.engine.tftp.datapath import DataPath

log = logging.getLogger(__name__)

BATCH = 64  # datagrams per recvmmsg / sendmmsg
RECV_SIZE = 2048
RECV_BUFFER = 1 << 21  # longer datagrams are cut (nothing a client sends us is longer)
TOMBSTONE_SECONDS = 5.0
MAX_TOMBSTONES = 4096
_ERROR_5 = packets.encode_error(packets.ERR_UNKNOWN_TID, "Unknown transfer ID")


class Endpoint(Protocol):
    """What the socket needs from a transfer (see :class:`.transfer.Transfer`)."""

    client: tuple[str, int]
    key: int
    packet: mmsg.Packet

    def on_ack(self, block: int) -> None: ...
    def on_datagram(self, data: bytes) -> None: ...
    def on_writable(self) -> None: ...
    def unsent(self, error: OSError | None) -> None: ...


class SharedSocket:
    """The transfers' socket on one local address (created on the first transfer there)."""

    def __init__(self, datapath: DataPath, local_ip: str, *, batch: bool = True) -> None:
        self.sock = transfer_socket(local_ip)
        with contextlib.suppress(OSError):  # every client's ACKs queue here between wake-ups
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECV_BUFFER)
        self.fd = self.sock.fileno()
        self._datapath = datapath
        self._transfers: dict[int, Endpoint] = {}
        self._by_addr: dict[tuple[str, int], Endpoint] = {}
        self._tombstones: dict[int, float] = {}
        self._batch = batch and mmsg.available()
        self._receiver = mmsg.Receiver(BATCH, RECV_SIZE) if self._batch else None
        self._sender = mmsg.Sender(BATCH) if self._batch else None
        self._queued: list[Endpoint] = []
        self._blocked: dict[int, Endpoint] = {}
        #: the data thread's clock, read once per wake-up (transfers use it per block)
        self.now = time.monotonic()
        self.sendto = self.sock.sendto
        self._recvfrom = self.sock.recvfrom
        datapath.add(self.fd, self._on_readable)
        self._lane = datapath.lane
        if self._lane is not None:
            self._lane.add_socket(self)

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def __len__(self) -> int:
        return len(self._transfers)

    def add(self, endpoint: Endpoint) -> None:
        self._transfers[endpoint.key] = endpoint
        self._by_addr[endpoint.client] = endpoint
        self._tombstones.pop(endpoint.key, None)

    def remove(self, endpoint: Endpoint) -> None:
        """Forget *endpoint* (only if it is still the one for its client)."""
        key = endpoint.key
        if self._transfers.get(key) is endpoint:
            del self._transfers[key]
            del self._by_addr[endpoint.client]
            self._blocked.pop(key, None)
            tombs = self._tombstones
            if len(tombs) >= MAX_TOMBSTONES:
                del tombs[next(iter(tombs))]
            tombs[key] = time.monotonic() + TOMBSTONE_SECONDS

    def close(self) -> None:
        if self._lane is not None:
            self._lane.remove_socket(self)
        self._datapath.remove(self.fd)
        self.sock.close()

    # --- receiving --------------------------------------------------------------------

    def _on_readable(self) -> None:
        self.now = time.monotonic()
        receiver = self._receiver
        if receiver is None or len(self._transfers) <= 1:
            # One transfer (or no recvmmsg): one datagram per wake-up, as the readiness is
            # level-triggered; a ctypes call costs more than it saves for a single ACK.
            try:
                data, addr = self.sock.recvfrom(RECV_SIZE)
            except OSError:
                return
            transfer = self._by_addr.get(addr)
            if transfer is None:
                self._stranger(mmsg.key_of(addr), data, addr)
            elif len(data) >= 4 and data[0] == 0 and data[1] == 4:
                transfer.on_ack((data[2] << 8) | data[3])
            else:
                transfer.on_datagram(data)
        else:
            try:
                n = receiver.receive(self.fd)
            except OSError:
                return
            lengths, keys, buf, size = receiver.lengths, receiver.keys, receiver.data, RECV_SIZE
            transfers = self._transfers
            for i in range(n):
                transfer = transfers.get(keys[2 * i])
                length = lengths[16 * i + 14]
                off = i * size
                if transfer is None:
                    self._stranger(keys[2 * i], bytes(buf[off : off + length]), receiver.name(i))
                elif length >= 4 and buf[off] == 0 and buf[off + 1] == 4:
                    transfer.on_ack((buf[off + 2] << 8) | buf[off + 3])
                else:
                    transfer.on_datagram(bytes(buf[off : off + length]))
        self.send_queued()

    def deliver(self, key: int, data: bytes, addr: tuple[str, int]) -> None:
        """One datagram the C fast path handed back (see :mod:`.fastpath`), as if read here;
        :meth:`send_queued` after the last one."""
        self.now = time.monotonic()
        transfer = self._transfers.get(key)
        if transfer is None:
            self._stranger(key, data, addr)
        elif len(data) >= 4 and data[0] == 0 and data[1] == 4:
            transfer.on_ack((data[2] << 8) | data[3])
        else:
            transfer.on_datagram(data)

    def unsent_by_c(self, key: int, err: int) -> None:
        """The C fast path could not send a transfer's block (*err* 0: EAGAIN)."""
        transfer = self._transfers.get(key)
        if transfer is not None:
            transfer.unsent(OSError(err, os.strerror(err)) if err else None)

    def send_queued(self) -> None:
        """Send the packets transfers queued while handling this wake-up's datagrams."""
        queued = self._queued
        if queued:
            if len(queued) == 1:  # the common lock-step case, inline: one sendto
                endpoint = queued.pop()
                packet = endpoint.packet
                length = packet.iov_len[1]
                try:
                    self.sendto(
                        packet.buf if length == packet.size else packet.buf[:length],
                        endpoint.client,
                    )
                except (BlockingIOError, InterruptedError):
                    endpoint.unsent(None)
                except OSError as exc:
                    endpoint.unsent(exc)
            else:
                self.flush()

    def _stranger(self, key: int, data: bytes, addr: tuple[str, int]) -> None:
        """RFC 1350: a datagram from an unknown TID gets ERROR 5 and changes nothing."""
        if len(data) >= 2 and data[0] == 0 and data[1] == packets.ERROR:
            return  # never answer an error with an error (no ping-pong)
        until = self._tombstones.get(key)
        if until is not None:
            if until > self.now:
                return  # a late duplicate of a transfer that just ended
            del self._tombstones[key]
        with contextlib.suppress(OSError):
            self.sendto(_ERROR_5, addr)

    # --- sending ----------------------------------------------------------------------

    @property
    def queue(self) -> Callable[[Endpoint], None]:
        """``queue(endpoint)``: send its prepared packet with the others at the end of this
        wake-up (a bound ``list.append``: transfers keep it, no Python call per block)."""
        return self._queued.append

    def flush(self) -> None:
        """Send every queued packet: ``sendmmsg`` in batches, or one ``sendto`` each."""
        queued = self._queued[:]
        self._queued.clear()
        sender = self._sender
        if sender is None or len(queued) == 1:  # sendmmsg pays from about 3 datagrams on
            for endpoint in queued:
                packet = endpoint.packet
                try:
                    self.sendto(packet.buf[: packet.iov_len[1]], endpoint.client)
                except (BlockingIOError, InterruptedError):
                    endpoint.unsent(None)
                except OSError as exc:
                    endpoint.unsent(exc)
            return
        fd = self.fd
        for start in range(0, len(queued), BATCH):
            chunk = queued[start : start + BATCH]
            sender.queued = 0
            for endpoint in chunk:
                sender.add(endpoint.packet.name, endpoint.packet.iov)
            done = 0
            while done < len(chunk):
                try:
                    sent = sender.send(fd, done)
                except OSError as exc:
                    chunk[done].unsent(exc)  # refused for this destination: that one only
                    done += 1
                    continue
                if sent == 0:  # EAGAIN: the rest wait for the socket to drain
                    for endpoint in chunk[done:]:
                        endpoint.unsent(None)
                    for endpoint in queued[start + BATCH :]:
                        endpoint.unsent(None)
                    return
                done += sent

    def want_writable(self, endpoint: Endpoint) -> None:
        """Call ``endpoint.on_writable()`` once the send buffer has room again."""
        if not self._blocked:
            self._datapath.want_writable(self.fd, self._on_writable)
        self._blocked[endpoint.key] = endpoint

    def _on_writable(self) -> None:
        blocked = self._blocked
        self._blocked = {}
        self._datapath.stop_writable(self.fd)
        for endpoint in blocked.values():
            endpoint.on_writable()
