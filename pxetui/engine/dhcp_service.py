"""The engine's DHCP side: dnsmasq's configuration from the effective profile, supervised.

A thin seam between the engine and the dnsmasq package: it renders the arguments from the
*effective* profile (runtime assignments can add s390x host entries), reports the
configuration's warnings in words, and restarts dnsmasq only when the arguments changed.
``dhcp.mode: off`` runs no dnsmasq at all (another DHCP server points clients at us).
"""

from __future__ import annotations

from pxetui.core.events import EngineMessage, ServiceEvent
from pxetui.engine.dnsmasq.child import DnsmasqStartError
from pxetui.engine.dnsmasq.config import DnsmasqConfigError, dnsmasq_config
from pxetui.engine.dnsmasq.preflight import PreflightError
from pxetui.engine.dnsmasq.supervisor import DnsmasqSupervisor
from pxetui.engine.seams import DhcpHost, EngineError


class DhcpService:
    def __init__(self, engine: DhcpHost) -> None:
        self._engine = engine
        self._supervisor: DnsmasqSupervisor | None = None
        self._args: list[str] = []
        self._warned: set[str] = set()

    @property
    def pid(self) -> int | None:
        return self._supervisor.pid if self._supervisor is not None else None

    def _render(self) -> list[str]:
        engine = self._engine
        assert engine.addresses is not None and engine.tftp is not None
        interface = engine.profile.network.interface
        if not interface:
            raise DnsmasqConfigError("network.interface is needed to run DHCP")
        config = dnsmasq_config(
            engine.effective(),
            server=engine.addresses.server,
            interface=interface,
            state_dir=engine.state_dir / "dnsmasq",
            tftp_port=engine.tftp.port,
            network=engine.addresses.network,
        )
        for warning in config.warnings:
            if warning not in self._warned:  # say it once, not on every reconfigure
                engine.bus.publish(EngineMessage(level="warning", text=f"dhcp: {warning}"))
        self._warned = set(config.warnings)
        return config.args

    async def start(self) -> None:
        engine = self._engine
        mode = engine.profile.network.dhcp.mode
        if mode == "off":
            engine.bus.publish(
                ServiceEvent(service="dhcp", state="disabled", message="dhcp.mode is off")
            )
            return
        try:
            self._args = self._render()
            (engine.state_dir / "dnsmasq").mkdir(mode=0o700, exist_ok=True)
            self._supervisor = DnsmasqSupervisor(
                self._args,
                publish=engine.bus.publish,
                state_dir=engine.state_dir / "dnsmasq",
                interface=engine.profile.network.interface or "",
            )
            await self._supervisor.start()
        except (DnsmasqConfigError, PreflightError) as exc:
            # The supervisor already published "failed" for a dnsmasq that refused to start;
            # configuration and preflight refusals happen before it could say anything.
            if not isinstance(exc, DnsmasqStartError):
                engine.bus.publish(ServiceEvent(service="dhcp", state="failed", message=str(exc)))
            raise EngineError(f"dhcp: {exc}") from exc

    async def reconfigure(self) -> None:
        """Re-render; restart dnsmasq only if its arguments changed."""
        if self._supervisor is None:
            return
        try:
            args = self._render()
        except DnsmasqConfigError as exc:
            self._engine.bus.publish(EngineMessage(level="error", text=f"dhcp: {exc}"))
            return
        if args != self._args:
            try:
                await self._supervisor.reconfigure(args)
            except PreflightError as exc:
                # dnsmasq rejected the new configuration: the old one keeps serving.
                self._engine.bus.publish(EngineMessage(level="error", text=f"dhcp: {exc}"))
                return
            self._args = args

    async def stop(self) -> None:
        if self._supervisor is not None:
            await self._supervisor.stop()
            self._supervisor = None
