"""Extra TFTP worker processes, so transfers use more than one core.

Why processes: one Python process spends ~10 µs of CPU per block, and asyncio runs on one
core; tftpd-hpa forks a process per client and so uses every core. With ``workers=N`` the
server starts N-1 copies of itself without a listener. The parent keeps the only port-69
socket and hands each new client's RRQ to one process in turn (itself included) over the
worker's stdin, as a JSON line with the raw datagram; the client then talks to that
process's own transfer socket only, so nothing per block crosses processes. Round-robin, not
a kernel hash (``SO_REUSEPORT``), because with ten clients a hash often splits 7/3; and no
second process ever holds port 69, so nothing can silently share it.

A worker reports its events as JSON lines on stdout (``event_to_dict``); the parent reads them
and publishes them on its own bus, so subscribers cannot tell where a transfer ran. A worker
stops on SIGTERM/SIGINT or when its stdin closes (the parent went away). Caps on sessions
apply per process. Run by the parent as :mod:`pxetui.engine.tftp.worker_child` with CONFIG_JSON.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pxetui.core.events import Event, event_from_dict

log = logging.getLogger(__name__)

_START_TIMEOUT = 30.0
_STOP_TIMEOUT = 5.0
_MAX_BACKLOG = 1 << 20  # bytes of requests queued for one worker before we stop handing over


class WorkerProcesses:
    """The parent's handle on its worker processes: start, relay events, stop."""

    def __init__(self, count: int, config: dict[str, Any], publish: Callable[[Event], None]):
        self._count = count
        self._config = config
        self._publish = publish
        self._procs: list[asyncio.subprocess.Process] = []
        self._relays: list[asyncio.Task[None]] = []
        self._dead: set[int] = set()
        self._stopping = False

    async def start(self) -> None:
        """Start every worker and wait until each reports ready (or raise OSError)."""
        try:
            for _ in range(self._count):
                await self._start_one()
        except BaseException:
            await self.stop()
            raise

    async def _start_one(self) -> None:
        package_parent = str(Path(__file__).resolve().parents[3])
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            f"import sys; sys.path.insert(0, {package_parent!r}); "
            "from pxetui.engine.tftp.worker_child import main; raise SystemExit(main())",
            json.dumps(self._config),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        self._procs.append(proc)
        assert proc.stdout is not None
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), _START_TIMEOUT)
        except TimeoutError:
            raise OSError("TFTP worker did not start in time") from None
        try:
            hello = json.loads(line) if line else {"error": "worker exited at start"}
        except ValueError:
            hello = {"error": f"unexpected worker output: {line[:200]!r}"}
        if "ready" not in hello:
            raise OSError(str(hello.get("error", "worker failed to start")))
        self._relays.append(asyncio.create_task(self._relay(len(self._procs) - 1, proc)))

    async def _relay(self, index: int, proc: asyncio.subprocess.Process) -> None:
        """Re-publish a worker's events in the parent until the worker's stdout closes."""
        assert proc.stdout is not None
        while True:
            try:
                line = await proc.stdout.readline()
            except ValueError:  # an over-long line (LimitOverrunError): skip it
                continue
            if not line:
                break
            try:
                event = event_from_dict(json.loads(line))
            except (ValueError, TypeError, KeyError):
                log.warning("unreadable line from TFTP worker %s: %r", proc.pid, line[:200])
                continue
            try:
                self._publish(event)
            except Exception:
                log.exception("publishing a TFTP worker's event failed")
        self._dead.add(index)
        if not self._stopping:
            log.error("TFTP worker %s exited (code %s)", proc.pid, await proc.wait())

    def alive(self, index: int) -> bool:
        """Whether worker *index* is still running (a dead one gets no more clients)."""
        proc = self._procs[index]
        return proc.returncode is None and index not in self._dead

    def forward(
        self, index: int, data: bytes, client: tuple[str, int], local_ip: str | None
    ) -> bool:
        """Hand one request datagram to worker *index*; False if it cannot take it."""
        proc = self._procs[index]
        if proc.stdin is None or not self.alive(index) or proc.stdin.is_closing():
            return False
        if proc.stdin.transport.get_write_buffer_size() > _MAX_BACKLOG:
            return False  # the worker is not keeping up: the listener serves it itself
        line = json.dumps(
            {
                "d": base64.b64encode(data).decode(),
                "ip": client[0],
                "port": client[1],
                "local": local_ip,
            }
        )
        try:
            proc.stdin.write(line.encode() + b"\n")
        except (ConnectionError, RuntimeError):
            self._dead.add(index)
            return False
        return True

    async def stop(self) -> None:
        """Ask every worker to stop, relay its last events, and reap it."""
        self._stopping = True
        for proc in self._procs:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
        for proc in self._procs:
            try:
                await asyncio.wait_for(proc.wait(), _STOP_TIMEOUT)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        if self._relays:
            await asyncio.wait(self._relays, timeout=_STOP_TIMEOUT)
        for task in self._relays:
            task.cancel()
        self._procs.clear()
        self._relays.clear()
