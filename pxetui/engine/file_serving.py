"""The engine's file servers, TFTP and HTTP, started together from the profile.

Their ports go into the boot files, so they start before anything is rendered. A port
someone else holds is named (who holds it) instead of a bare ``EADDRINUSE``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

from pxetui.core.events import EngineMessage, Event, ServiceEvent
from pxetui.core.profile.model import Profile
from pxetui.engine.dnsmasq.preflight import PortNeed, PreflightError, port_holders
from pxetui.engine.http import HttpFileServer, HttpLimits
from pxetui.engine.limits import guard_accept_errors, raise_fd_limit
from pxetui.engine.seams import EngineError
from pxetui.engine.tftp import TftpServer


async def start_file_servers(
    profile: Profile, publish: Callable[[Event], None], *, tftp_workers: int = 1
) -> tuple[TftpServer, HttpFileServer]:
    """Start TFTP then HTTP; raise :class:`EngineError` (who holds the port) if one cannot."""
    tftp_root = profile.tftp.root
    http_root = profile.http.root or tftp_root
    tftp_root.mkdir(parents=True, exist_ok=True)
    bind_tftp = str(profile.tftp.bind or "0.0.0.0")
    bind_http = str(profile.http.bind or "0.0.0.0")
    tftp = TftpServer(
        tftp_root,
        host=bind_tftp,
        port=profile.tftp.port,
        publish=publish,
        workers=tftp_workers,
    )
    fds = raise_fd_limit()
    guard_accept_errors(asyncio.get_running_loop(), publish)
    limits = profile.limits
    http = HttpFileServer(
        http_root,
        host=bind_http,
        port=profile.http.port,
        publish=publish,
        limits=HttpLimits(
            idle_timeout=limits.http_idle_timeout,
            max_connections=limits.http_connections,
            fd_reserve=limits.fd_reserve,
            min_rate=limits.http_min_rate,
        ),
    )
    try:
        await tftp.start()
        publish(ServiceEvent(service="tftp", state="running", address=f"{bind_tftp}:{tftp.port}"))
        await http.start()
        publish(ServiceEvent(service="http", state="running", address=f"{bind_http}:{http.port}"))
        publish(
            EngineMessage(
                text=f"{fds.sentence()}; HTTP takes at most {http.connection_cap} "
                f"connections and closes idle ones after {limits.http_idle_timeout:g} s"
            )
        )
    except OSError as exc:
        needs = [PortNeed(profile.tftp.port, "udp", "TFTP")]
        needs.append(PortNeed(profile.http.port, "tcp", "HTTP"))
        try:
            holders = port_holders(needs, ignore_pids=(os.getpid(),))
        except PreflightError:
            holders = []
        why = "; ".join(holders) or str(exc.strerror or exc)
        raise EngineError(f"cannot serve files: {why}") from exc
    return tftp, http
