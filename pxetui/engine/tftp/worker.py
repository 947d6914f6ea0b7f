"""Extra TFTP worker processes sharing the listening port (``SO_REUSEPORT``).

Why processes: one Python process spends ~10 µs of CPU per block, and asyncio runs on one
core. tftpd-hpa forks a process per client and so uses every core. With ``workers=N`` the
server starts N-1 copies of itself, each binding the same port with ``SO_REUSEPORT``; the
kernel spreads clients over them by address/port hash, so every retransmitted RRQ and every
ACK of one client always reach the same process, which owns that transfer start to finish.

A worker reports its events as JSON lines on stdout (``event_to_dict``); the parent reads
them and publishes them on its own bus, so subscribers cannot tell where a transfer ran.
A worker stops on SIGTERM/SIGINT or when its stdin closes (the parent went away). Caps on
sessions apply per process.

Run by the parent as ``python -m pxetui.engine.tftp.worker CONFIG_JSON``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pxetui.core.events import Event, event_from_dict, event_to_dict

log = logging.getLogger(__name__)

_START_TIMEOUT = 30.0
_STOP_TIMEOUT = 5.0


class WorkerProcesses:
    """The parent's handle on its worker processes: start, relay events, stop."""

    def __init__(self, count: int, config: dict[str, Any], publish: Callable[[Event], None]):
        self._count = count
        self._config = config
        self._publish = publish
        self._procs: list[asyncio.subprocess.Process] = []
        self._relays: list[asyncio.Task[None]] = []
        self._stopping = False

    async def start(self) -> None:
        """Start every worker and wait until each has bound the port (or raise OSError)."""
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
            "from pxetui.engine.tftp.worker import main; raise SystemExit(main())",
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
        self._relays.append(asyncio.create_task(self._relay(proc)))

    async def _relay(self, proc: asyncio.subprocess.Process) -> None:
        """Re-publish a worker's events in the parent until the worker's stdout closes."""
        assert proc.stdout is not None
        while True:
            line = await proc.stdout.readline()
            if not line:
                break
            try:
                event = event_from_dict(json.loads(line))
            except (ValueError, TypeError, KeyError):
                log.warning("unreadable line from TFTP worker %s: %r", proc.pid, line[:200])
                continue
            self._publish(event)
        if not self._stopping:
            log.error("TFTP worker %s exited (code %s)", proc.pid, await proc.wait())

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


def main(argv: list[str] | None = None) -> int:
    """Worker entry point: serve until told to stop, events as JSON lines on stdout."""
    args = sys.argv[1:] if argv is None else argv
    config: dict[str, Any] = json.loads(args[0])
    return asyncio.run(_serve(config))


async def _serve(config: dict[str, Any]) -> int:
    from pxetui.engine.tftp.server import TftpServer

    out = sys.stdout

    def publish(event: Event) -> None:
        out.write(json.dumps(event_to_dict(event)) + "\n")
        out.flush()

    root = Path(config.pop("root"))
    server = TftpServer(root, publish=publish, reuse_port=True, **config)
    try:
        await server.start()
    except OSError as exc:
        out.write(json.dumps({"error": str(exc.strerror or exc)}) + "\n")
        out.flush()
        return 1
    out.write(json.dumps({"ready": server.port}) + "\n")
    out.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    def parent_gone() -> None:
        try:
            data = os.read(sys.stdin.fileno(), 4096)
        except OSError:
            data = b""
        if not data:
            stop.set()

    loop.add_reader(sys.stdin.fileno(), parent_gone)
    try:
        await stop.wait()
    finally:
        loop.remove_reader(sys.stdin.fileno())
        await server.stop()
    return 0
