"""The dnsmasq child process itself: spawned to die with the engine, waited for, stopped in
bounded time, and ``dnsmasq --test`` for a configuration before it is used."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import signal
from collections.abc import Sequence

from pxetui.core.sanitize import clean
from pxetui.engine.dnsmasq.preflight import PreflightError

_PR_SET_PDEATHSIG = 1
TEST_TIMEOUT_S = 20.0


class DnsmasqStartError(PreflightError):
    """dnsmasq refused the configuration or died before it was ready."""


async def exited(proc: asyncio.subprocess.Process) -> int:
    """The child's exit status as soon as it exits.

    Not ``proc.wait()``: on Python 3.11 that only returns once every pipe is closed, and a
    helper process (``--dhcp-script``) may keep dnsmasq's stderr open after it died. The
    return code is set by the child watcher the moment the process is reaped.
    """
    while proc.returncode is None:
        await asyncio.sleep(0.05)
    return proc.returncode


# Resolved once, in the parent: the child must not dlopen() between fork and exec (another
# thread of the engine may have held the loader lock at fork time).
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl
_SIGTERM = int(signal.SIGTERM)


def die_with_parent() -> None:
    """``preexec_fn``: ask the kernel for SIGTERM when the engine (the forking thread) dies,
    so a SIGKILLed engine does not leave dnsmasq serving. Runs between fork and exec. The
    kernel forgets this when dnsmasq drops to user nobody; the pid-file orphan check at the
    next start covers that case."""
    _PRCTL(_PR_SET_PDEATHSIG, _SIGTERM, 0, 0, 0)


async def terminate(proc: asyncio.subprocess.Process | None, timeout: float) -> None:
    """SIGTERM (and SIGCONT), then SIGKILL after *timeout* seconds; return once it is gone."""
    if proc is None or proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
        proc.send_signal(signal.SIGCONT)  # a stopped child acts on SIGTERM only once resumed
    try:
        await asyncio.wait_for(exited(proc), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await exited(proc)


async def drain(pump: asyncio.Task[None]) -> None:
    """The child is gone; its last lines are in the pipe. Give the reader a moment, but
    never hang on a pipe some grandchild still holds open (cancelled, the reader closes it)."""
    try:
        await asyncio.wait_for(asyncio.shield(pump), 1.0)
    except TimeoutError:
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump


async def run_config_test(dnsmasq: str, args: Sequence[str]) -> None:
    """``dnsmasq --test``: raise :class:`DnsmasqStartError` with dnsmasq's words if bad."""
    try:
        proc = await asyncio.create_subprocess_exec(
            dnsmasq,
            "--test",
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
    except FileNotFoundError as exc:
        raise DnsmasqStartError(
            f"{dnsmasq} not found: install dnsmasq-base (Debian) or dnsmasq"
        ) from exc
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=TEST_TIMEOUT_S)
    except TimeoutError as exc:
        proc.kill()
        await proc.wait()
        raise DnsmasqStartError(f"dnsmasq --test did not finish in {TEST_TIMEOUT_S:g} s") from exc
    if proc.returncode != 0:
        text = clean(out.decode("utf-8", "backslashreplace").strip(), 400)
        raise DnsmasqStartError(f"dnsmasq rejected the configuration: {text}")
