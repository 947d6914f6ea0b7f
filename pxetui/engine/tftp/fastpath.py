"""The optional C fast path of the data thread: lock-step DATA without Python per block.

Why C: in lock-step (windowsize 1, what PXE firmware asks for) every block is one round trip,
so one wake-up, and the Python of that wake-up (an ACK decoded, the next block queued, a
``sendto``) cost ~10 µs of CPU per block more than dnsmasq's C (README "Benchmarks"). The
extension ``_fastpath.c`` (built when a compiler is there, see setup.py) runs the steady state
of such a transfer with the GIL released: epoll → recvmmsg → for each in-order ACK of a
transfer it holds, pread the next block → sendmmsg.

The split (one owner at a time, so no rule has two homes):

* :class:`.transfer.Transfer` keeps every rule. Once a lock-step transfer of a file is in its
  steady state (its first RTT sampled, nothing outstanding but the next block, no retransmit
  pending) it *gives* its state to C; C moves it forward ACK by ACK.
* C hands a transfer back — the datagram and the ownership — for anything else: the last
  block's ACK, a progress event due (every 0.1 s), anything not an ACK, a pread error, a
  block the kernel would not take. Duplicate and stale ACKs it drops, as Python does.
  Datagrams from strangers come back too (ERROR 5, tombstones stay in :mod:`.mux`).
* Before Python touches a transfer for any reason (a datagram, its timer, a stop) it *takes*
  its state back (:meth:`.handover.CHandOver._reclaim`), and offers it again afterwards.

``PXETUI_TFTP_FASTPATH=0`` forces the pure-Python path (the same code as without the
extension). The engine logs once which path it uses.
"""

from __future__ import annotations

import importlib
import logging
import os
from types import ModuleType
from typing import Protocol

# Imported by name: the extension is a leaf (it imports nothing of pxetui), and a
# ``from pxetui.engine.tftp import _fastpath`` would read to the import graph as an import of
# the package, which imports the server, which imports us.
_fastpath: ModuleType | None
try:
    _fastpath = importlib.import_module("pxetui.engine.tftp._fastpath")
except ImportError:  # not built (no compiler at install): the pure-Python path
    _fastpath = None


class Pump(Protocol):
    """What ``_fastpath.Pump`` offers (the C file documents each call)."""

    @property
    def blocks(self) -> int: ...  # DATA blocks sent by C so far

    def pump(
        self, epfd: int, timeout: float
    ) -> tuple[
        list[tuple[int, int]],
        list[tuple[int, int, bytes, tuple[str, int]]],
        list[tuple[int, int, int]],
    ]: ...
    def add_socket(self, fd: int) -> bool: ...
    def remove_socket(self, fd: int) -> None: ...
    def register(
        self, sock_fd: int, sockaddr: bytes, file_fd: int, blksize: int, last_block: int
    ) -> int: ...
    def unregister(self, slot: int) -> None: ...
    def give(
        self,
        slot: int,
        acked: int,
        highest_sent: int,
        last_progress: float,
        sent_at: float,
        srtt: float,
        rttvar: float,
        progress_due: float,
    ) -> None: ...
    def take(self, slot: int) -> tuple[int, int, float, float, float, float, int]: ...


class Socket(Protocol):
    """What the lane needs of a shared socket (:class:`.mux.SharedSocket`)."""

    fd: int

    def deliver(self, key: int, data: bytes, addr: tuple[str, int]) -> None: ...
    def unsent_by_c(self, key: int, err: int) -> None: ...
    def send_queued(self) -> None: ...


class Offered(Protocol):
    """What the lane needs of a transfer (:class:`.transfer.Transfer`)."""

    def give_to_c(self) -> None: ...


log = logging.getLogger(__name__)

ENV = "PXETUI_TFTP_FASTPATH"
_said: list[str] = []  # which path the log named already (once per process)


def built() -> bool:
    """Whether the C extension is importable here."""
    return _fastpath is not None


def wanted() -> bool:
    """False when ``PXETUI_TFTP_FASTPATH=0`` asks for the pure-Python path."""
    return os.environ.get(ENV, "1").strip() != "0"


def describe(lane: FastLane | None) -> str:
    """The sentence that says which path a data thread with *lane* runs (and why)."""
    if lane is not None:
        return "TFTP data path: C fast path for lock-step transfers (_fastpath)"
    if not wanted():
        return f"TFTP data path: pure Python ({ENV}=0)"
    return "TFTP data path: pure Python (the C extension _fastpath was not built)"


def lane() -> FastLane | None:
    """A lane for a new data thread, or None for the pure-Python path (logged once; the
    server also tells the operator, see ``TftpServer.start``)."""
    made = FastLane(_fastpath.Pump()) if wanted() and _fastpath is not None else None
    sentence = describe(made)
    if sentence not in _said:
        _said.append(sentence)
        log.info("%s", sentence)
    return made


class FastLane:
    """The data thread's side of the extension: sockets, offers and hand-ups."""

    def __init__(self, pump: Pump) -> None:
        self.pump = pump
        self._sockets: dict[int, Socket] = {}
        self._offers: list[Offered] = []
        #: ``offer(transfer)``: try to give it to C before the next wait (a bound append).
        self.offer = self._offers.append

    def add_socket(self, shared: Socket) -> None:
        if self.pump.add_socket(shared.fd):
            self._sockets[shared.fd] = shared

    def remove_socket(self, shared: Socket) -> None:
        if self._sockets.pop(shared.fd, None) is not None:
            self.pump.remove_socket(shared.fd)

    def give_offered(self) -> None:
        """Give C every offered transfer that is in its steady state (caller holds the lock)."""
        offers = self._offers
        for transfer in offers:
            transfer.give_to_c()
        offers.clear()

    def dispatch(
        self,
        handups: list[tuple[int, int, bytes, tuple[str, int]]],
        unsent: list[tuple[int, int, int]],
    ) -> None:
        """Run in Python what C handed back, then send what that queued."""
        touched: dict[int, Socket] = {}
        sockets = self._sockets
        for fd, key, data, addr in handups:
            shared = sockets.get(fd)
            if shared is not None:
                shared.deliver(key, data, addr)
                touched[fd] = shared
        for fd, key, err in unsent:
            shared = sockets.get(fd)
            if shared is not None:
                shared.unsent_by_c(key, err)
                touched[fd] = shared
        for shared in touched.values():
            shared.send_queued()
