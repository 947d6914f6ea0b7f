"""Is the dnsmasq child alive and serving? Its process state, and a heartbeat through its loop.

Two ways a dnsmasq can look alive and serve nothing:

* stopped (SIGSTOP, a debugger): its process state is polled every ``interval`` seconds,
  reported at once, and after ``hung_after`` seconds :meth:`Liveness.watch` returns the
  reason, so the supervisor kills and restarts it;
* running but stuck in its main loop: every ``heartbeat_interval`` seconds it gets SIGHUP,
  which makes its main loop re-read an (empty) hosts file of ours and log that it did. No
  such line within ``heartbeat_timeout`` is a miss (reported); after :data:`HEARTBEAT_MISSES`
  misses :meth:`Liveness.watch` returns, and the supervisor restarts it.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Protocol

import psutil

from pxetui.core.events import ServiceState

LIVENESS_INTERVAL = 2.0
HUNG_AFTER = 10.0
HEARTBEAT_INTERVAL = 30.0
HEARTBEAT_TIMEOUT = 5.0
HEARTBEAT_MISSES = 2
HEARTBEAT_FILE = "heartbeat.hosts"
_STOPPED = frozenset({psutil.STATUS_STOPPED, psutil.STATUS_TRACING_STOP})


class EmitState(Protocol):
    def __call__(self, state: ServiceState, *, pid: int | None = None, message: str) -> None: ...


class Liveness:
    """Watches one dnsmasq child at a time; the supervisor feeds it every log line."""

    def __init__(
        self,
        state_dir: Path,
        emit_state: EmitState,
        *,
        interval: float = LIVENESS_INTERVAL,
        hung_after: float = HUNG_AFTER,
        heartbeat_interval: float = HEARTBEAT_INTERVAL,
        heartbeat_timeout: float = HEARTBEAT_TIMEOUT,
    ) -> None:
        self.file = state_dir / HEARTBEAT_FILE
        self._emit_state = emit_state
        self._interval = interval
        self._hung_after = hung_after
        self._heartbeat_interval = heartbeat_interval
        self._heartbeat_timeout = heartbeat_timeout
        self._mark = f"read {self.file}"  # matched on every log line
        self._beat = asyncio.Event()

    def prepare(self) -> str:
        """Write the empty hosts file; return the argument that makes dnsmasq read it."""
        self.file.parent.mkdir(parents=True, exist_ok=True)
        self.file.write_text("")  # no hosts: reading it only proves dnsmasq runs
        return f"--dhcp-hostsfile={self.file}"

    def heard(self, line: str) -> bool:
        """True (and noted) if *line* is the heartbeat's answer: proof of life, not news.

        The answer is "read <file>" — or, once dnsmasq has dropped root for a state dir it
        cannot enter, "cannot read <file>: Permission denied": either is its main loop
        handling our SIGHUP.
        """
        if self._mark not in line:
            return False
        self._beat.set()
        return True

    async def watch(self, proc: asyncio.subprocess.Process) -> str:
        """Return a reason once the child has stayed stopped or silent too long.

        A stop is reported at once (state ``failed``); a resume before the bound is
        reported too (``running``). Never returns while the child runs normally.
        """
        stopped_since: float | None = None
        probed = time.monotonic()
        misses = 0
        while proc.returncode is None:
            await asyncio.sleep(self._interval)
            try:
                status = psutil.Process(proc.pid).status()
            except psutil.Error:
                continue  # exiting: the supervisor's exit watch tells
            if status not in _STOPPED:
                if stopped_since is not None:
                    stopped_since = None
                    self._emit_state("running", pid=proc.pid, message="dnsmasq resumed")
                if time.monotonic() - probed < self._heartbeat_interval:
                    continue
                probed = time.monotonic()
                if await self._answers(proc):
                    if misses:
                        self._emit_state("running", pid=proc.pid, message="dnsmasq answers again")
                    misses = 0
                    continue
                misses += 1
                silent = f"no answer to its heartbeat (SIGHUP) within {self._heartbeat_timeout:g} s"
                if misses >= HEARTBEAT_MISSES:
                    return f"dnsmasq runs but does not answer: {silent}, {misses} times: killed"
                self._emit_state(
                    "failed",
                    pid=proc.pid,
                    message=f"dnsmasq runs but does not answer ({silent}): DHCP may be down; "
                    f"it is restarted after {HEARTBEAT_MISSES} misses",
                )
                continue
            now = time.monotonic()
            if stopped_since is None:
                stopped_since = now
                self._emit_state(
                    "failed",
                    pid=proc.pid,
                    message=f"dnsmasq is not running (process state {status!r}, e.g. "
                    f"SIGSTOP): no DHCP answers; it is restarted in {self._hung_after:g} s "
                    "unless it resumes",
                )
            elif now - stopped_since >= self._hung_after:
                return f"dnsmasq was stopped (state {status!r}) for {self._hung_after:g} s: killed"
        return ""

    async def _answers(self, proc: asyncio.subprocess.Process) -> bool:
        """SIGHUP, then wait (bounded) for the "read <heartbeat file>" line."""
        self._beat.clear()
        try:
            proc.send_signal(signal.SIGHUP)
        except ProcessLookupError:
            return True  # exiting: the supervisor's exit watch tells
        try:
            await asyncio.wait_for(self._beat.wait(), self._heartbeat_timeout)
        except TimeoutError:
            return False
        return True
