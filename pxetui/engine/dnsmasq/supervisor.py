"""Run dnsmasq as a child: preflight, spawn, read its log, restart with back-off, stop.

Lifecycle (the shape of aiohttp's runner: setup → start → cleanup):

* :meth:`DnsmasqSupervisor.start` checks privileges, takes the interface lock, stops an
  orphaned dnsmasq (pid file), checks the ports, runs ``dnsmasq --test`` and spawns the
  child; it returns once dnsmasq said ``started`` and raises if it could not get there.
* A background task reads the child's stderr line by line through the
  :class:`~.logparse.DhcpLogFolder` and publishes the events. When the child dies it
  publishes why in words (exit code meaning + its last lines), waits the back-off
  (0.5 s, 1, 2, 4 … capped; reset after a stable minute) and starts it again.
* :meth:`stop` sends SIGTERM, then SIGKILL after a bound, and releases the lock.
* :class:`~.liveness.Liveness` finds a child that runs but serves nothing (stopped, or its
  main loop stuck); the supervisor kills and restarts it like one that died.

Every state change is a :class:`ServiceEvent` (``service="dhcp"``). The child gets
``PR_SET_PDEATHSIG`` so it dies with a SIGKILLed engine; the pid-file check covers the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

from pxetui.core.events import Event, RawLogEvent, ServiceEvent, ServiceState
from pxetui.engine.dnsmasq.child import (
    DnsmasqStartError,
    die_with_parent,
    drain,
    exited,
    run_config_test,
    terminate,
)
from pxetui.engine.dnsmasq.config import PID_FILE
from pxetui.engine.dnsmasq.exits import explain_exit
from pxetui.engine.dnsmasq.liveness import (
    HEARTBEAT_INTERVAL,
    HEARTBEAT_TIMEOUT,
    HUNG_AFTER,
    LIVENESS_INTERVAL,
    Liveness,
)
from pxetui.engine.dnsmasq.logparse import FLUSH_AFTER, DhcpLogFolder
from pxetui.engine.dnsmasq.logpipe import OVERLONG, LogPipe
from pxetui.engine.dnsmasq.preflight import (
    DEFAULT_LOCK_DIR,
    InterfaceLock,
    PortNeed,
    check_ports,
    check_privileges,
    dhcp_ports,
    stop_orphan,
)

log = logging.getLogger(__name__)

BACKOFF: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
STABLE_AFTER = 60.0
TAIL_LINES = 20
_READY_MARK = "started, version"


class DnsmasqSupervisor:
    """Owns one dnsmasq child for one interface. Construct, ``await start()``, ``await stop()``."""

    def __init__(
        self,
        args: list[str],
        *,
        publish: Callable[[Event], None],
        state_dir: Path,
        interface: str,
        dnsmasq: str = "dnsmasq",
        lock_dir: Path = DEFAULT_LOCK_DIR,
        ports: Sequence[PortNeed] = (),
        address: str = "",
        backoff: Sequence[float] = BACKOFF,
        stable_after: float = STABLE_AFTER,
        start_timeout: float = 10.0,
        stop_timeout: float = 5.0,
        liveness_interval: float = LIVENESS_INTERVAL,
        hung_after: float = HUNG_AFTER,
        heartbeat_interval: float = HEARTBEAT_INTERVAL,
        heartbeat_timeout: float = HEARTBEAT_TIMEOUT,
    ) -> None:
        self._args = list(args)
        self._publish = publish
        self.state_dir = state_dir
        self.interface = interface
        self._dnsmasq = dnsmasq
        self._lock = InterfaceLock(interface, lock_dir)
        self._extra_ports = tuple(ports)
        self._address = address or interface
        self._backoff = tuple(backoff) or BACKOFF
        self._stable_after = stable_after
        self._start_timeout = start_timeout
        self._stop_timeout = stop_timeout
        self._liveness = Liveness(
            state_dir,
            self._emit_state,
            interval=liveness_interval,
            hung_after=hung_after,
            heartbeat_interval=heartbeat_interval,
            heartbeat_timeout=heartbeat_timeout,
        )
        self._proc: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task[None] | None = None
        self._tail: deque[str] = deque(maxlen=TAIL_LINES)
        self._stopping = False
        self._reconfiguring = False
        self._wake = asyncio.Event()
        self._ready = asyncio.Event()
        self._failures = 0
        self.restarts = 0
        self.state: ServiceState = "stopped"

    @property
    def pid(self) -> int | None:
        """The running child's pid (None between restarts and when stopped)."""
        proc = self._proc
        return proc.pid if proc is not None and proc.returncode is None else None

    @property
    def pid_file(self) -> Path:
        return self.state_dir / PID_FILE

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Preflight, check the configuration, spawn; return when dnsmasq is serving."""
        if self._task is not None:
            raise RuntimeError("dnsmasq supervisor already started")
        check_privileges()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._lock.acquire()
        try:
            orphan = await asyncio.to_thread(stop_orphan, self.pid_file, self.state_dir)
            if orphan is not None:
                self._emit_state(
                    "starting",
                    message=f"stopped dnsmasq pid {orphan} left running by a previous engine",
                )
            await asyncio.to_thread(
                check_ports,
                (*dhcp_ports(self._args), *self._extra_ports),
                ignore_pids=(os.getpid(),),
                interface=self.interface,
            )
            await self.check_config(self._args)
            self._stopping = False
            await self._launch("starting dnsmasq")
        except BaseException:
            self._lock.release()
            self.state = "stopped"
            raise

    async def _launch(self, message: str) -> None:
        """Spawn, wait for ``started``, hand the child to a new supervise task.

        On failure the child is gone, "failed" is published and DnsmasqStartError raised.
        """
        self._emit_state("starting", message=message)
        try:
            proc, pump = await self._spawn()
            if not await self._wait_ready(proc, pump):
                if proc.returncode is None and pump.done():
                    # Its log closed first: it is exiting, the status follows shortly.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(exited(proc), self._stop_timeout)
                if proc.returncode is None:
                    await self._terminate(proc)
                    await drain(pump)
                    raise DnsmasqStartError(
                        f"dnsmasq did not start within {self._start_timeout:g} s"
                    )
                await drain(pump)
                raise DnsmasqStartError(explain_exit(proc.returncode, list(self._tail)))
        except BaseException as exc:
            await self._kill_child()
            if isinstance(exc, Exception):
                self._emit_state("failed", message=str(exc))
            raise
        self._emit_state("running", pid=proc.pid, message="dnsmasq is serving")
        self._task = asyncio.create_task(self._supervise(proc, pump), name="dnsmasq-supervisor")

    async def stop(self) -> None:
        """Stop dnsmasq (SIGTERM, then SIGKILL after a bound) and release the interface."""
        self._stopping = True
        self._wake.set()
        await self._kill_child()
        if self._task is not None:
            # wait_for cancels a supervise task that does not end in time.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._task, self._stop_timeout)
            self._task = None
        with contextlib.suppress(OSError):
            self.pid_file.unlink()
        self._lock.release()
        if self.state != "stopped":
            self._emit_state("stopped", message="dnsmasq stopped")

    async def reconfigure(self, args: list[str]) -> None:
        """Restart dnsmasq with new arguments; a configuration dnsmasq rejects changes nothing.

        Also the way out of "failed": a fixed profile gets a fresh start. Between two
        back-off attempts the next attempt simply uses the new arguments, at once.
        """
        await self.check_config(args)
        self._args = list(args)
        if self._task is None or self._stopping:
            return
        if self._task.done():
            await self._launch("starting dnsmasq with the new configuration")
        elif self.pid is None:
            self._wake.set()
        else:
            self._reconfiguring = True
            await self._terminate(self._proc)

    async def check_config(self, args: Sequence[str]) -> None:
        """``dnsmasq --test``: raise :class:`DnsmasqStartError` with dnsmasq's words if bad."""
        await run_config_test(self._dnsmasq, args)

    # --- the child ------------------------------------------------------------------------

    async def _spawn(self) -> tuple[asyncio.subprocess.Process, asyncio.Task[None]]:
        self._tail.clear()
        pipe = LogPipe()
        try:
            heartbeat = self._liveness.prepare()
            proc = await asyncio.create_subprocess_exec(
                self._dnsmasq,
                *self._args,
                heartbeat,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=pipe.write_fd,
                # Own process group: a terminal's Ctrl-C reaches the engine, which then stops
                # dnsmasq in order, instead of killing it behind the supervisor's back.
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        except OSError as exc:
            pipe.close()
            raise DnsmasqStartError(f"cannot run {self._dnsmasq}: {exc}") from exc
        except BaseException:
            pipe.close()
            raise
        pipe.parent_side()
        self._proc = proc
        ready = asyncio.Event()
        pump = asyncio.create_task(self._pump(pipe, ready), name="dnsmasq-log")
        self._ready = ready
        return proc, pump

    async def _wait_ready(self, proc: asyncio.subprocess.Process, pump: asyncio.Task[None]) -> bool:
        """True once dnsmasq said ``started``; False if it exited (or hung) first."""
        ready = asyncio.create_task(self._ready.wait())
        gone = asyncio.create_task(exited(proc))
        try:
            await asyncio.wait(
                {ready, gone, pump},
                timeout=self._start_timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            ready.cancel()
            gone.cancel()
        return self._ready.is_set() and proc.returncode is None

    async def _pump(self, pipe: LogPipe, ready: asyncio.Event) -> None:
        """Read stderr to EOF, in batches (logpipe.py says why); a quiet
        :data:`FLUSH_AFTER` closes the open xid block. Closes the pipe when done."""
        folder = DhcpLogFolder(source="dnsmasq", clock=lambda: pipe.written_after)
        try:
            while (
                batch := await pipe.batch(FLUSH_AFTER if folder.has_pending else None)
            ) is not None:
                if not batch:
                    self._emit_all(folder.flush())
                for raw in batch:
                    if raw is OVERLONG:  # the pipe's own marker (a logged line alike stays a line)
                        self._publish(RawLogEvent(source="dnsmasq", line=OVERLONG.decode()))
                        continue
                    line = raw.decode("utf-8", "backslashreplace").rstrip("\r")
                    self._tail.append(line)
                    if not ready.is_set() and _READY_MARK in line:
                        ready.set()
                    if self._liveness.heard(line):
                        continue
                    self._emit_all(folder.feed(line))
            self._emit_all(folder.flush())
        finally:
            pipe.close()

    async def _supervise(self, proc: asyncio.subprocess.Process, pump: asyncio.Task[None]) -> None:
        """Wait for the child to die; report, back off, restart — until stop()."""
        while True:
            started = time.monotonic()
            code, hung = await self._exit_or_hang(proc)
            await drain(pump)
            if self._stopping:
                return
            if hung:
                if not await self._back_off(hung, proc.pid):
                    return
            elif self._reconfiguring:
                self._reconfiguring = False
                self._emit_state("restarting", message="configuration changed: restarting")
            else:
                if time.monotonic() - started >= self._stable_after:
                    self._failures = 0
                reason = explain_exit(code, list(self._tail))
                if code == 1:
                    self._emit_state("failed", message=reason)
                    return
                if not await self._back_off(reason, proc.pid):
                    return
            try:
                proc, pump = await self._spawn()
            except DnsmasqStartError as exc:
                self._emit_state("failed", message=str(exc))
                return
            if await self._wait_ready(proc, pump):
                self._emit_state("running", pid=proc.pid, message="dnsmasq is serving again")
            elif proc.returncode is None and not pump.done():
                # Hung before "started": stop it; the next round reports it and backs off.
                self._tail.append(f"(no 'started' line within {self._start_timeout:g} s)")
                await self._terminate(proc)

    async def _back_off(self, why: str, pid: int) -> bool:
        """Say why and wait the next back-off delay (woken early by stop() or a new
        configuration); False if the supervisor is stopping."""
        delay = self._backoff[min(self._failures, len(self._backoff) - 1)]
        self._failures += 1
        self.restarts += 1
        self._emit_state("restarting", pid=pid, message=f"{why}; restarting in {delay:g} s")
        self._wake.clear()
        if self._stopping:  # stop() may have woken us before the clear
            return False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), delay)
        return not self._stopping

    async def _exit_or_hang(self, proc: asyncio.subprocess.Process) -> tuple[int, str]:
        """The child's exit status, and why we killed it if it hung ("" if it just died)."""
        gone = asyncio.ensure_future(exited(proc))
        watch = asyncio.ensure_future(self._liveness.watch(proc))
        try:
            await asyncio.wait({gone, watch}, return_when=asyncio.FIRST_COMPLETED)
            if gone.done():
                return gone.result(), ""
            hung = watch.result()
            with contextlib.suppress(ProcessLookupError):
                proc.kill()  # SIGKILL ends a stopped process too
            return await gone, hung
        finally:
            watch.cancel()
            gone.cancel()

    async def _terminate(self, proc: asyncio.subprocess.Process | None) -> None:
        await terminate(proc, self._stop_timeout)

    async def _kill_child(self) -> None:
        await self._terminate(self._proc)

    # --- events ---------------------------------------------------------------------------

    def _emit_all(self, events: list[Event]) -> None:
        for event in events:
            self._publish(event)

    def _emit_state(self, state: ServiceState, *, pid: int | None = None, message: str) -> None:
        self.state = state
        self._publish(
            ServiceEvent(
                service="dhcp",
                state=state,
                address=self._address,
                pid=pid,
                restarts=self.restarts,
                message=message,
            )
        )
