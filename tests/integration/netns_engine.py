"""A throw-away lab for the engine tests: namespaces, a bridge, clients, a running engine.

Names start ``pxe-`` and addresses are 10.254.<n>.0/24, private to the lab's own bridge::

    pxe-s<tag> (server: `pxetui serve` + its dnsmasq)  pxebr<tag> 10.254.n.1/24
        ├─ vc<tag> ══ c0 (pxe-c<tag>: clients — udhcpc, scapy, curl)
        └─ vr<tag> ══ r0 10.254.n.2 (pxe-r<tag>: the LAN's plain DHCP server, proxy tests)

The engine runs as a real ``python -m pxetui serve --profile`` process inside the server
namespace; the tests talk to it over its control socket (unix sockets ignore namespaces).
Everything created is removed by :meth:`EngineLab.teardown`, also after failures.
"""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.helpers.netns import Segment, build_segment
from tests.helpers.wait import wait_for

REPO = Path(__file__).resolve().parents[2]
SCAPY_CLIENT = Path(__file__).with_name("scapy_dhcp_client.py")


def sh(*cmd: str, timeout: float = 30, check: bool = True) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} -> {proc.returncode}: {proc.stderr.strip()}")
    return proc.stdout


@dataclass
class EngineLab:
    tag: str
    octet: int
    tmp: Path
    router: bool
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    engine: subprocess.Popen[bytes] | None = None
    _log_start: int = 0

    # --- names ---------------------------------------------------------------------------
    @property
    def server_ns(self) -> str:
        return f"pxe-s{self.tag}"

    @property
    def client_ns(self) -> str:
        return f"pxe-c{self.tag}"

    @property
    def router_ns(self) -> str:
        return f"pxe-r{self.tag}"

    @property
    def bridge(self) -> str:
        return f"pxebr{self.tag}"

    def addr(self, host: int) -> str:
        return f"10.254.{self.octet}.{host}"

    @property
    def server_ip(self) -> str:
        return self.addr(1)

    @property
    def socket(self) -> Path:
        return self.tmp / "control.sock"

    @property
    def log(self) -> Path:
        return self.tmp / "engine.log"

    # --- topology ------------------------------------------------------------------------
    def build(self) -> None:
        build_segment(
            self.server_ns,
            self.client_ns,
            self.router_ns if self.router else None,
            server_cidr=f"{self.server_ip}/24",
            router_cidr=f"{self.addr(2)}/24",
            bridge=self.bridge,
            near=(f"vc{self.tag}", f"vr{self.tag}"),
        )

    def teardown(self) -> None:
        self.stop_engine(signal.SIGKILL)
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        router = self.router_ns if self.router else None
        Segment(self.server_ns, self.client_ns, router, self.bridge).teardown()

    # --- processes -----------------------------------------------------------------------
    def in_ns(self, ns: str, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", ns, *argv]

    def client(self, *argv: str, timeout: float = 30) -> str:
        return sh(*self.in_ns(self.client_ns, *argv), timeout=timeout)

    def start_lan_dhcp(self) -> None:
        """The LAN's own DHCP server (plain dnsmasq) in the router namespace."""
        argv = self.in_ns(
            self.router_ns,
            "dnsmasq",
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--port=0",
            "--interface=r0",
            "--bind-interfaces",
            f"--dhcp-range={self.addr(100)},{self.addr(150)},255.255.255.0,1h",
            f"--dhcp-leasefile={self.tmp}/lan.leases",
            f"--pid-file={self.tmp}/lan.pid",
            "--no-ping",
            "--log-dhcp",
            "--log-facility=-",
        )
        log = open(self.tmp / "lan.log", "wb")  # noqa: SIM115 - closed with the process
        self.procs.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT))
        wait_for(lambda: b"started" in (self.tmp / "lan.log").read_bytes(), 10, "LAN dnsmasq")

    def start_engine(self, profile: Path, timeout: float = 30) -> subprocess.Popen[bytes]:
        return self.start_engine_argv(["serve", "--profile", str(profile)], timeout)

    def start_engine_argv(self, args: list[str], timeout: float = 30) -> subprocess.Popen[bytes]:
        """``pxetui ARGS --socket S --log-format json`` in the server namespace, until ready."""
        argv = self.in_ns(
            self.server_ns,
            sys.executable,
            "-m",
            "pxetui",
            *args,
            "--socket",
            str(self.socket),
            "--log-format",
            "json",
        )
        self._log_start = self.log.stat().st_size if self.log.exists() else 0
        log = open(self.log, "ab")  # noqa: SIM115 - closed with the process
        self.engine = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        wait_for(self._dhcp_up, timeout, "engine with dnsmasq running", self.tail)
        return self.engine

    def _dhcp_up(self) -> bool:
        """This start's log shows dnsmasq running and the engine serving (socket open)."""
        if self.engine is not None and self.engine.poll() is not None:
            raise RuntimeError(f"engine exited {self.engine.returncode}:\n{self.tail()}")
        events = self.events(since=self._log_start)
        dhcp = any(
            e.get("kind") == "service"
            and e.get("service") == "dhcp"
            and e.get("state") == "running"
            for e in events
        )
        serving = any(str(e.get("text", "")).startswith("serving profile") for e in events)
        return dhcp and serving

    def stop_engine(self, sig: int = signal.SIGTERM) -> int | None:
        proc, self.engine = self.engine, None
        if proc is None or proc.poll() is not None:
            return proc.returncode if proc else None
        proc.send_signal(sig)
        return proc.wait(timeout=20)

    def events(self, since: int = 0) -> list[dict[str, Any]]:
        out = []
        data = self.log.read_bytes()[since:] if self.log.exists() else b""
        text = data.decode(errors="replace")
        for line in text.splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return out

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def scapy(self, mac: str, *args: str) -> dict[str, Any]:
        out = self.client(sys.executable, str(SCAPY_CLIENT), "c0", mac, *args, timeout=40)
        return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]

    def fetch(self, url: str, source: str | None = None) -> int:
        """curl *url* from the client namespace (optionally from *source*); bytes received."""
        argv = [
            "curl",
            "-sS",
            "--fail",
            "--max-time",
            "20",
            "-o",
            "/dev/null",
            "-w",
            "%{size_download}",
        ]
        if source:
            argv += ["--interface", source]
        return int(self.client(*argv, url, timeout=40).strip() or 0)


def new_lab(tmp: Path, router: bool) -> EngineLab:
    lab = EngineLab(
        tag=secrets.token_hex(3)[:5], octet=secrets.randbelow(250) + 2, tmp=tmp, router=router
    )
    try:
        lab.build()
    except BaseException:
        lab.teardown()
        raise
    return lab
