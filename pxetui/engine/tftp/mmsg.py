"""``recvmmsg``/``sendmmsg`` through ctypes: many datagrams per system call, no copies.

Why: with every transfer on one server socket (see :mod:`.mux`), one epoll wake-up can carry
the ACKs of every ready client; reading them one ``recvfrom`` at a time would cost a system
call, a ``bytes``, a tuple and an address string each. Here one call fills fixed buffers, and
the caller reads lengths, addresses and the four ACK bytes through integer views of them.

The buffers are allocated once. A ``struct mmsghdr`` is 64 bytes on the 64-bit Linux ABIs this
supports (x86_64, aarch64); anything else gets ``available() == False`` and the caller falls
back to one ``recvfrom``/``sendto`` per datagram.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import socket
import struct
import sys

_MSG_DONTWAIT = 0x40
_MMSGHDR = 64  # struct mmsghdr: msghdr (56) + msg_len (4) + padding (4)
_NAME = 16  # struct sockaddr_in
_IOVEC = 16

try:
    _libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    _recvmmsg = _libc.recvmmsg
    _sendmmsg = _libc.sendmmsg
    for _fn in (_recvmmsg, _sendmmsg):
        _fn.restype = ctypes.c_int
    _recvmmsg.argtypes = [
        ctypes.c_int,
        ctypes.c_void_p,
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_void_p,
    ]
    _sendmmsg.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int]
    _OK = sys.platform == "linux" and ctypes.sizeof(ctypes.c_void_p) == 8
except (OSError, AttributeError):  # pragma: no cover - not glibc/musl Linux
    _OK = False


def available() -> bool:
    """Whether this platform has the calls and the struct layout assumed here."""
    return _OK


def sockaddr(addr: tuple[str, int]) -> bytes:
    """A ``struct sockaddr_in`` for *addr* (family in host order, port and address in network)."""
    family = struct.pack("=H", socket.AF_INET)
    return family + struct.pack("!H", addr[1]) + socket.inet_aton(addr[0]) + bytes(8)


def key_of(addr: tuple[str, int]) -> int:
    """The integer :class:`Receiver` reports for a datagram from *addr* (its first 8 bytes)."""
    return int.from_bytes(sockaddr(addr)[:8], sys.byteorder)


def _address(buf: ctypes.Array[ctypes.c_char]) -> int:
    return ctypes.addressof(buf)


class Receiver:
    """Up to *count* datagrams of at most *size* bytes per :meth:`receive` call."""

    def __init__(self, count: int, size: int) -> None:
        self.count = count
        self.size = size
        self._hdrs = (ctypes.c_char * (count * _MMSGHDR))()
        self._names = (ctypes.c_char * (count * _NAME))()
        self._iovs = (ctypes.c_char * (count * _IOVEC))()
        self._data = (ctypes.c_char * (count * size))()
        self._hdrs_addr = _address(self._hdrs)
        hdr_q = memoryview(self._hdrs).cast("B").cast("Q")
        iov_q = memoryview(self._iovs).cast("B").cast("Q")
        names, iovs, data = _address(self._names), _address(self._iovs), _address(self._data)
        for i in range(count):
            iov_q[2 * i] = data + i * size
            iov_q[2 * i + 1] = size
            base = 8 * i
            hdr_q[base] = names + i * _NAME  # msg_name
            hdr_q[base + 1] = _NAME  # msg_namelen (kernel writes back 16 for IPv4)
            hdr_q[base + 2] = iovs + i * _IOVEC  # msg_iov
            hdr_q[base + 3] = 1  # msg_iovlen
        #: ``lengths[16 * i + 14]`` is datagram *i*'s length (``msg_len``), truncated to *size*.
        self.lengths = memoryview(self._hdrs).cast("B").cast("I")
        #: ``keys[2 * i]`` is the sender's family, port and address as one int (see key_of).
        self.keys = memoryview(self._names).cast("B").cast("Q")
        #: datagram *i* starts at ``data[i * size]``.
        self.data = memoryview(self._data).cast("B")

    def receive(self, fd: int) -> int:
        """Datagrams now queued on *fd* (0 if none); never blocks. OSError on a real error."""
        n = _recvmmsg(fd, self._hdrs_addr, self.count, _MSG_DONTWAIT, None)
        if n >= 0:
            return int(n)
        err = ctypes.get_errno()
        if err in (11, 4):  # EAGAIN, EINTR
            return 0
        raise OSError(err, os.strerror(err))

    def name(self, i: int) -> tuple[str, int]:
        """Datagram *i*'s sender as ``(ip, port)`` (the slow path: strangers, events)."""
        raw = ctypes.string_at(_address(self._names) + i * _NAME, 8)
        return socket.inet_ntoa(raw[4:8]), (raw[2] << 8) | raw[3]


class Sender:
    """Up to *count* prepared datagrams out in one ``sendmmsg``.

    Each datagram is a ``(name, iovec)`` pair of addresses owned by the caller (a transfer's
    own ``sockaddr`` and packet buffer, see :class:`Packet`), which must stay alive until
    :meth:`send` returned.
    """

    def __init__(self, count: int) -> None:
        self.count = count
        self._hdrs = (ctypes.c_char * (count * _MMSGHDR))()
        self._hdrs_addr = _address(self._hdrs)
        self._q = memoryview(self._hdrs).cast("B").cast("Q")
        for i in range(count):
            self._q[8 * i + 1] = _NAME
            self._q[8 * i + 3] = 1
        self.queued = 0

    def add(self, name: int, iov: int) -> bool:
        """Queue one datagram; False when full (send first)."""
        i = self.queued
        if i >= self.count:
            return False
        q = self._q
        q[8 * i] = name
        q[8 * i + 2] = iov
        self.queued = i + 1
        return True

    def send(self, fd: int, first: int = 0) -> int:
        """Send queued datagrams from index *first*; returns how many went.

        Fewer than queued: call again from there. 0 means EAGAIN (the send buffer is full);
        OSError means the kernel refused the datagram at index *first* itself.
        """
        n = _sendmmsg(fd, self._hdrs_addr + first * _MMSGHDR, self.queued - first, 0)
        if n >= 0:
            return int(n)
        err = ctypes.get_errno()
        if err in (11, 4):
            return 0
        raise OSError(err, os.strerror(err))


class Packet:
    """One reusable outgoing datagram: a buffer, its iovec and a destination ``sockaddr``.

    ``buf`` is written in place (header + payload); ``iov_len[1]`` says how much of it goes
    (written by the hot path directly, a method call per block costs more than the store).
    """

    __slots__ = ("_buf", "_iov", "_name", "buf", "iov", "iov_len", "name", "size")

    def __init__(self, size: int, addr: tuple[str, int]) -> None:
        self._buf = (ctypes.c_char * size)()
        self._iov = (ctypes.c_char * _IOVEC)()
        self._name = (ctypes.c_char * _NAME).from_buffer_copy(sockaddr(addr))
        self.buf = memoryview(self._buf).cast("B")
        self.iov_len = memoryview(self._iov).cast("B").cast("Q")
        self.iov_len[0] = _address(self._buf)
        self.iov_len[1] = size
        self.iov = _address(self._iov)
        self.name = _address(self._name)
        self.size = size

    @property
    def length(self) -> int:
        return int(self.iov_len[1])
